//! The watchdog: a stall is reported while the poll is still stuck, once, and again with its
//! final duration when it ends; on a manual clock, exactly; across a runtime shutdown.
//! One watchdog runs per process, so these tests take turns.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use perf_async::{
    CollectingSink, Config, FutureExt, PollState, SlowPoll, Watchdog, WatchdogConfig, WatchdogError,
};
use perf_core::clock::Clock;

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn at_line(polls: &[SlowPoll], line: u32) -> Vec<SlowPoll> {
    polls
        .iter()
        .filter(|p| p.location.file() == file!() && p.location.line() == line)
        .cloned()
        .collect()
}

fn wait_for(sink: &CollectingSink, line: u32, state: PollState) -> SlowPoll {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = at_line(&sink.polls(), line)
            .into_iter()
            .find(|p| p.state == state)
        {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no {state:?} report at line {line}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn stall_is_reported_while_stuck_then_with_its_final_duration() {
    let _turn = one_at_a_time();
    let stalls = Arc::new(CollectingSink::new());
    let finals = Arc::new(CollectingSink::new());
    let watchdog = Watchdog::start_with(
        WatchdogConfig::new()
            .with_interval(Duration::from_millis(5))
            .unwrap()
            .with_sink(stalls.clone()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let cfg = Config::new()
        .with_threshold(Duration::from_millis(20))
        .unwrap()
        .with_name("sleeper")
        .with_sink(finals.clone());
    let (fut, line) = (
        async { std::thread::sleep(Duration::from_millis(1_000)) }.detect_blocking_with(cfg),
        line!() - 1,
    );
    rt.block_on(fut);
    watchdog.stop();

    let stuck = at_line(&stalls.polls(), line);
    assert_eq!(stuck.len(), 1, "one report per stall: {stuck:#?}");
    assert_eq!(stuck[0].state, PollState::StillRunning);
    assert_eq!(stuck[0].task, Some("sleeper"));
    assert!(stuck[0].duration >= Duration::from_millis(20));
    assert!(
        stuck[0].duration < Duration::from_millis(1_000),
        "{}",
        stuck[0]
    );
    assert_eq!(stuck[0].thread.id, std::thread::current().id());

    let done = at_line(&finals.polls(), line);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].state, PollState::Finished { stalled: true });
    assert!(done[0].duration >= Duration::from_millis(1_000));
}

#[test]
fn an_endless_loop_is_reported_while_it_runs() {
    let _turn = one_at_a_time();
    let stalls = Arc::new(CollectingSink::new());
    let watchdog = Watchdog::start_with(
        WatchdogConfig::new()
            .with_interval(Duration::from_millis(5))
            .unwrap()
            .with_sink(stalls.clone()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let cfg = Config::new()
        .with_threshold(Duration::from_millis(10))
        .unwrap()
        .with_sink(Arc::new(CollectingSink::new()));
    let spin = {
        let stop = stop.clone();
        async move {
            // Never returns on its own: only the watchdog can see it.
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
    };
    let (task, line) = (rt.spawn(spin.detect_blocking_with(cfg)), line!());
    // Ends the loop even if an assertion below fails, so the runtime can shut down.
    struct Release(Arc<AtomicBool>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _release = Release(stop.clone());
    let report = wait_for(&stalls, line, PollState::StillRunning);
    assert!(report.duration >= Duration::from_millis(10));
    assert!(
        report
            .thread
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("tokio")),
        "{report}"
    );
    stop.store(true, Ordering::Relaxed);
    rt.block_on(task).unwrap();
    watchdog.stop();
}

#[test]
fn manual_clock_reports_exactly_once_per_stall() {
    let _turn = one_at_a_time();
    let (clock, hand) = Clock::manual();
    let stalls = Arc::new(CollectingSink::new());
    let finals = Arc::new(CollectingSink::new());
    let watchdog = Arc::new(
        Watchdog::start_with(
            WatchdogConfig::new()
                .with_clock(clock.clone())
                .with_stack_capture(false)
                .with_sink(stalls.clone()),
        )
        .unwrap(),
    );
    let cfg = Config::new()
        .with_threshold(Duration::from_millis(10))
        .unwrap()
        .with_clock(clock)
        .with_sink(finals.clone());
    let wd = watchdog.clone();
    let mut polls = 0;
    let fut = std::future::poll_fn(move |_cx| {
        polls += 1;
        match polls {
            1 => {
                hand.advance(Duration::from_millis(9));
                wd.scan_now();
                // Below the threshold: nothing reported yet.
                assert!(stalls.polls().is_empty());
                hand.advance(Duration::from_millis(31));
                wd.scan_now();
                wd.scan_now();
                Poll::Pending
            }
            _ => Poll::Ready(stalls.clone()),
        }
    });
    let (fut, line) = (fut.detect_blocking_with(cfg), line!());
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    let stalls = match fut.as_mut().poll(&mut cx) {
        Poll::Ready(s) => s,
        Poll::Pending => unreachable!(),
    };
    let stuck = at_line(&stalls.polls(), line);
    assert_eq!(stuck.len(), 1, "{stuck:#?}");
    assert_eq!(stuck[0].duration, Duration::from_millis(40));
    assert_eq!(stuck[0].threshold, Duration::from_millis(10));
    assert!(stuck[0].stack.is_none());
    let done = at_line(&finals.polls(), line);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].duration, Duration::from_millis(40));
    assert_eq!(done[0].state, PollState::Finished { stalled: true });
    // The second poll was instant and the stall is over: nothing more to report.
    assert_eq!(watchdog.scan_now(), 0);
}

#[test]
fn only_one_watchdog_and_zero_interval_rejected() {
    let _turn = one_at_a_time();
    let first = Watchdog::start().unwrap();
    let err = Watchdog::start().unwrap_err();
    assert!(matches!(err, WatchdogError::AlreadyRunning));
    assert!(err.to_string().contains("already running"), "{err}");
    drop(first);
    let again = Watchdog::start().unwrap();
    again.stop();
    assert!(WatchdogConfig::new().with_interval(Duration::ZERO).is_err());
}

#[test]
fn runtime_shutdown_while_the_watchdog_runs() {
    let _turn = one_at_a_time();
    let stalls = Arc::new(CollectingSink::new());
    let watchdog = Watchdog::start_with(
        WatchdogConfig::new()
            .with_interval(Duration::from_millis(5))
            .unwrap()
            .with_sink(stalls.clone()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cfg = Config::new()
        .with_threshold(Duration::from_millis(10))
        .unwrap()
        .with_sink(Arc::new(CollectingSink::new()));
    let (_task, line) = (
        rt.spawn(
            async { std::thread::sleep(Duration::from_millis(150)) }.detect_blocking_with(cfg),
        ),
        line!() - 2,
    );
    wait_for(&stalls, line, PollState::StillRunning);
    // Shut down while the task is still blocked; its worker is left to finish on its own.
    rt.shutdown_timeout(Duration::from_millis(10));
    std::thread::sleep(Duration::from_millis(200));
    // The watchdog keeps scanning (the worker slot is gone or idle) and stops cleanly.
    assert_eq!(watchdog.scan_now(), 0);
    watchdog.stop();
    assert_eq!(at_line(&stalls.polls(), line).len(), 1);
}
