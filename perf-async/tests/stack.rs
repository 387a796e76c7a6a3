//! Feature `stack` on Linux: the watchdog captures the stalled thread's stack while it is
//! stuck, and the user's function appears in it — for a task that calls
//! `std::thread::sleep` and for one that spins in a loop.
#![cfg(all(feature = "stack", target_os = "linux"))]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use perf_async::{
    CollectingSink, Config, FutureExt, PollState, SlowPoll, Watchdog, WatchdogConfig,
};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

static SLEEP_LINE: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
fn sleepy_handler_work() {
    SLEEP_LINE.store(line!() + 1, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(400));
}

#[inline(never)]
fn spinning_handler_work(stop: &AtomicBool) -> u64 {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

fn stall_report(sink: &CollectingSink, file: &str) -> SlowPoll {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(p) = sink
            .polls()
            .into_iter()
            .find(|p| p.state == PollState::StillRunning && p.location.file() == file)
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no stall report");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn watchdog(sink: Arc<CollectingSink>) -> Watchdog {
    Watchdog::start_with(
        WatchdogConfig::new()
            .with_interval(Duration::from_millis(5))
            .unwrap()
            .with_sink(sink),
    )
    .unwrap()
}

fn config() -> Config {
    Config::new()
        .with_threshold(Duration::from_millis(20))
        .unwrap()
        .with_sink(Arc::new(CollectingSink::new()))
}

#[test]
fn sleeping_task_stack_names_sleep_and_the_users_function() {
    let _turn = one_at_a_time();
    let sink = Arc::new(CollectingSink::new());
    let wd = watchdog(sink.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let task = rt.spawn(async { sleepy_handler_work() }.detect_blocking_with(config()));
    let report = stall_report(&sink, file!());
    rt.block_on(task).unwrap();
    wd.stop();
    let stack = report.stack.expect("a stack with feature `stack`");
    assert!(stack.missing_reason().is_none(), "{stack}");
    assert!(stack.contains_function("sleepy_handler_work"), "{stack}");
    assert!(stack.contains_function("sleep"), "{stack}");
    let user = stack.user_frame().expect("a user frame");
    assert!(
        user.function
            .as_deref()
            .unwrap()
            .contains("sleepy_handler_work"),
        "{stack}"
    );
    assert!(
        user.file.as_ref().unwrap().ends_with("tests/stack.rs"),
        "{stack}"
    );
    assert_eq!(
        user.line,
        Some(SLEEP_LINE.load(Ordering::Relaxed)),
        "{stack}"
    );
    let summary = stack.summary();
    assert!(
        summary.contains("sleep ← stack::sleepy_handler_work"),
        "{summary}"
    );
}

#[test]
fn spinning_task_stack_names_the_users_loop() {
    let _turn = one_at_a_time();
    let sink = Arc::new(CollectingSink::new());
    let wd = watchdog(sink.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    struct Release(Arc<AtomicBool>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _release = Release(stop.clone());
    let task = rt.spawn({
        let stop = stop.clone();
        async move { spinning_handler_work(&stop) }.detect_blocking_with(config())
    });
    let report = stall_report(&sink, file!());
    stop.store(true, Ordering::Relaxed);
    assert!(rt.block_on(task).unwrap() > 0);
    wd.stop();
    let stack = report.stack.expect("a stack with feature `stack`");
    assert!(stack.contains_function("spinning_handler_work"), "{stack}");
    let user = stack.user_frame().expect("a user frame");
    assert!(
        user.function
            .as_deref()
            .unwrap()
            .contains("spinning_handler_work"),
        "{stack}"
    );
    assert!(
        stack
            .summary()
            .contains("spinning_handler_work (tests/stack.rs:"),
        "{}",
        stack.summary()
    );
}
