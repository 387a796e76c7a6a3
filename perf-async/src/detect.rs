//! [`DetectBlocking`]: the wrapper that times every poll of a future, and [`FutureExt`],
//! which wraps a future where it is called (`#[track_caller]`), so reports name that
//! `file:line`.

use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use perf_core::clock::Clock;
use pin_project::{pin_project, pinned_drop};

use crate::config::{default_threshold_nanos, Config};
use crate::location::LocationEntry;
use crate::monitor::MonitorInner;
use crate::slow_poll::{dispatch, PollState, SlowPoll, SlowPollSink, ThreadInfo};
use crate::watchdog;

/// Polls are added to the `async_polls_total` counter in batches of this many per wrapper
/// (and when the wrapper drops), so the hot path never writes the shared counter.
const FLUSH_EVERY: u32 = 256;

thread_local! {
    /// Nanoseconds this thread has spent in [`crate::block_in_place`], ever. A poll takes the
    /// difference between its end and its start off its duration: time the worker was
    /// handed off is not time the runtime was blocked. One thread-local read per poll, where
    /// a flag set by the helper and cleared by the wrapper would also need a write.
    static HANDED_OFF: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f`, adding the time it takes (also when it panics) to this thread's handed-off
/// time, which wrapped polls running around it do not count as blocking.
pub(crate) fn handed_off<R>(f: impl FnOnce() -> R) -> R {
    struct Add(u64);
    impl Drop for Add {
        fn drop(&mut self) {
            let took = perf_core::clock::now_nanos().saturating_sub(self.0);
            let _ = HANDED_OFF.try_with(|h| h.set(h.get().wrapping_add(took)));
        }
    }
    let _add = Add(perf_core::clock::now_nanos());
    f()
}

#[inline]
fn handed_off_so_far() -> u64 {
    HANDED_OFF.try_with(Cell::get).unwrap_or(0)
}

/// A future that times each poll of the future it wraps.
///
/// Made by [`FutureExt`]. It returns exactly what the inner future returns, and polling it
/// after completion does what polling the inner future after completion does. A poll that
/// panics is timed, counted and, if slow, reported before the panic goes on.
///
/// ```
/// use perf_async::FutureExt;
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let v = rt.block_on(async {
///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
///     42
/// }.detect_blocking());
/// assert_eq!(v, 42);
/// ```
#[pin_project(PinnedDrop)]
pub struct DetectBlocking<F> {
    #[pin]
    inner: F,
    location: &'static LocationEntry,
    /// The monitor given in the config; `None` records into the location's own, which lives
    /// for the process, so a wrapper without one holds no `Arc` to count up and down.
    monitor: Option<Arc<MonitorInner>>,
    threshold: u64,
    sink: Option<Arc<dyn SlowPollSink>>,
    clock: Clock,
    unflushed: u32,
}

impl<F> std::fmt::Debug for DetectBlocking<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectBlocking")
            .field("location", &self.location.caller)
            .field("task", &self.location.task)
            .field("threshold", &Duration::from_nanos(self.threshold))
            .finish()
    }
}

impl<F: Future> DetectBlocking<F> {
    /// Wraps `inner` with `config`, reporting `location` as where it was wrapped.
    pub fn new(inner: F, config: Config, location: &'static Location<'static>) -> Self {
        let location = LocationEntry::of(location, config.name);
        DetectBlocking {
            inner,
            location,
            monitor: config.monitor.map(|m| m.inner),
            threshold: config
                .threshold_nanos
                .unwrap_or_else(default_threshold_nanos),
            sink: config.sink,
            clock: config.clock,
            unflushed: 0,
        }
    }

    /// Where the future was wrapped.
    pub fn location(&self) -> &'static Location<'static> {
        self.location.caller
    }

    /// The threshold above which a poll is reported.
    pub fn threshold(&self) -> Duration {
        Duration::from_nanos(self.threshold)
    }
}

impl<F: Future> Future for DetectBlocking<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let start = this.clock.now_nanos();
        let published = if watchdog::active() {
            watchdog::enter(this.location, *this.threshold, start)
        } else {
            None
        };
        // Records the poll when it ends, also when the inner poll panics: a poll that blocks
        // and then panics is counted and reported like any other.
        let _end = PollEnd {
            clock: this.clock,
            start,
            handed_off_before: handed_off_so_far(),
            published,
            location: this.location,
            monitor: match this.monitor {
                Some(m) => m,
                None => &this.location.monitor.inner,
            },
            threshold: *this.threshold,
            sink: this.sink.as_ref(),
            unflushed: this.unflushed,
        };
        this.inner.poll(cx)
    }
}

/// The end of one poll, recorded when it drops: after the inner poll returns, or while it
/// unwinds.
struct PollEnd<'a> {
    clock: &'a Clock,
    start: u64,
    handed_off_before: u64,
    published: Option<watchdog::Enter>,
    location: &'static LocationEntry,
    monitor: &'a MonitorInner,
    threshold: u64,
    sink: Option<&'a Arc<dyn SlowPollSink>>,
    unflushed: &'a mut u32,
}

impl Drop for PollEnd<'_> {
    #[inline]
    fn drop(&mut self) {
        let handed_off = handed_off_so_far().wrapping_sub(self.handed_off_before);
        let elapsed = self
            .clock
            .now_nanos()
            .saturating_sub(self.start)
            .saturating_sub(handed_off);
        let exit = self.published.take().map(watchdog::Enter::exit);
        self.monitor.record(elapsed);
        if handed_off != 0 {
            self.monitor.record_block_in_place(handed_off);
        }
        *self.unflushed += 1;
        if *self.unflushed >= FLUSH_EVERY {
            self.location
                .handles()
                .polls
                .increment(u64::from(*self.unflushed));
            *self.unflushed = 0;
        }
        if elapsed >= self.threshold {
            slow(
                self.location,
                self.monitor,
                self.threshold,
                elapsed,
                self.sink,
                exit,
            );
        }
    }
}

#[cold]
#[inline(never)]
fn slow(
    location: &'static LocationEntry,
    monitor: &MonitorInner,
    threshold: u64,
    elapsed: u64,
    sink: Option<&Arc<dyn SlowPollSink>>,
    exit: Option<watchdog::Exit>,
) {
    monitor.record_slow(elapsed);
    let handles = location.handles();
    handles.slow_polls.increment(1);
    handles.slow_duration.record(elapsed as f64 / 1e9);
    let (stalled, stack) = exit.map_or((false, None), |e| (e.stalled, e.stack));
    if stalled {
        monitor.record_stall();
    }
    let report = SlowPoll {
        location: location.caller,
        task: location.task,
        duration: Duration::from_nanos(elapsed),
        threshold: Duration::from_nanos(threshold),
        thread: ThreadInfo::current(),
        state: PollState::Finished { stalled },
        stack,
    };
    dispatch(&report, sink);
}

#[pinned_drop]
impl<F> PinnedDrop for DetectBlocking<F> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if *this.unflushed > 0 {
            this.location
                .handles()
                .polls
                .increment(u64::from(*this.unflushed));
        }
    }
}

/// Wraps any future in a [`DetectBlocking`] that reports its slow polls.
///
/// ```
/// use perf_async::FutureExt;
///
/// async fn handler() -> u32 { 7 }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(handler().detect_blocking_named("handler")), 7);
/// ```
pub trait FutureExt: Future + Sized {
    /// Reports polls longer than the [default threshold](crate::default_threshold), naming
    /// the `file:line` of this call.
    #[track_caller]
    fn detect_blocking(self) -> DetectBlocking<Self> {
        DetectBlocking::new(self, Config::new(), Location::caller())
    }

    /// As [`detect_blocking`](Self::detect_blocking), with a `task` name in reports and
    /// metric labels.
    #[track_caller]
    fn detect_blocking_named(self, name: &'static str) -> DetectBlocking<Self> {
        DetectBlocking::new(self, Config::new().with_name(name), Location::caller())
    }

    /// As [`detect_blocking`](Self::detect_blocking), configured by `config`.
    #[track_caller]
    fn detect_blocking_with(self, config: Config) -> DetectBlocking<Self> {
        DetectBlocking::new(self, config, Location::caller())
    }
}

impl<F: Future> FutureExt for F {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slow_poll::CollectingSink;
    use std::task::Waker;

    /// Takes the manual clock forward by the given nanoseconds on each poll.
    struct Advance {
        hand: perf_core::clock::ManualClock,
        steps: Vec<u64>,
    }

    impl Future for Advance {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            match self.steps.pop() {
                Some(n) => {
                    self.hand.advance(Duration::from_nanos(n));
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                None => Poll::Ready(7),
            }
        }
    }

    #[test]
    fn slow_polls_are_judged_on_the_configured_clock() {
        let (clock, hand) = Clock::manual();
        let sink = Arc::new(CollectingSink::new());
        let monitor = crate::BlockingMonitor::new();
        let config = Config::new()
            .with_threshold(Duration::from_millis(10))
            .unwrap()
            .with_clock(clock)
            .with_monitor(&monitor)
            .with_sink(sink.clone());
        // Popped from the end: 1 ms, 10 ms (exactly the threshold: slow), 9.999 ms, 30 ms.
        let fut = Advance {
            hand,
            steps: vec![30_000_000, 9_999_999, 10_000_000, 1_000_000],
        };
        let mut fut = std::pin::pin!(fut.detect_blocking_with(config));
        let mut cx = Context::from_waker(Waker::noop());
        let mut polls = 0;
        let out = loop {
            polls += 1;
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                break v;
            }
        };
        assert_eq!((out, polls), (7, 5));
        let reports = sink.take();
        let durations: Vec<u64> = reports
            .iter()
            .map(|r| r.duration.as_nanos() as u64)
            .collect();
        assert_eq!(durations, vec![10_000_000, 30_000_000]);
        assert!(reports
            .iter()
            .all(|r| r.location.file().ends_with("detect.rs")));
        let s = monitor.stats();
        assert_eq!(s.total_poll_count, 5);
        assert_eq!(s.total_slow_poll_count, 2);
        assert_eq!(s.total_slow_poll_duration, Duration::from_millis(40));
        assert_eq!(s.mean_slow_poll_duration(), Duration::from_millis(20));
        assert_eq!(s.slow_poll_ratio(), 0.4);
    }

    #[test]
    fn huge_threshold_never_reports() {
        let (clock, hand) = Clock::manual();
        let sink = Arc::new(CollectingSink::new());
        let config = Config::new()
            .with_threshold(Duration::MAX)
            .unwrap()
            .with_clock(clock)
            .with_sink(sink.clone());
        let fut = Advance {
            hand,
            steps: vec![u64::MAX / 4],
        };
        let mut fut = std::pin::pin!(fut.detect_blocking_with(config));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert!(sink.take().is_empty());
    }
}
