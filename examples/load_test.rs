//! A load test written like an integration test: start the service, put it under open-loop
//! load with `perf::load`, and assert on what the users would see.
//!
//! ```text
//! cargo run --example load_test
//! ```
//!
//! It serves a small axum app on 127.0.0.1 (a port the OS picks) whose `/search` takes
//! about 2 ms, sends 200 req/s for 2 s, prints the report and asserts that p99 stays under
//! 100 ms with no errors and nothing dropped, then checks the same with `assert_latency!` on
//! the report's latency summary. Last it runs a short concurrency sweep. It panics, with the
//! report, if an assertion fails.

use std::time::Duration;

use axum::routing::get;
use perf::assert_latency;
use perf::core::assert::ms;
use perf::load::{ConcurrencySweep, HttpTarget, OpenLoop, Slo};

async fn search() -> &'static str {
    tokio::time::sleep(Duration::from_millis(2)).await;
    "results"
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/search", get(search));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let target = HttpTarget::new(&format!("http://{addr}/search"))?;
    let report = OpenLoop::constant(200.0, Duration::from_secs(2))?
        .run(target.clone())
        .await;
    println!("{report}");

    // The SLO, as CI would judge it: panics with what broke and the report.
    report.assert_that("p99 < 100ms, errors < 1%, dropped <= 0");
    assert_eq!(report.requests, 400, "every scheduled request started");
    assert_eq!(report.ok, 400);
    // perf's latency assertion works on the report's summaries too.
    assert_latency!(&report.latency, p50 < ms(50), p99 < ms(100));
    // Latency counts from the intended start, so it is never below the service time.
    assert!(report.latency.p50 >= report.service_time.p50);
    assert!(report.latency.p50 >= Duration::from_millis(2));

    let sweep = ConcurrencySweep::new(4, Duration::from_millis(500), Slo::parse("p99 < 100ms")?)?;
    let found = sweep.run(target).await;
    println!("\nconcurrency sweep of /search\n{found}");
    let users: Vec<usize> = found.steps.iter().filter_map(|s| s.users).collect();
    assert_eq!(users, [1, 2, 4]);
    assert_eq!(found.last_good_users, Some(4), "{found}");
    println!("load test passed");
    Ok(())
}
