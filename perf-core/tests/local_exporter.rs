//! An exporter over a local `Registry`: it renders that registry only, and building it
//! changes nothing global (the global registry's cardinality limit stays as it was).

use perf_core::cardinality::OVERFLOW;
use perf_core::Registry;

static LOCAL: Registry = Registry::new();

#[test]
fn an_exporter_over_a_local_registry_leaves_the_global_one_alone() {
    LOCAL
        .histogram("local_only_seconds", &[])
        .unwrap()
        .record_nanos(1_000);
    perf_core::histogram("global_only_seconds", &[])
        .unwrap()
        .record_nanos(1_000);

    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(&LOCAL)
        .max_label_values(1)
        .build()
        .unwrap();

    // The limit applies to the registry the exporter renders ...
    for user in ["a", "b", "c"] {
        LOCAL
            .histogram("local_users_seconds", &[("user", user)])
            .unwrap()
            .record_nanos(1_000);
    }
    assert_eq!(
        LOCAL
            .summary_with("local_users_seconds", &[("user", OVERFLOW)])
            .unwrap()
            .count,
        2
    );
    // ... and not to the global one, which keeps its default of 1000 values per label.
    let global = Registry::global().label_guard();
    assert_eq!(global.admit("probe_total", "user", "a"), "a");
    assert_eq!(global.admit("probe_total", "user", "b"), "b");

    let text = exporter.render();
    assert!(text.contains("local_only_seconds_count 1\n"), "{text}");
    assert!(!text.contains("global_only_seconds"), "{text}");
}
