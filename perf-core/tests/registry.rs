//! A local registry: scoped to a test, read back by name and labels, reset.

use std::time::Duration;

use perf_core::Registry;

#[test]
fn local_registry_is_separate_from_the_global_one() {
    let local = Registry::new();
    local
        .histogram("local_only_seconds", &[])
        .unwrap()
        .record(Duration::from_millis(1));
    assert_eq!(local.summary("local_only_seconds").unwrap().count, 1);
    assert!(perf_core::summary("local_only_seconds").is_none());
}

#[test]
fn same_name_and_labels_give_the_same_histogram_in_any_label_order() {
    let r = Registry::new();
    let a = r.histogram("h_seconds", &[("a", "1"), ("b", "2")]).unwrap();
    let b = r.histogram("h_seconds", &[("b", "2"), ("a", "1")]).unwrap();
    a.record_nanos(5);
    assert_eq!(b.count(), 1);
    assert_eq!(r.series().len(), 1);
}

#[test]
fn summary_merges_label_sets_and_summary_with_picks_one() {
    let r = Registry::new();
    for (route, ms) in [("/a", 1), ("/a", 3), ("/b", 10)] {
        r.histogram("req_seconds", &[("route", route)])
            .unwrap()
            .record(Duration::from_millis(ms));
    }
    assert_eq!(r.summary("req_seconds").unwrap().count, 3);
    let a = r.summary_with("req_seconds", &[("route", "/a")]).unwrap();
    assert_eq!((a.count, a.max), (2, Duration::from_millis(3)));
    assert!(r.summary_with("req_seconds", &[("route", "/c")]).is_none());
    assert!(r.summary("missing").is_none());
}

#[test]
fn reset_forgets_samples_but_keeps_series() {
    let r = Registry::new();
    let h = r.histogram("reset_seconds", &[]).unwrap();
    h.record_nanos(10);
    r.reset();
    assert!(r.summary("reset_seconds").is_none());
    assert_eq!(r.series().len(), 1);
    h.record_nanos(20);
    assert_eq!(
        r.summary("reset_seconds").unwrap().max,
        Duration::from_nanos(20)
    );
}

#[test]
fn report_rows_carry_error_counts_from_the_result_label() {
    let r = Registry::new();
    r.histogram("op", &[("result", "ok")])
        .unwrap()
        .record_nanos(1_000);
    r.histogram("op", &[("result", "error")])
        .unwrap()
        .record_nanos(2_000);
    let report = r.report();
    let row = report.row("op").unwrap();
    assert_eq!((row.summary.count, row.errors), (2, 1));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rows"][0]["summary"]["count"], 2);
}
