//! The break point of a server with 4 workers and a 10 ms handler (about 400 req/s).

mod support;

use std::time::Duration;

use perf_load::{BreakPoint, HttpTarget, Slo};
use support::{serve, Behaviour};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knee_of_a_four_worker_server_is_between_300_and_500_req_s() {
    let server = serve(
        Behaviour {
            delay: Duration::from_millis(10),
            limit: Some(4),
            ..Behaviour::default()
        },
        1,
    );
    let target = HttpTarget::new(&server.url("/")).unwrap();
    // A wide latency limit: a loaded machine's hiccups stay far below it, while a step over
    // capacity queues 100 requests a second and passes it within the step.
    let slo = Slo::parse("p99 < 250ms, errors < 1%").unwrap();
    let found = BreakPoint::new(200.0, 100.0, Duration::from_secs(4), slo)
        .unwrap()
        .max_steps(6)
        .run(target)
        .await;
    println!("{found}");
    let good = found.last_good_rate.unwrap();
    let bad = found.first_bad_rate.unwrap();
    assert!((300.0..=400.0).contains(&good), "{found}");
    assert!((400.0..=500.0).contains(&bad), "{found}");
    assert_eq!(bad - good, 100.0);
    assert_eq!(
        found.steps.len(),
        ((bad - 200.0) / 100.0) as usize + 1,
        "stops at the first bad step"
    );
    assert!(found.reason.contains("p99 latency"), "{}", found.reason);
}
