//! A location first wrapped before any `metrics` recorder is installed still exports to the
//! recorder installed later (its own binary: the global recorder can be set once).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use perf_async::{CollectingSink, Config, DetectBlocking, FutureExt};

/// Every future wrapped here shares one location (this line, not the caller's).
fn at_one_place<F: Future>(fut: F) -> DetectBlocking<F> {
    fut.detect_blocking_with(
        Config::new()
            .with_threshold(Duration::from_millis(5))
            .unwrap()
            .with_name("late-recorder")
            .with_sink(Arc::new(CollectingSink::new())),
    )
}

async fn yields_then_blocks(yields: u32) {
    for _ in 0..yields {
        tokio::task::yield_now().await;
    }
    std::thread::sleep(Duration::from_millis(20));
}

#[test]
fn a_recorder_installed_after_the_first_wrap_gets_the_later_polls() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Before the exporter: these polls have nowhere to go.
    rt.block_on(at_one_place(yields_then_blocks(4)));

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    rt.block_on(at_one_place(yields_then_blocks(299)));

    let mut seen = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let task = key.key().labels().find(|l| l.key() == "task");
        if task.map(|l| l.value()) != Some("late-recorder") {
            continue;
        }
        let v = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Histogram(v) => v.len() as f64,
            DebugValue::Gauge(g) => g.into_inner(),
        };
        seen.push((key.key().name().to_owned(), v));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("async_polls_total".to_owned(), 300.0),
            ("async_slow_poll_duration_seconds".to_owned(), 1.0),
            ("async_slow_polls_total".to_owned(), 1.0),
            ("async_stalls_total".to_owned(), 0.0),
        ]
    );
}
