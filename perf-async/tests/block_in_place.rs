//! Blocking through `perf_async::block_in_place` is deliberate: counted on its own, not a
//! slow poll, so it passes `assert_no_blocking!`; blocking without it still is one.

use std::sync::Arc;
use std::time::Duration;

use perf_async::{BlockingMonitor, BlockingStats, CollectingSink, Config, FutureExt, SlowPoll};

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `body` as a wrapped task on a worker of a multi-thread runtime.
fn on_a_worker(body: impl FnOnce() + Send + 'static) -> (BlockingStats, Vec<SlowPoll>) {
    let monitor = BlockingMonitor::new();
    let sink = Arc::new(CollectingSink::new());
    let config = Config::new()
        // Far over a trivial poll preempted on a loaded machine, far under the blocking below.
        .with_threshold(Duration::from_millis(50))
        .unwrap()
        .with_monitor(&monitor)
        .with_sink(sink.clone());
    let rt = multi_thread();
    rt.block_on(async move {
        tokio::spawn(async move { body() }.detect_blocking_with(config))
            .await
            .unwrap()
    });
    (monitor.stats(), sink.take())
}

#[test]
fn blocking_in_block_in_place_is_counted_apart_not_as_a_slow_poll() {
    let (stats, reports) = on_a_worker(|| {
        perf_async::block_in_place(|| std::thread::sleep(Duration::from_millis(50)))
    });
    assert_eq!(reports.len(), 0, "{reports:?}");
    assert_eq!(stats.total_slow_poll_count, 0);
    assert_eq!(stats.total_poll_count, 1);
    assert_eq!(stats.total_block_in_place_count, 1);
    assert!(stats.total_block_in_place_duration >= Duration::from_millis(50));
}

#[test]
fn blocking_outside_block_in_place_is_still_a_slow_poll() {
    let (stats, reports) = on_a_worker(|| std::thread::sleep(Duration::from_millis(120)));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(stats.total_slow_poll_count, 1);
    assert_eq!(stats.total_block_in_place_count, 0);
}

#[test]
fn only_the_blocking_outside_block_in_place_is_reported() {
    let (stats, reports) = on_a_worker(|| {
        perf_async::block_in_place(|| std::thread::sleep(Duration::from_millis(600)));
        std::thread::sleep(Duration::from_millis(120));
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(stats.total_slow_poll_count, 1);
    assert_eq!(stats.total_block_in_place_count, 1);
    // The poll took 720 ms; 600 of them were handed off. Wide margins: real time.
    assert!(reports[0].duration >= Duration::from_millis(120));
    assert!(
        reports[0].duration < Duration::from_millis(500),
        "{reports:?}"
    );
}

#[test]
fn tokio_block_in_place_called_directly_is_still_reported() {
    // tokio gives no signal of it (see `perf_async::block_in_place`).
    let (stats, reports) = on_a_worker(|| {
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(120)))
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(stats.total_slow_poll_count, 1);
}

#[test]
fn assert_no_blocking_passes_blocking_in_block_in_place() {
    let v = perf_async::assert_no_blocking!(async {
        perf_async::block_in_place(|| std::thread::sleep(Duration::from_millis(50)));
        7
    });
    assert_eq!(v, 7);
    let raw = std::panic::catch_unwind(|| {
        perf_async::assert_no_blocking!(async {
            std::thread::sleep(Duration::from_millis(50));
        })
    });
    assert!(raw.is_err());
}
