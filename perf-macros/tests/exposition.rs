//! What `#[timed]` produces in the Prometheus exposition: `function_calls_total` and
//! `function_calls_duration_seconds` with `function`, `module`, `result` and static labels,
//! per-function buckets.

use perf_core::export::{render, RenderOptions};
use perf_core::{timed, Registry};

#[timed(labels(tier = "gold"))]
fn expo_checkout(fail: bool) -> Result<(), String> {
    if fail {
        Err("declined".into())
    } else {
        Ok(())
    }
}

#[timed(name = "expo_renamed", buckets = [0.5, 1, 2.5])]
fn expo_buckets() {}

// Each test calls its own fn: tests run in parallel on one global registry, so a fn shared
// between two tests would have its counts raced.
#[timed]
fn expo_beside_facade() {}

fn text() -> String {
    render(Registry::global(), &RenderOptions::default())
}

#[test]
fn calls_total_and_duration_carry_the_result_label() {
    expo_checkout(false).unwrap();
    expo_checkout(true).unwrap_err();
    expo_checkout(true).unwrap_err();
    let text = text();
    let labels = |result: &str| {
        format!("{{function=\"expo_checkout\",module=\"exposition\",result=\"{result}\",tier=\"gold\"}}")
    };
    assert!(
        text.contains(&format!("function_calls_total{} 2\n", labels("error"))),
        "{text}"
    );
    assert!(text.contains(&format!("function_calls_total{} 1\n", labels("ok"))));
    assert!(text.contains(&format!(
        "function_calls_duration_seconds_count{} 2\n",
        labels("error")
    )));
    assert!(text.contains("# TYPE function_calls_duration_seconds histogram"));
    assert!(text.contains("# TYPE function_calls_total counter"));
}

#[test]
fn per_function_buckets_and_name() {
    expo_buckets();
    let text = text();
    let series = "function=\"expo_renamed\",module=\"exposition\",result=\"ok\"";
    for le in ["0.5", "1", "2.5", "+Inf"] {
        assert!(
            text.contains(&format!(
                "function_calls_duration_seconds_bucket{{{series},le=\"{le}\"}} 1\n"
            )),
            "le={le}\n{text}"
        );
    }
    // Only the fn's own buckets, not the exporter's defaults.
    assert!(!text.contains(&format!("{{{series},le=\"0.005\"}}")));
}

#[test]
fn full_exporter_renders_timed_calls_next_to_facade_metrics() {
    let (recorder, exporter) = perf_core::export::prometheus().build().unwrap();
    expo_beside_facade();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("expo_facade_total").increment(3);
    });
    let text = exporter.render();
    assert!(
        text.contains(
            "function_calls_total{function=\"expo_beside_facade\",module=\"exposition\",result=\"ok\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("expo_facade_total 3\n"), "{text}");
}
