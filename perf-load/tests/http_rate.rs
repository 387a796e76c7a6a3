//! Rate and latency against a real server: a 10 ms handler at 200 req/s for 5 s.

mod support;

use std::time::Duration;

use perf_load::{HttpTarget, OpenLoop};
use support::{serve, timer_overshoot, Behaviour};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn achieved_rate_and_median_match_a_10ms_server() {
    let server = serve(
        Behaviour {
            delay: Duration::from_millis(10),
            ..Behaviour::default()
        },
        1,
    );
    // The bound is [10, 13] ms: 10 ms of handler and 3 ms for HTTP and the generator.
    // On a loaded machine a 10 ms timer itself ends late; that part is added to the bound.
    let overshoot = timer_overshoot().await;
    let target = HttpTarget::new(&server.url("/work")).unwrap();
    let report = OpenLoop::constant(200.0, Duration::from_secs(5))
        .unwrap()
        .run(target)
        .await;
    println!("{report}");
    assert_eq!(report.requests + report.dropped, 1000);
    assert_eq!(
        (report.ok, report.errors, report.dropped),
        (1000, 0, 0),
        "{report}"
    );
    let rate = report.achieved_rate;
    assert!(
        (rate - 200.0).abs() <= 200.0 * 0.02,
        "achieved {rate} req/s"
    );
    let p50 = report.latency.p50;
    let upper = Duration::from_millis(13) + overshoot;
    assert!(
        p50 >= Duration::from_millis(10) && p50 <= upper,
        "p50 {p50:?} outside [10ms, {upper:?}] (10 ms timers end {overshoot:?} late here)\n{report}"
    );
    assert!(report.service_time.p50 <= p50);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    for key in [
        "target_rate",
        "achieved_rate",
        "requests",
        "ok",
        "errors",
        "dropped",
    ] {
        assert!(json[key].is_number(), "{key} missing");
    }
    for key in ["p50_ms", "p90_ms", "p99_ms", "max_ms"] {
        assert!(json["latency"][key].is_number(), "latency.{key} missing");
        assert!(
            json["service_time"][key].is_number(),
            "service_time.{key} missing"
        );
    }
    assert_eq!(json["requests"], 1000);
    assert_eq!(json["target_rate"], 200.0);
}
