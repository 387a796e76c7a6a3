//! The wrapper's public surface: locations, names, monitors, metrics, the sink, polling
//! after completion, and the spawn helpers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use perf_async::{BlockingMonitor, CollectingSink, Config, FutureExt, RuntimeGauges};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A 50 ms threshold, with the blocking polls below at 120 ms: a trivial poll preempted on a
/// loaded CI machine stays far under it, and a blocking one far over it.
fn fast() -> Config {
    Config::new()
        .with_threshold(Duration::from_millis(50))
        .unwrap()
}

#[test]
fn report_names_location_task_thread_and_duration() {
    let sink = Arc::new(CollectingSink::new());
    let rt = current_thread();
    let (fut, line) = (
        async { std::thread::sleep(Duration::from_millis(120)) }
            .detect_blocking_with(fast().with_name("checkout").with_sink(sink.clone())),
        line!() - 1,
    );
    rt.block_on(fut);
    let polls = sink.take();
    assert_eq!(polls.len(), 1, "{polls:?}");
    let p = &polls[0];
    assert_eq!((p.location.file(), p.location.line()), (file!(), line));
    assert_eq!(p.task, Some("checkout"));
    assert_eq!(p.threshold, Duration::from_millis(50));
    assert!(p.duration >= Duration::from_millis(120));
    assert_eq!(p.thread.id, std::thread::current().id());
    let text = p.to_string();
    assert!(text.contains(&format!("wrapper.rs:{line}")), "{text}");
    assert!(text.contains("task=checkout"), "{text}");
}

#[test]
fn shared_monitor_counts_many_futures() {
    let monitor = BlockingMonitor::new();
    let rt = current_thread();
    for i in 0..10u64 {
        let cfg = fast()
            .with_monitor(&monitor)
            .with_sink(Arc::new(CollectingSink::new()));
        rt.block_on(
            async move {
                tokio::task::yield_now().await;
                if i == 9 {
                    std::thread::sleep(Duration::from_millis(120));
                }
            }
            .detect_blocking_with(cfg),
        );
    }
    let s = monitor.stats();
    assert_eq!(s.total_poll_count, 20);
    assert_eq!(s.total_slow_poll_count, 1);
    assert!(s.total_slow_poll_duration >= Duration::from_millis(120));
    assert!((s.slow_poll_ratio() - 0.05).abs() < 1e-9);
    assert!(s.poll_durations.max >= Duration::from_millis(120));
    assert!(s.poll_durations.p50 < Duration::from_millis(50));
    assert_eq!(s.poll_durations.count, 20);
}

#[test]
fn metrics_are_exported_with_location_and_task_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let line = metrics::with_local_recorder(&recorder, || {
        let rt = current_thread();
        let cfg = fast()
            .with_name("metrics-test")
            .with_sink(Arc::new(CollectingSink::new()));
        let (fut, line) = (
            async {
                for _ in 0..299 {
                    tokio::task::yield_now().await;
                }
                std::thread::sleep(Duration::from_millis(120));
            }
            .detect_blocking_with(cfg),
            line!() - 1,
        );
        rt.block_on(fut);
        line
    });
    let location = format!("{}:{line}", file!());
    let mut seen = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        if !labels.contains(&("location".into(), location.clone())) {
            continue;
        }
        assert!(labels.contains(&("task".into(), "metrics-test".into())));
        match (key.key().name(), value) {
            ("async_polls_total", DebugValue::Counter(n)) => {
                assert_eq!(n, 300);
                seen += 1;
            }
            ("async_slow_polls_total", DebugValue::Counter(n)) => {
                assert_eq!(n, 1);
                seen += 1;
            }
            ("async_slow_poll_duration_seconds", DebugValue::Histogram(v)) => {
                assert_eq!(v.len(), 1);
                assert!(v[0].into_inner() >= 0.120);
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 3);
}

/// Polls `yields + 1` times, the last one slow, wrapped at one location for every call.
fn polled_at_one_place(rt: &tokio::runtime::Runtime, yields: u32) {
    let cfg = fast()
        .with_name("switching-recorders")
        .with_sink(Arc::new(CollectingSink::new()));
    rt.block_on(
        async move {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
            std::thread::sleep(Duration::from_millis(120));
        }
        .detect_blocking_with(cfg),
    );
}

/// `(polls, slow polls)` the recorder of `snapshotter` got from `polled_at_one_place` since
/// the last snapshot (a snapshot drains the counters).
fn counts(snapshotter: &metrics_util::debugging::Snapshotter) -> (u64, u64) {
    let mut out = (0, 0);
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let ours = key
            .key()
            .labels()
            .any(|l| l.key() == "task" && l.value() == "switching-recorders");
        match (ours, key.key().name(), value) {
            (true, "async_polls_total", DebugValue::Counter(n)) => out.0 = n,
            (true, "async_slow_polls_total", DebugValue::Counter(n)) => out.1 = n,
            _ => {}
        }
    }
    out
}

#[test]
fn each_recorder_gets_the_polls_made_while_it_is_in_effect() {
    let rt = current_thread();
    let (a, b) = (DebuggingRecorder::new(), DebuggingRecorder::new());
    let (snap_a, snap_b) = (a.snapshotter(), b.snapshotter());
    metrics::with_local_recorder(&a, || polled_at_one_place(&rt, 2));
    metrics::with_local_recorder(&b, || polled_at_one_place(&rt, 6));
    assert_eq!(counts(&snap_a), (3, 1));
    assert_eq!(counts(&snap_b), (7, 1));
    // Back to the first one: its handles are found again, not lost.
    metrics::with_local_recorder(&a, || polled_at_one_place(&rt, 0));
    assert_eq!(counts(&snap_a), (1, 1));
    assert_eq!(counts(&snap_b), (0, 0));
}

#[test]
fn runtime_gauges_export_workers_tasks_and_queue() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let parked = rt.spawn(async move {
        started_tx.send(()).unwrap();
        let _ = rx.await;
    });
    started_rx.recv().unwrap();
    metrics::with_local_recorder(&recorder, || {
        RuntimeGauges::new(rt.handle().clone(), "test").sample();
    });
    let gauges: Vec<(String, f64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(k, _, _, v)| match v {
            DebugValue::Gauge(g) => Some((k.key().name().to_owned(), g.into_inner())),
            _ => None,
        })
        .collect();
    let get = |n: &str| gauges.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
    assert_eq!(get(perf_async::names::WORKERS), Some(2.0));
    assert_eq!(get("tokio_alive_tasks"), Some(1.0));
    assert_eq!(get("tokio_global_queue_depth"), Some(0.0));
    assert!(get(perf_async::names::WORKER_BUSY_SECONDS).is_some());
    tx.send(()).unwrap();
    rt.block_on(parked).unwrap();
    assert!(RuntimeGauges::new(rt.handle().clone(), "x")
        .spawn(Duration::ZERO)
        .is_err());
    let sampler = RuntimeGauges::new(rt.handle().clone(), "x")
        .spawn(Duration::from_millis(1))
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    drop(sampler);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// The message of a panic payload: `panic!("literal")` carries a `&str`, a formatted
/// message (and the standard library's own panics) a `String`.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// A future that stays ready after completion (allowed: what happens then is up to it).
struct Repeats(u32);

impl Future for Repeats {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        self.0 += 1;
        Poll::Ready(self.0)
    }
}

#[test]
fn polled_after_completion_behaves_as_the_inner_future() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = std::pin::pin!(Repeats(0).detect_blocking());
    assert_eq!(f.as_mut().poll(&mut cx), Poll::Ready(1));
    assert_eq!(f.as_mut().poll(&mut cx), Poll::Ready(2));

    let bare = std::panic::catch_unwind(|| {
        let mut f = std::pin::pin!(std::future::ready(1));
        let _ = f.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let _ = f.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    })
    .unwrap_err();
    let wrapped = std::panic::catch_unwind(|| {
        let mut f = std::pin::pin!(std::future::ready(1).detect_blocking());
        let _ = f.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let _ = f.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    })
    .unwrap_err();
    let bare = panic_message(&*bare);
    assert!(
        bare.is_some_and(|m| m.contains("polled after completion")),
        "{bare:?}"
    );
    assert_eq!(
        bare,
        panic_message(&*wrapped),
        "the wrapper panics exactly as the inner future does"
    );
}

#[test]
fn panic_messages_are_compared_whatever_the_payload_type() {
    let literal = std::panic::catch_unwind(|| panic!("one")).unwrap_err();
    let (one, two) = (String::from("one"), String::from("two"));
    let formatted = std::panic::catch_unwind(|| panic!("{one}")).unwrap_err();
    let other = std::panic::catch_unwind(|| panic!("{two}")).unwrap_err();
    assert!(literal.is::<&str>() && formatted.is::<String>());
    assert_eq!(panic_message(&*literal), Some("one"));
    assert_eq!(panic_message(&*formatted), Some("one"));
    assert_ne!(panic_message(&*formatted), panic_message(&*other));
    // What the old comparison saw for two different messages: `None == None`.
    assert_eq!(
        formatted.downcast_ref::<&str>(),
        other.downcast_ref::<&str>()
    );
}

#[test]
fn a_poll_that_blocks_then_panics_is_still_counted_and_reported() {
    let monitor = BlockingMonitor::new();
    let sink = Arc::new(CollectingSink::new());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let cfg = fast()
        .with_name("panics")
        .with_monitor(&monitor)
        .with_sink(sink.clone());
    let (fut, line) = (
        async {
            std::thread::sleep(Duration::from_millis(120));
            panic!("after blocking");
        }
        .detect_blocking_with(cfg),
        line!() - 1,
    );
    let caught = metrics::with_local_recorder(&recorder, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut fut = std::pin::pin!(fut);
            let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }))
    });
    assert_eq!(panic_message(&*caught.unwrap_err()), Some("after blocking"));
    let s = monitor.stats();
    assert_eq!((s.total_poll_count, s.total_slow_poll_count), (1, 1));
    let polls = sink.take();
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert_eq!(
        (polls[0].location.file(), polls[0].location.line()),
        (file!(), line)
    );
    assert!(polls[0].duration >= Duration::from_millis(120));
    let counters: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(k, _, _, v)| match v {
            DebugValue::Counter(n) => Some((k.key().name().to_owned(), n)),
            _ => None,
        })
        .collect();
    assert!(
        counters.contains(&("async_polls_total".to_owned(), 1)),
        "{counters:?}"
    );
    assert!(
        counters.contains(&("async_slow_polls_total".to_owned(), 1)),
        "{counters:?}"
    );
}

#[test]
fn spawn_helpers_report_the_spawn_site() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (line_a, line_b, line_c) = perf_async::block_on(&rt, async {
        let (a, la) = (perf_async::spawn("named-task", async { 1 }), line!());
        let (b, lb) = (perf_async::task::spawn(async { 2 }), line!());
        let (c, lc) = (
            perf_async::spawn_on(&tokio::runtime::Handle::current(), "on-handle", async { 3 }),
            line!() - 1,
        );
        assert_eq!(a.await.unwrap() + b.await.unwrap() + c.await.unwrap(), 6);
        (la, lb, lc)
    });
    let all = perf_async::locations();
    let find = |line: u32| {
        all.iter()
            .find(|l| l.location.file() == file!() && l.location.line() == line)
            .unwrap_or_else(|| panic!("no stats for line {line}: {all:#?}"))
    };
    assert_eq!(find(line_a).task, Some("named-task"));
    assert_eq!(find(line_a).stats.total_poll_count, 1);
    assert_eq!(find(line_b).task, None);
    assert_eq!(find(line_c).task, Some("on-handle"));
    assert!(all
        .iter()
        .any(|l| l.task == Some("main") && l.location.file() == file!()));
}
