//! [`BlockingMonitor`]: poll statistics shared by many futures (one per endpoint, say), with
//! tokio-metrics' names, plus poll-duration percentiles from a lock-free histogram.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use perf_core::{LatencyHistogram, LatencySummary};

/// Poll statistics of every future wrapped with it.
///
/// Cloning is cheap (an `Arc`); clones share the statistics. Each poll is recorded into a
/// per-thread shard of a [`LatencyHistogram`] (no lock, no shared cache line); slow polls
/// also bump two atomics.
///
/// ```
/// use perf_async::{BlockingMonitor, Config, FutureExt};
///
/// let monitor = BlockingMonitor::new();
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// for _ in 0..3 {
///     rt.block_on(async { 7 }.detect_blocking_with(Config::new().with_monitor(&monitor)));
/// }
/// let stats = monitor.stats();
/// assert_eq!(stats.total_poll_count, 3);
/// assert_eq!(stats.total_slow_poll_count, 0);
/// println!("{stats}");
/// ```
#[derive(Clone, Default)]
pub struct BlockingMonitor {
    pub(crate) inner: Arc<MonitorInner>,
}

#[derive(Default)]
pub(crate) struct MonitorInner {
    pub(crate) polls: LatencyHistogram,
    slow_count: AtomicU64,
    slow_nanos: AtomicU64,
    stall_count: AtomicU64,
    block_in_place_count: AtomicU64,
    block_in_place_nanos: AtomicU64,
}

impl MonitorInner {
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        self.polls.record_nanos(nanos);
    }

    #[cold]
    pub(crate) fn record_slow(&self, nanos: u64) {
        self.slow_count.fetch_add(1, Relaxed);
        self.slow_nanos.fetch_add(nanos, Relaxed);
    }

    #[cold]
    pub(crate) fn record_block_in_place(&self, nanos: u64) {
        self.block_in_place_count.fetch_add(1, Relaxed);
        self.block_in_place_nanos.fetch_add(nanos, Relaxed);
    }

    #[cold]
    pub(crate) fn record_stall(&self) {
        self.stall_count.fetch_add(1, Relaxed);
    }
}

impl fmt::Debug for BlockingMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BlockingMonitor")
            .field(&self.stats())
            .finish()
    }
}

impl BlockingMonitor {
    /// A monitor with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was recorded so far. Merges the histogram's shards: meant for reports, not for
    /// every request.
    pub fn stats(&self) -> BlockingStats {
        let poll_durations = self.inner.polls.summary();
        BlockingStats {
            total_poll_count: poll_durations.count,
            total_poll_duration: poll_durations.total,
            total_slow_poll_count: self.inner.slow_count.load(Relaxed),
            total_slow_poll_duration: Duration::from_nanos(self.inner.slow_nanos.load(Relaxed)),
            total_stall_count: self.inner.stall_count.load(Relaxed),
            total_block_in_place_count: self.inner.block_in_place_count.load(Relaxed),
            total_block_in_place_duration: Duration::from_nanos(
                self.inner.block_in_place_nanos.load(Relaxed),
            ),
            poll_durations,
        }
    }

    /// Whether `self` and `other` share their statistics.
    pub fn same_as(&self, other: &BlockingMonitor) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// A copy of a [`BlockingMonitor`]'s statistics. Field names follow tokio-metrics'
/// `TaskMetrics`.
///
/// ```
/// let stats = perf_async::BlockingMonitor::new().stats();
/// assert_eq!(stats.slow_poll_ratio(), 0.0);
/// assert_eq!(stats.mean_slow_poll_duration(), std::time::Duration::ZERO);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockingStats {
    /// Polls recorded (exact).
    pub total_poll_count: u64,
    /// Time spent in those polls (exact sum).
    pub total_poll_duration: Duration,
    /// Polls that took longer than their wrapper's threshold.
    pub total_slow_poll_count: u64,
    /// Time spent in slow polls.
    pub total_slow_poll_duration: Duration,
    /// Polls the [`Watchdog`](crate::Watchdog) reported while they were still running.
    pub total_stall_count: u64,
    /// Polls that blocked through [`block_in_place`](crate::block_in_place): deliberate
    /// blocking, kept out of the poll durations and slow polls above.
    pub total_block_in_place_count: u64,
    /// Time those polls spent in [`block_in_place`](crate::block_in_place).
    pub total_block_in_place_duration: Duration,
    /// Distribution of poll durations: `p50`, `p99`, `max` and the rest, within
    /// [`perf_core::RELATIVE_ERROR`].
    pub poll_durations: LatencySummary,
}

impl BlockingStats {
    /// `total_slow_poll_duration / total_slow_poll_count`, zero when there was none.
    pub fn mean_slow_poll_duration(&self) -> Duration {
        if self.total_slow_poll_count == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(
                u64::try_from(
                    self.total_slow_poll_duration.as_nanos()
                        / u128::from(self.total_slow_poll_count),
                )
                .unwrap_or(u64::MAX),
            )
        }
    }

    /// Fraction of polls that were slow, 0.0 when nothing was polled.
    pub fn slow_poll_ratio(&self) -> f64 {
        if self.total_poll_count == 0 {
            0.0
        } else {
            self.total_slow_poll_count as f64 / self.total_poll_count as f64
        }
    }
}

impl fmt::Display for BlockingStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = perf_core::format_duration;
        write!(
            f,
            "polls={} slow={} ({:.2}%) slow_time={} mean_slow={} stalls={} p50={} p99={} max={}",
            self.total_poll_count,
            self.total_slow_poll_count,
            self.slow_poll_ratio() * 100.0,
            p(self.total_slow_poll_duration),
            p(self.mean_slow_poll_duration()),
            self.total_stall_count,
            p(self.poll_durations.p50),
            p(self.poll_durations.p99),
            p(self.poll_durations.max),
        )?;
        if self.total_block_in_place_count > 0 {
            write!(
                f,
                " block_in_place={} ({})",
                self.total_block_in_place_count,
                p(self.total_block_in_place_duration)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_statistics_add_up() {
        let m = BlockingMonitor::new();
        for n in [1_000, 2_000, 30_000_000, 50_000_000] {
            m.inner.record(n);
        }
        m.inner.record_slow(30_000_000);
        m.inner.record_slow(50_000_000);
        let s = m.stats();
        assert_eq!(s.total_poll_count, 4);
        assert_eq!(s.total_slow_poll_count, 2);
        assert_eq!(s.total_slow_poll_duration, Duration::from_millis(80));
        assert_eq!(s.mean_slow_poll_duration(), Duration::from_millis(40));
        assert_eq!(s.slow_poll_ratio(), 0.5);
        assert_eq!(s.poll_durations.max, Duration::from_millis(50));
        assert!(s.to_string().contains("slow=2 (50.00%)"), "{s}");
    }

    #[test]
    fn clones_share() {
        let a = BlockingMonitor::new();
        let b = a.clone();
        b.inner.record(5);
        assert!(a.same_as(&b));
        assert_eq!(a.stats().total_poll_count, 1);
        assert!(!a.same_as(&BlockingMonitor::new()));
    }
}
