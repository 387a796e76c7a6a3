//! How a wrapped future judges its polls: the slow-poll threshold (per wrapper, or the
//! process-wide default), the name reported with it, the monitor its statistics go to, the
//! sink its reports go to, and the clock it reads.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use perf_core::clock::Clock;

use crate::error::ConfigError;
use crate::monitor::BlockingMonitor;
use crate::slow_poll::SlowPollSink;

/// The `with_sink` and `with_clock` setters, with the documentation given, of a
/// configuration with fields `sink: Option<Arc<dyn SlowPollSink>>` and `clock: Clock`: a
/// wrapper's [`Config`] and a [`WatchdogConfig`](crate::WatchdogConfig) take both the same way.
macro_rules! sink_and_clock_setters {
    (#[doc = $sink_doc:literal] sink, #[doc = $clock_doc:literal] clock) => {
        #[doc = $sink_doc]
        pub fn with_sink(mut self, sink: ::std::sync::Arc<dyn $crate::SlowPollSink>) -> Self {
            self.sink = Some(sink);
            self
        }

        #[doc = $clock_doc]
        pub fn with_clock(mut self, clock: ::perf_core::clock::Clock) -> Self {
            self.clock = clock;
            self
        }
    };
}
pub(crate) use sink_and_clock_setters;

/// The slow-poll threshold used when none is configured: **10 ms**.
///
/// Why 10 ms: a poll is meant to run for microseconds (tokio's guidance is 10–100 µs between
/// `.await`s), so anything near a millisecond is already suspect — but on a loaded machine a
/// worker thread that is preempted, takes a page fault or allocates a large buffer can see a
/// single well-behaved poll take a millisecond or two. 10 ms sits well above that noise (no
/// false alarms on busy 2-core CI machines) and well below what users notice: one 10 ms poll
/// delays every other task queued on that worker by 10 ms. Services with tight latency goals
/// lower it with [`set_default_threshold`] or [`Config::with_threshold`]; tokio-metrics'
/// own slow-poll threshold (50 µs) counts polls, it is not meant to alert.
pub const DEFAULT_THRESHOLD: Duration = Duration::from_millis(10);

static DEFAULT_THRESHOLD_NANOS: AtomicU64 = AtomicU64::new(10_000_000);

/// Sets the process-wide slow-poll threshold that wrappers without their own threshold use.
/// It is read when a future is wrapped, so it applies to futures wrapped afterwards.
///
/// A huge threshold (up to [`Duration::MAX`]) is accepted: no poll is then slow. Zero is
/// rejected.
///
/// ```
/// use std::time::Duration;
/// perf_async::set_default_threshold(Duration::from_millis(5)).unwrap();
/// assert_eq!(perf_async::default_threshold(), Duration::from_millis(5));
/// assert!(perf_async::set_default_threshold(Duration::ZERO).is_err());
/// # perf_async::set_default_threshold(perf_async::DEFAULT_THRESHOLD).unwrap();
/// ```
pub fn set_default_threshold(threshold: Duration) -> Result<(), ConfigError> {
    DEFAULT_THRESHOLD_NANOS.store(threshold_nanos(threshold)?, Relaxed);
    Ok(())
}

/// The process-wide slow-poll threshold ([`DEFAULT_THRESHOLD`] unless changed).
///
/// ```
/// assert!(perf_async::default_threshold() > std::time::Duration::ZERO);
/// ```
pub fn default_threshold() -> Duration {
    Duration::from_nanos(DEFAULT_THRESHOLD_NANOS.load(Relaxed))
}

/// A threshold as nanoseconds, saturating huge ones; zero is an error.
pub(crate) fn threshold_nanos(threshold: Duration) -> Result<u64, ConfigError> {
    if threshold.is_zero() {
        return Err(ConfigError::ZeroThreshold {
            default: DEFAULT_THRESHOLD,
        });
    }
    Ok(u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn default_threshold_nanos() -> u64 {
    DEFAULT_THRESHOLD_NANOS.load(Relaxed)
}

/// The configuration of one wrapper ([`FutureExt::detect_blocking_with`](crate::FutureExt::detect_blocking_with)).
///
/// Everything is optional: the threshold defaults to [`default_threshold`], the name to
/// none, the monitor to the one perf-async keeps for the wrapping location, the sink to the
/// process-wide one ([`set_sink`](crate::set_sink)), the clock to the system clock.
///
/// ```
/// use std::time::Duration;
/// use perf_async::{BlockingMonitor, Config, FutureExt};
///
/// let checkout = BlockingMonitor::new();
/// let config = Config::new()
///     .with_threshold(Duration::from_millis(2))?
///     .with_name("checkout")
///     .with_monitor(&checkout);
/// let fut = async { 1 + 1 }.detect_blocking_with(config);
/// # drop(fut);
/// # Ok::<(), perf_async::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Config {
    pub(crate) threshold_nanos: Option<u64>,
    pub(crate) name: Option<&'static str>,
    pub(crate) monitor: Option<BlockingMonitor>,
    pub(crate) sink: Option<Arc<dyn SlowPollSink>>,
    pub(crate) clock: Clock,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("threshold", &self.threshold())
            .field("name", &self.name)
            .field("monitor", &self.monitor.is_some())
            .field("sink", &self.sink.is_some())
            .field("manual_clock", &self.clock.is_manual())
            .finish()
    }
}

impl Config {
    /// The defaults: see the type's documentation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Polls longer than `threshold` are slow. Zero is an error; a huge value means no poll
    /// is ever slow.
    pub fn with_threshold(mut self, threshold: Duration) -> Result<Self, ConfigError> {
        self.threshold_nanos = Some(threshold_nanos(threshold)?);
        Ok(self)
    }

    /// The `task` name reported with this future's slow polls and metrics.
    pub fn with_name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// Adds this future's statistics to `monitor` (shared by many futures, e.g. one per
    /// endpoint) instead of the monitor of its location.
    pub fn with_monitor(mut self, monitor: &BlockingMonitor) -> Self {
        self.monitor = Some(monitor.clone());
        self
    }

    sink_and_clock_setters! {
        /// Sends this future's slow-poll reports to `sink` instead of the process-wide sink.
        sink,
        /// Reads `clock` instead of the system clock (tests: [`Clock::manual`]).
        clock
    }

    /// The threshold this configuration applies now.
    pub fn threshold(&self) -> Duration {
        Duration::from_nanos(self.threshold_nanos.unwrap_or_else(default_threshold_nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threshold_is_an_error_and_huge_saturates() {
        let err = Config::new().with_threshold(Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("at least 1µs"), "{err}");
        let c = Config::new().with_threshold(Duration::MAX).unwrap();
        assert_eq!(c.threshold_nanos, Some(u64::MAX));
    }

    #[test]
    fn unset_threshold_reads_the_default() {
        assert_eq!(Config::new().threshold(), default_threshold());
    }
}
