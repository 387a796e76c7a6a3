//! The state every request of a run records into: counters, the three perf-core histograms
//! (latency from the intended start, service time from the actual start, generator lag),
//! the error tally and the per-second timeline.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use perf_core::LatencyHistogram;
use tokio::time::Instant;

use crate::error_kinds::ErrorTally;
use crate::timeline::Timeline;

/// A request that starts later than this after its intended instant counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// What a run's progress callback sees, about once a second.
///
/// ```
/// let p = perf_load::Progress::default();
/// assert_eq!(p.started, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Requests the run will start in all (open loop), or 0 when not known (closed loop).
    pub planned: u64,
    /// Requests started so far.
    pub started: u64,
    /// Completed so far.
    pub completed: u64,
    /// Of which failed.
    pub errors: u64,
    /// Not started because the in-flight cap was reached.
    pub dropped: u64,
    /// In flight now.
    pub in_flight: usize,
}

/// Called with the run's progress about once a second (a progress bar, a log line).
pub type ProgressFn = std::sync::Arc<dyn Fn(&Progress) + Send + Sync>;

pub(crate) struct Recorder {
    pub(crate) start: Instant,
    pub(crate) wall_start: SystemTime,
    pub(crate) latency: LatencyHistogram,
    pub(crate) service: LatencyHistogram,
    pub(crate) lag: LatencyHistogram,
    pub(crate) started: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) late: AtomicU64,
    pub(crate) in_flight: AtomicUsize,
    /// Nanoseconds from `start` to the latest actual start.
    pub(crate) last_start_ns: AtomicU64,
    pub(crate) kinds: Mutex<ErrorTally>,
    pub(crate) timeline: Mutex<Timeline>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Recorder {
            start: Instant::now(),
            wall_start: SystemTime::now(),
            latency: LatencyHistogram::new(),
            service: LatencyHistogram::new(),
            lag: LatencyHistogram::new(),
            started: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            late: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_start_ns: AtomicU64::new(0),
            kinds: Mutex::new(ErrorTally::default()),
            timeline: Mutex::new(Timeline::default()),
        }
    }

    /// A request starts `actual`, meant to start at `intended`.
    pub(crate) fn started(&self, intended: Instant, actual: Instant) {
        self.started.fetch_add(1, Relaxed);
        let lag = actual.saturating_duration_since(intended);
        self.lag.record(lag);
        if lag > LATE_AFTER {
            self.late.fetch_add(1, Relaxed);
        }
        self.last_start_ns
            .fetch_max(nanos(actual.saturating_duration_since(self.start)), Relaxed);
    }

    /// A request meant to start at `intended`, started at `actual`, ended now.
    pub(crate) fn finished(&self, intended: Instant, actual: Instant, error: Option<&str>) {
        let end = Instant::now();
        let latency = nanos(end.saturating_duration_since(intended));
        let service = nanos(end.saturating_duration_since(actual));
        self.latency.record_nanos(latency);
        self.service.record_nanos(service);
        match error {
            None => {
                self.ok.fetch_add(1, Relaxed);
            }
            Some(kind) => {
                self.errors.fetch_add(1, Relaxed);
                self.kinds
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .add(kind, 1);
            }
        }
        let second = end.saturating_duration_since(self.start).as_secs();
        self.timeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(second, latency, service, error.is_some());
    }

    pub(crate) fn progress(&self, planned: u64) -> Progress {
        Progress {
            elapsed: self.start.elapsed(),
            planned,
            started: self.started.load(Relaxed),
            completed: self.ok.load(Relaxed) + self.errors.load(Relaxed),
            errors: self.errors.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
        }
    }
}

/// Keeps the in-flight count right even when a request's task is cancelled or panics.
pub(crate) struct InFlight(Arc<Recorder>);

impl InFlight {
    pub(crate) fn enter(recorder: &Arc<Recorder>) -> Self {
        recorder.in_flight.fetch_add(1, Relaxed);
        InFlight(Arc::clone(recorder))
    }

    pub(crate) fn recorder(&self) -> &Recorder {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_means_more_than_a_millisecond_after_the_intended_start() {
        let rec = Recorder::new();
        let at = rec.start;
        for lag in [
            Duration::ZERO,
            LATE_AFTER,
            LATE_AFTER + Duration::from_nanos(1),
        ] {
            rec.started(at, at + lag);
        }
        // An actual start before the intended one (a clock read early) is no lag, not a wrap.
        rec.started(at + LATE_AFTER, at);
        assert_eq!(rec.started.load(Relaxed), 4);
        assert_eq!(rec.late.load(Relaxed), 1);
        let lag = rec.lag.summary();
        assert_eq!((lag.count, lag.min), (4, Duration::ZERO));
        // Within the 0.78% relative error of perf-core's histograms.
        let off = lag.max.abs_diff(LATE_AFTER);
        assert!(off <= LATE_AFTER * 8 / 1000, "max lag {:?}", lag.max);
    }
}
