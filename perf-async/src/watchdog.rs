//! The [`Watchdog`]: a background thread that finds polls still running past their
//! threshold — an infinite loop or a deadlock never returns, so a check after the poll never
//! fires — reports each once with the time stuck so far (and, feature `stack`, the stalled
//! thread's stack); the wrapper reports the final duration when the poll ends.
//!
//! Each polling thread owns one slot; a wrapped poll publishes "poll *n* of location *s* started
//! at *t*" into it under a sequence lock, and the watchdog reads it every `interval`.
//! Overhead when no watchdog runs: one relaxed load per poll. When one runs: one
//! thread-local access and about ten uncontended stores per poll (see `BENCHMARKS.md`).

use std::fmt;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use perf_core::clock::Clock;

use crate::config::{default_threshold, sink_and_clock_setters};
use crate::error::{ConfigError, WatchdogError};
use crate::location::LocationEntry;
use crate::slow_poll::{global_sink, PollState, SlowPoll, SlowPollSink, ThreadInfo};
use crate::stack::{self, Stack, ThreadTarget};

/// Whether a watchdog runs: the one thing a wrapped poll reads when none does.
static ACTIVE: AtomicBool = AtomicBool::new(false);

#[inline(always)]
pub(crate) fn active() -> bool {
    ACTIVE.load(Relaxed)
}

/// One polling thread's published state. Written only by its thread.
struct Slot {
    seq: AtomicU64,
    poll_id: AtomicU64,
    start: AtomicU64,
    location: AtomicPtr<LocationEntry>,
    threshold: AtomicU64,
    next_id: AtomicU64,
    /// The `poll_id` the watchdog reported as stalled.
    reported: AtomicU64,
    stack: Mutex<Option<(u64, Arc<Stack>)>>,
    thread: ThreadInfo,
    target: ThreadTarget,
    dead: AtomicBool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Published {
    poll_id: u64,
    start: u64,
    location: *mut LocationEntry,
    threshold: u64,
}

impl Slot {
    fn publish(&self, p: Published) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        self.poll_id.store(p.poll_id, Relaxed);
        self.start.store(p.start, Relaxed);
        self.location.store(p.location, Relaxed);
        self.threshold.store(p.threshold, Relaxed);
        self.seq.store(s.wrapping_add(2), Release);
    }

    fn current(&self) -> Published {
        Published {
            poll_id: self.poll_id.load(Relaxed),
            start: self.start.load(Relaxed),
            location: self.location.load(Relaxed),
            threshold: self.threshold.load(Relaxed),
        }
    }

    /// A consistent read from another thread, with the sequence number it was read at.
    fn read(&self) -> (u64, Published) {
        loop {
            let s1 = self.seq.load(Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let p = self.current();
            fence(Acquire);
            if self.seq.load(Relaxed) == s1 {
                return (s1, p);
            }
        }
    }
}

fn table() -> &'static Mutex<Vec<Arc<Slot>>> {
    static TABLE: OnceLock<Mutex<Vec<Arc<Slot>>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

struct SlotHandle(Arc<Slot>);

impl SlotHandle {
    fn register() -> Self {
        let slot = Arc::new(Slot {
            seq: AtomicU64::new(0),
            poll_id: AtomicU64::new(0),
            start: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            threshold: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            stack: Mutex::new(None),
            thread: ThreadInfo::current(),
            target: ThreadTarget::current(),
            dead: AtomicBool::new(false),
        });
        table()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        SlotHandle(slot)
    }
}

impl Drop for SlotHandle {
    fn drop(&mut self) {
        self.0.dead.store(true, Release);
    }
}

thread_local! {
    static SLOT: SlotHandle = SlotHandle::register();
}

/// A poll in progress, published to the watchdog. Restores the enclosing poll (a wrapped
/// future inside a wrapped future) when it ends, also on panic.
pub(crate) struct Enter {
    slot: *const Slot,
    saved: Published,
    id: u64,
}

/// What the watchdog knew of a poll that just ended.
pub(crate) struct Exit {
    pub(crate) stalled: bool,
    pub(crate) stack: Option<Arc<Stack>>,
}

#[inline]
pub(crate) fn enter(location: &'static LocationEntry, threshold: u64, start: u64) -> Option<Enter> {
    SLOT.try_with(|h| {
        let slot = &*h.0;
        let id = slot.next_id.load(Relaxed) + 1;
        slot.next_id.store(id, Relaxed);
        let saved = slot.current();
        slot.publish(Published {
            poll_id: id,
            start,
            location: location as *const LocationEntry as *mut LocationEntry,
            threshold,
        });
        Enter {
            slot: Arc::as_ptr(&h.0),
            saved,
            id,
        }
    })
    .ok()
}

impl Enter {
    /// Ends the poll: restores the enclosing one and says whether this one was reported.
    #[inline]
    pub(crate) fn exit(self) -> Exit {
        // SAFETY: the slot belongs to this thread's `SLOT`, which outlives any poll running
        // on the thread (the guard never leaves the poll's stack frame).
        let slot = unsafe { &*self.slot };
        slot.publish(self.saved);
        // Acquire, not SeqCst: a full fence here would double the watchdog's cost per poll.
        // The price is a rare race where the watchdog reports a stall just as the poll ends
        // and this final report does not say `stalled`; counts and durations are unaffected.
        let stalled = slot.reported.load(Acquire) == self.id;
        let stack = if stalled {
            slot.stack
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .filter(|(id, _)| *id == self.id)
                .map(|(_, s)| s)
        } else {
            None
        };
        std::mem::forget(self);
        Exit { stalled, stack }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        // The wrapper always ends a poll with `exit`, even while unwinding; this keeps the
        // enclosing poll restored for any other way an `Enter` is dropped.
        // SAFETY: as in `exit`.
        unsafe { &*self.slot }.publish(self.saved);
    }
}

/// How a [`Watchdog`] scans and where it reports.
///
/// ```
/// use std::time::Duration;
/// let config = perf_async::WatchdogConfig::new().with_interval(Duration::from_millis(2))?;
/// # drop(config);
/// # Ok::<(), perf_async::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct WatchdogConfig {
    interval: Option<Duration>,
    sink: Option<Arc<dyn SlowPollSink>>,
    clock: Clock,
    capture_stacks: Option<bool>,
}

impl fmt::Debug for WatchdogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchdogConfig")
            .field("interval", &self.interval())
            .field("sink", &self.sink.is_some())
            .field("manual_clock", &self.clock.is_manual())
            .field("capture_stacks", &self.captures_stacks())
            .finish()
    }
}

impl WatchdogConfig {
    /// Scans every half default threshold, reports to the process-wide sink, reads the
    /// system clock, captures stacks when the `stack` feature is on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans every `interval` (a stall is seen at most `interval` after it crosses its
    /// threshold). Default: half the [default threshold](crate::default_threshold), kept
    /// between 1 ms and 1 s. Zero is an error.
    pub fn with_interval(mut self, interval: Duration) -> Result<Self, ConfigError> {
        if interval.is_zero() {
            return Err(ConfigError::ZeroInterval { what: "watchdog" });
        }
        self.interval = Some(interval);
        Ok(self)
    }

    sink_and_clock_setters! {
        /// Reports stalls to `sink` instead of the process-wide sink.
        sink,
        /// Reads `clock`; give it the same manual clock as the wrappers in tests.
        clock
    }

    /// Whether to capture the stalled thread's stack (only possible with feature `stack`).
    pub fn with_stack_capture(mut self, on: bool) -> Self {
        self.capture_stacks = Some(on);
        self
    }

    fn interval(&self) -> Duration {
        self.interval.unwrap_or_else(|| {
            (default_threshold() / 2).clamp(Duration::from_millis(1), Duration::from_secs(1))
        })
    }

    fn captures_stacks(&self) -> bool {
        self.capture_stacks.unwrap_or(cfg!(feature = "stack"))
    }
}

struct Shared {
    config: WatchdogConfig,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// The running watchdog. Stops (and joins its thread) when dropped or [stopped](Self::stop).
/// One runs per process at a time.
///
/// It needs no runtime: it is a plain thread, unaffected by a runtime shutting down; the
/// slots of threads that exit are dropped from its table.
///
/// ```
/// use std::time::Duration;
/// use perf_async::{CollectingSink, FutureExt, Watchdog, WatchdogConfig};
/// use std::sync::Arc;
///
/// let sink = Arc::new(CollectingSink::new());
/// let watchdog = Watchdog::start_with(WatchdogConfig::new().with_sink(sink.clone()))?;
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// // Stuck for 300 ms: many watchdog ticks, even on a loaded machine.
/// rt.block_on(async { std::thread::sleep(Duration::from_millis(300)) }.detect_blocking());
/// watchdog.stop();
/// assert!(sink.take().iter().any(|p| p.state == perf_async::PollState::StillRunning));
/// # Ok::<(), perf_async::WatchdogError>(())
/// ```
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watchdog")
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Watchdog {
    /// Starts the watchdog with the default configuration.
    pub fn start() -> Result<Watchdog, WatchdogError> {
        Self::start_with(WatchdogConfig::new())
    }

    /// Starts the watchdog with `config`.
    pub fn start_with(config: WatchdogConfig) -> Result<Watchdog, WatchdogError> {
        if ACTIVE
            .compare_exchange(false, true, AcqRel, Acquire)
            .is_err()
        {
            return Err(WatchdogError::AlreadyRunning);
        }
        if config.captures_stacks() {
            stack::prepare();
        }
        let shared = Arc::new(Shared {
            config,
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let run = shared.clone();
        let thread = std::thread::Builder::new()
            .name("perf-async-watchdog".into())
            .spawn(move || {
                let interval = run.config.interval();
                let mut stop = run.stop.lock().unwrap_or_else(|e| e.into_inner());
                while !*stop {
                    drop(stop);
                    scan(&run.config);
                    stop = run.stop.lock().unwrap_or_else(|e| e.into_inner());
                    if *stop {
                        break;
                    }
                    stop = run
                        .wake
                        .wait_timeout(stop, interval)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            });
        match thread {
            Ok(t) => Ok(Watchdog {
                shared,
                thread: Some(t),
            }),
            Err(e) => {
                ACTIVE.store(false, Release);
                Err(WatchdogError::Spawn(e))
            }
        }
    }

    /// Scans once now, on the calling thread (tests with a manual clock). Returns the
    /// number of stalls reported.
    pub fn scan_now(&self) -> usize {
        scan(&self.shared.config)
    }

    /// Stops the watchdog and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            ACTIVE.store(false, Release);
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One pass over every slot; reports each stalled poll once.
fn scan(config: &WatchdogConfig) -> usize {
    let slots: Vec<Arc<Slot>> = {
        let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
        t.retain(|s| !s.dead.load(Acquire));
        t.clone()
    };
    let now = config.clock.now_nanos();
    let mut reported = 0;
    for slot in slots {
        let (seq, p) = slot.read();
        if p.location.is_null() || p.poll_id == 0 {
            continue;
        }
        let stuck = now.saturating_sub(p.start);
        if stuck < p.threshold {
            continue;
        }
        let prev = slot.reported.load(Acquire);
        if prev == p.poll_id
            || slot
                .reported
                .compare_exchange(prev, p.poll_id, SeqCst, Relaxed)
                .is_err()
        {
            continue;
        }
        // SAFETY: location entries are leaked on creation and never freed.
        let location: &'static LocationEntry = unsafe { &*p.location };
        location.handles().stalls.increment(1);
        let mut stack = None;
        if config.captures_stacks() && slot.seq.load(SeqCst) == seq {
            // A stack taken after the poll ended shows other code: keep it only if the same
            // poll was still in progress once the walk finished. Resolving comes after.
            if let Some(raw) = stack::capture(slot.target).filter(|_| slot.seq.load(SeqCst) == seq)
            {
                let s = Arc::new(raw.resolve());
                *slot.stack.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((p.poll_id, s.clone()));
                stack = Some(s);
            }
        }
        let report = SlowPoll {
            location: location.caller,
            task: location.task,
            duration: Duration::from_nanos(stuck),
            threshold: Duration::from_nanos(p.threshold),
            thread: slot.thread.clone(),
            state: PollState::StillRunning,
            stack,
        };
        match &config.sink {
            Some(s) => s.report(&report),
            None => global_sink().report(&report),
        }
        reported += 1;
    }
    reported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_polls_restore_the_enclosing_one() {
        let here = std::panic::Location::caller();
        let outer_location = LocationEntry::of(here, Some("outer"));
        let inner_location = LocationEntry::of(here, Some("inner"));
        let outer = enter(outer_location, 10, 100).unwrap();
        let slot = SLOT.with(|h| h.0.clone());
        assert_eq!(
            slot.read().1.location as *const LocationEntry,
            outer_location as *const LocationEntry
        );
        let inner = enter(inner_location, 20, 200).unwrap();
        assert_eq!(slot.read().1.start, 200);
        let e = inner.exit();
        assert!(!e.stalled);
        let (_, p) = slot.read();
        assert_eq!((p.start, p.threshold), (100, 10));
        outer.exit();
        assert!(slot.read().1.location.is_null());
    }
}
