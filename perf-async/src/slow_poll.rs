//! What a slow poll looks like ([`SlowPoll`]) and where it goes: a pluggable
//! [`SlowPollSink`]; the default [`TracingSink`] emits one `tracing` WARN per location at
//! most once a second and counts the ones it held back.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::ThreadId;
use std::time::Duration;

use perf_core::format_duration;
use perf_core::slow::SlowLog;

use crate::stack::Stack;

/// Whether the poll had returned when it was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollState {
    /// The poll returned after `duration`. `stalled` says whether the watchdog had already
    /// reported it while it ran.
    Finished {
        /// The watchdog reported this poll as [`PollState::StillRunning`] before it returned.
        stalled: bool,
    },
    /// The watchdog saw the poll still running `duration` after it started.
    StillRunning,
}

/// The thread a slow poll ran on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Its id.
    pub id: ThreadId,
    /// Its name (tokio names its workers `tokio-rt-worker` unless the builder says otherwise).
    pub name: Option<String>,
}

impl ThreadInfo {
    pub(crate) fn current() -> Self {
        let t = std::thread::current();
        ThreadInfo {
            id: t.id(),
            name: t.name().map(str::to_owned),
        }
    }
}

impl fmt::Display for ThreadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} ({:?})", self.id),
            None => write!(f, "{:?}", self.id),
        }
    }
}

/// One poll that took longer than its threshold, or one still running past it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perf_async::{CollectingSink, Config, FutureExt};
///
/// let sink = Arc::new(CollectingSink::new());
/// let config = Config::new().with_threshold(Duration::from_millis(1))?.with_sink(sink.clone());
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async { std::thread::sleep(Duration::from_millis(20)) }.detect_blocking_with(config));
/// let polls = sink.take();
/// assert_eq!(polls.len(), 1);
/// assert!(polls[0].duration >= Duration::from_millis(20));
/// assert_eq!(polls[0].location.file(), file!());
/// println!("{}", polls[0]);
/// # Ok::<(), perf_async::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SlowPoll {
    /// Where the future was wrapped (`file:line`).
    pub location: &'static Location<'static>,
    /// The wrapper's task name, if any.
    pub task: Option<&'static str>,
    /// How long the poll took, or (still running) has run so far.
    pub duration: Duration,
    /// The threshold it crossed.
    pub threshold: Duration,
    /// The thread the poll ran on.
    pub thread: ThreadInfo,
    /// Finished, or still running.
    pub state: PollState,
    /// The stalled thread's stack, when the watchdog captured one (feature `stack`).
    pub stack: Option<Arc<Stack>>,
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.state {
            PollState::StillRunning => "poll still running after",
            PollState::Finished { stalled: true } => "stalled poll finished after",
            PollState::Finished { stalled: false } => "slow poll took",
        };
        write!(
            f,
            "{what} {} (threshold {}) at {}:{}",
            format_duration(self.duration),
            format_duration(self.threshold),
            self.location.file(),
            self.location.line()
        )?;
        if let Some(t) = self.task {
            write!(f, " task={t}")?;
        }
        write!(f, " on {}", self.thread)?;
        if let Some(s) = &self.stack {
            write!(f, "; stack: {}", s.summary())?;
        }
        Ok(())
    }
}

/// Where slow-poll reports go. Called on the polling thread for finished polls and on the
/// watchdog thread for polls still running, so keep it short.
///
/// ```
/// use perf_async::{SlowPoll, SlowPollSink};
///
/// struct Print;
/// impl SlowPollSink for Print {
///     fn report(&self, poll: &SlowPoll) {
///         eprintln!("{poll}");
///     }
/// }
/// perf_async::set_sink(std::sync::Arc::new(Print));
/// # perf_async::set_sink(std::sync::Arc::new(perf_async::TracingSink::new()));
/// ```
pub trait SlowPollSink: Send + Sync + 'static {
    /// Receives one report.
    fn report(&self, poll: &SlowPoll);
}

/// File, line, column, and whether the limit is for stalls.
type LimitKey = (&'static str, u32, u32, bool);

/// The default sink: a `tracing` WARN (target `perf::async`) per report, at most one per
/// location per interval (1 s by default, [`TracingSink::with_interval`]); the reports
/// held back are counted and given in the next WARN's `suppressed` field. Stalls have their
/// own limit, and the final report of a stall that was warned about is always emitted.
///
/// ```
/// let sink = perf_async::TracingSink::new();
/// # drop(sink);
/// ```
#[derive(Debug)]
pub struct TracingSink {
    limits: Mutex<HashMap<LimitKey, Arc<SlowLog>>>,
    interval: Duration,
}

impl Default for TracingSink {
    fn default() -> Self {
        Self::new()
    }
}

impl TracingSink {
    /// A sink that warns at most once a second per location.
    pub fn new() -> Self {
        Self::with_interval(Duration::from_secs(1))
    }

    /// A sink that warns at most once per `interval` per location (zero: every report).
    pub fn with_interval(interval: Duration) -> Self {
        TracingSink {
            limits: Mutex::default(),
            interval,
        }
    }

    fn limiter(&self, location: &'static Location<'static>, stall: bool) -> Arc<SlowLog> {
        let key = (location.file(), location.line(), location.column(), stall);
        self.limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// Whether a report is due, with the number held back before it.
    pub(crate) fn admit(&self, poll: &SlowPoll) -> Option<u64> {
        if poll.state == (PollState::Finished { stalled: true }) {
            return Some(0);
        }
        let stall = poll.state == PollState::StillRunning;
        let limiter = self.limiter(poll.location, stall);
        limiter.should_report(perf_core::clock::now_nanos(), self.interval)
    }
}

impl SlowPollSink for TracingSink {
    fn report(&self, poll: &SlowPoll) {
        let Some(suppressed) = self.admit(poll) else {
            return;
        };
        let location = format!("{}:{}", poll.location.file(), poll.location.line());
        let stack = poll.stack.as_ref().map(|s| s.to_string());
        tracing::warn!(
            target: "perf::async",
            location = %location,
            task = poll.task,
            duration_ms = poll.duration.as_secs_f64() * 1e3,
            threshold_ms = poll.threshold.as_secs_f64() * 1e3,
            thread = %poll.thread,
            still_running = poll.state == PollState::StillRunning,
            suppressed,
            stack = stack.as_deref(),
            "{poll}"
        );
    }
}

/// A sink that keeps every report, for tests and for reading reports in process.
///
/// ```
/// let sink = perf_async::CollectingSink::new();
/// assert!(sink.take().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct CollectingSink {
    polls: Mutex<Vec<SlowPoll>>,
}

impl CollectingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reports received so far, emptying the sink.
    pub fn take(&self) -> Vec<SlowPoll> {
        std::mem::take(&mut *self.polls.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A copy of the reports received so far.
    pub fn polls(&self) -> Vec<SlowPoll> {
        self.polls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl SlowPollSink for CollectingSink {
    fn report(&self, poll: &SlowPoll) {
        self.polls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(poll.clone());
    }
}

fn global() -> &'static RwLock<Arc<dyn SlowPollSink>> {
    static SINK: OnceLock<RwLock<Arc<dyn SlowPollSink>>> = OnceLock::new();
    SINK.get_or_init(|| RwLock::new(Arc::new(TracingSink::new())))
}

/// Makes `sink` the process-wide sink: wrappers without a sink of their own, and the
/// watchdog unless it has one, report there. The default is a [`TracingSink`].
///
/// ```
/// perf_async::set_sink(std::sync::Arc::new(perf_async::TracingSink::new()));
/// ```
pub fn set_sink(sink: Arc<dyn SlowPollSink>) {
    *global().write().unwrap_or_else(|e| e.into_inner()) = sink;
}

/// The process-wide sink.
pub(crate) fn global_sink() -> Arc<dyn SlowPollSink> {
    global().read().unwrap_or_else(|e| e.into_inner()).clone()
}

thread_local! {
    /// Reports of polls on this thread also go here while `assert_no_blocking!` runs.
    static COLLECTOR: RefCell<Option<Arc<CollectingSink>>> = const { RefCell::new(None) };
}

/// Collects this thread's reports into `sink` until the returned guard drops.
pub(crate) fn collect_on_this_thread(sink: Arc<CollectingSink>) -> CollectGuard {
    let previous = COLLECTOR.with(|c| c.replace(Some(sink)));
    CollectGuard { previous }
}

pub(crate) struct CollectGuard {
    previous: Option<Arc<CollectingSink>>,
}

impl Drop for CollectGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = COLLECTOR.try_with(|c| c.replace(previous));
    }
}

/// Delivers a finished poll's report: to this thread's collector (assertions), then to the
/// wrapper's sink or the process-wide one.
#[cold]
pub(crate) fn dispatch(poll: &SlowPoll, sink: Option<&Arc<dyn SlowPollSink>>) {
    let collector = COLLECTOR.try_with(|c| c.borrow().clone()).ok().flatten();
    if let Some(c) = collector {
        c.report(poll);
    }
    match sink {
        Some(s) => s.report(poll),
        None => global_sink().report(poll),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(state: PollState) -> SlowPoll {
        SlowPoll {
            location: Location::caller(),
            task: Some("t"),
            duration: Duration::from_millis(50),
            threshold: Duration::from_millis(10),
            thread: ThreadInfo::current(),
            state,
            stack: None,
        }
    }

    #[test]
    fn tracing_sink_limits_per_location_and_always_closes_a_stall() {
        let sink = TracingSink::new();
        let p = poll(PollState::Finished { stalled: false });
        assert_eq!(sink.admit(&p), Some(0));
        assert_eq!(sink.admit(&p), None);
        assert_eq!(sink.admit(&p), None);
        // A stall at the same location has its own limit.
        assert_eq!(sink.admit(&poll(PollState::StillRunning)), Some(0));
        assert_eq!(
            sink.admit(&poll(PollState::Finished { stalled: true })),
            Some(0)
        );
        // Another location is not held back by the first one.
        let mut q = p.clone();
        q.location = Location::caller();
        assert_eq!(sink.admit(&q), Some(0));
    }

    #[test]
    fn display_names_location_task_and_state() {
        let s = poll(PollState::StillRunning).to_string();
        assert!(
            s.starts_with("poll still running after 50.0ms (threshold 10.0ms) at "),
            "{s}"
        );
        assert!(s.contains("slow_poll.rs:"), "{s}");
        assert!(s.contains("task=t"), "{s}");
    }

    #[test]
    fn collector_sees_reports_of_its_thread_only() {
        let c = Arc::new(CollectingSink::new());
        let quiet: Arc<dyn SlowPollSink> = Arc::new(CollectingSink::new());
        {
            let _g = collect_on_this_thread(c.clone());
            dispatch(&poll(PollState::Finished { stalled: false }), Some(&quiet));
            std::thread::spawn({
                let quiet = quiet.clone();
                move || dispatch(&poll(PollState::Finished { stalled: false }), Some(&quiet))
            })
            .join()
            .unwrap();
        }
        dispatch(&poll(PollState::Finished { stalled: false }), Some(&quiet));
        assert_eq!(c.take().len(), 1);
    }
}
