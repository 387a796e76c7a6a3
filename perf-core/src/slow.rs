//! Slow-call logging: a call over its threshold emits one `tracing` WARN, rate-limited per
//! callsite; the calls held back are counted and reported with the next WARN.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::time::Duration;

static MIN_INTERVAL_NANOS: AtomicU64 = AtomicU64::new(1_000_000_000);

/// Sets the smallest time between two slow-call WARNs of one callsite (default 1 s).
///
/// ```
/// perf_core::slow::set_min_interval(std::time::Duration::from_secs(10));
/// # perf_core::slow::set_min_interval(std::time::Duration::from_secs(1));
/// ```
pub fn set_min_interval(d: Duration) {
    MIN_INTERVAL_NANOS.store(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Relaxed);
}

/// The rate limiter of one callsite's slow-call WARNs. Touched only by slow calls.
///
/// ```
/// use std::time::Duration;
/// use perf_core::slow::SlowLog;
///
/// let log = SlowLog::new();
/// let ms = |n| Duration::from_millis(n);
/// // First slow call at t=0 is reported; one 10 ms later is held back and counted.
/// assert_eq!(log.should_report(0, ms(1000)), Some(0));
/// assert_eq!(log.should_report(10_000_000, ms(1000)), None);
/// assert_eq!(log.should_report(1_000_000_000, ms(1000)), Some(1));
/// ```
#[derive(Debug)]
pub struct SlowLog {
    /// Clock reading of the last WARN, plus one (0 = never warned).
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for SlowLog {
    fn default() -> Self {
        Self::new()
    }
}

impl SlowLog {
    /// A limiter that has not warned yet.
    pub const fn new() -> Self {
        SlowLog {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a slow call seen at clock reading `now` is to be reported, given at most one
    /// report per `interval`. `Some(n)`: report it, with `n` calls held back since the last
    /// report. `None`: held back (and counted).
    pub fn should_report(&self, now: u64, interval: Duration) -> Option<u64> {
        let interval = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let last = self.last.load(Acquire);
        let due = last == 0 || now.saturating_add(1).saturating_sub(last) >= interval;
        if due
            && self
                .last
                .compare_exchange(last, now.saturating_add(1), AcqRel, Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, AcqRel));
        }
        self.suppressed.fetch_add(1, AcqRel);
        None
    }

    /// Reports a slow call through `tracing` if the rate limit allows.
    #[cold]
    pub fn observe(
        &self,
        function: &str,
        module: &str,
        elapsed: Duration,
        threshold: Duration,
        now: u64,
    ) {
        let interval = Duration::from_nanos(MIN_INTERVAL_NANOS.load(Relaxed));
        if let Some(suppressed) = self.should_report(now, interval) {
            tracing::warn!(
                target: "perf::slow",
                function,
                module,
                elapsed_ms = elapsed.as_secs_f64() * 1e3,
                threshold_ms = threshold.as_secs_f64() * 1e3,
                suppressed,
                "slow call: {function} took {} (threshold {})",
                crate::summary::format_duration(elapsed),
                crate::summary::format_duration(threshold),
            );
        }
    }
}
