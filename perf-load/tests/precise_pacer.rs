//! The precise pacer on a multi-threaded runtime (a timerfd on Linux, a thread elsewhere):
//! every instant gets its request, and a run dropped half-way starts nothing more.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use perf_load::{OpenLoop, Pacer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instant_of_a_fast_schedule_gets_its_request() {
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let report = OpenLoop::constant(5_000.0, Duration::from_millis(400))
        .unwrap()
        .pacer(Pacer::Precise)
        .run(move || {
            let calls = Arc::clone(&counted);
            async move {
                calls.fetch_add(1, Relaxed);
                Ok::<_, String>(())
            }
        })
        .await;
    assert_eq!(
        (report.requests, report.ok, report.dropped),
        (2_000, 2_000, 0),
        "{report}"
    );
    assert_eq!(calls.load(Relaxed), 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_dropped_half_way_starts_no_more_requests() {
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let open = OpenLoop::constant(1_000.0, Duration::from_secs(60)).unwrap();
    let run = open.run(move || {
        let calls = Arc::clone(&counted);
        async move {
            calls.fetch_add(1, Relaxed);
            Ok::<_, String>(())
        }
    });
    // The run is dropped when the timeout fires, 200 ms into its 60 s.
    assert!(tokio::time::timeout(Duration::from_millis(200), run)
        .await
        .is_err());
    // Requests already spawned may still run for a moment; then the count must stand still.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = calls.load(Relaxed);
    assert!(after_drop > 0, "the run started nothing in 200 ms");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        calls.load(Relaxed),
        after_drop,
        "requests started after the drop"
    );
}
