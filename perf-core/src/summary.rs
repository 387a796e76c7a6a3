//! [`LatencySummary`]: what a performance engineer reads first about a distribution.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::histogram::{LatencyHistogram, Snapshot, RELATIVE_ERROR};

/// Count, extremes, mean, spread and percentiles of a latency distribution.
///
/// Percentiles are nearest-rank values read from the histogram, within
/// [`relative_error`](Self::relative_error) of the exact value; `count`, `mean` (from the
/// exact sum) and `saturated` are exact. It keeps its [`Snapshot`] so that two summaries can
/// be [merged](Self::merge) exactly and any [`quantile`](Self::quantile) read later.
///
/// Serialized as JSON with durations in integer nanoseconds (`p99_ns`, …).
///
/// ```
/// use std::time::Duration;
/// use perf_core::LatencyHistogram;
///
/// let h = LatencyHistogram::new();
/// for us in 1..=10_000 {
///     h.record(Duration::from_micros(us));
/// }
/// let s = h.summary();
/// assert_eq!(s.count, 10_000);
/// println!("{s}"); // n=10000 p50=5.00ms p90=9.00ms p95=9.50ms p99=9.90ms max=10.00ms
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.contains("\"p99_ns\""));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample.
    #[serde(rename = "min_ns", with = "nanos")]
    pub min: Duration,
    /// Largest sample.
    #[serde(rename = "max_ns", with = "nanos")]
    pub max: Duration,
    /// Arithmetic mean (exact sum / count).
    #[serde(rename = "mean_ns", with = "nanos")]
    pub mean: Duration,
    /// Population standard deviation.
    #[serde(rename = "stddev_ns", with = "nanos")]
    pub stddev: Duration,
    /// Median.
    #[serde(rename = "p50_ns", with = "nanos")]
    pub p50: Duration,
    /// 90th percentile.
    #[serde(rename = "p90_ns", with = "nanos")]
    pub p90: Duration,
    /// 95th percentile.
    #[serde(rename = "p95_ns", with = "nanos")]
    pub p95: Duration,
    /// 99th percentile.
    #[serde(rename = "p99_ns", with = "nanos")]
    pub p99: Duration,
    /// 99.9th percentile.
    #[serde(rename = "p999_ns", with = "nanos")]
    pub p999: Duration,
    /// Exact total of all samples.
    #[serde(rename = "total_ns", with = "nanos")]
    pub total: Duration,
    /// Samples above the histogram's range, clamped to its maximum.
    pub saturated: u64,
    /// Largest relative error of the percentiles, min and max (0.0078 = 0.78%).
    pub relative_error: f64,
    snapshot: Snapshot,
}

mod nanos {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_nanos)
    }
}

// A histogram and a snapshot are summarised here rather than in `histogram/`, so the
// recording layer does not depend on the summary built on top of it.
impl LatencyHistogram {
    /// Count, min, max, mean, standard deviation and percentiles of what was recorded.
    pub fn summary(&self) -> LatencySummary {
        self.snapshot().summary()
    }
}

impl Snapshot {
    /// Count, min, max, mean, stddev and percentiles.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary::from_snapshot(self)
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("summary", &self.summary())
            .finish()
    }
}

impl fmt::Debug for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Default for LatencySummary {
    fn default() -> Self {
        Snapshot::empty().summary()
    }
}

impl LatencySummary {
    pub(crate) fn from_snapshot(s: &Snapshot) -> Self {
        let d = Duration::from_nanos;
        let count = s.count();
        LatencySummary {
            count,
            min: d(s.min_nanos()),
            max: d(s.max_nanos()),
            mean: d(s.sum_nanos().checked_div(count).unwrap_or(0)),
            stddev: d(s.stddev_nanos().round() as u64),
            p50: d(s.quantile_nanos(0.50)),
            p90: d(s.quantile_nanos(0.90)),
            p95: d(s.quantile_nanos(0.95)),
            p99: d(s.quantile_nanos(0.99)),
            p999: d(s.quantile_nanos(0.999)),
            total: d(s.sum_nanos()),
            saturated: s.saturated(),
            relative_error: RELATIVE_ERROR,
            snapshot: s.clone(),
        }
    }

    /// The value at quantile `q` in `0.0..=1.0` (out-of-range values are clamped, NaN reads
    /// as 0.0). `quantile(0.5)` is `p50`.
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_nanos(self.snapshot.quantile_nanos(q))
    }

    /// The distribution this summary was computed from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The summary of both distributions together (exact: merges the histograms, not the
    /// percentiles).
    ///
    /// ```
    /// use perf_core::LatencyHistogram;
    /// let (a, b) = (LatencyHistogram::new(), LatencyHistogram::new());
    /// a.record_nanos(10);
    /// b.record_nanos(30);
    /// let both = a.summary().merge(&b.summary());
    /// assert_eq!((both.count, both.max.as_nanos()), (2, 30));
    /// ```
    pub fn merge(&self, other: &LatencySummary) -> LatencySummary {
        let mut s = self.snapshot.clone();
        s.merge(&other.snapshot);
        s.summary()
    }
}

/// Formats a duration with three significant digits and a unit a person reads at a glance
/// (`850ns`, `12.3µs`, `1.21ms`, `2.50s`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let (v, unit) = if ns < 1e3 {
        return format!("{}ns", d.as_nanos());
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = format_duration;
        write!(
            f,
            "n={} p50={} p90={} p95={} p99={} p999={} max={} mean={}",
            self.count,
            p(self.p50),
            p(self.p90),
            p(self.p95),
            p(self.p99),
            p(self.p999),
            p(self.max),
            p(self.mean)
        )?;
        if self.saturated > 0 {
            write!(f, " saturated={}", self.saturated)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LatencyHistogram;

    #[test]
    fn display_is_one_line() {
        let h = LatencyHistogram::new();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let line = h.summary().to_string();
        assert!(line.starts_with("n=10000 p50="), "{line}");
        assert!(line.contains("max=10.0ms"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn empty_summary_is_zero() {
        let s = LatencySummary::default();
        assert_eq!(s.count, 0);
        assert_eq!(s.p99, Duration::ZERO);
        assert_eq!(s.quantile(f64::NAN), Duration::ZERO);
    }

    #[test]
    fn format_duration_units() {
        assert_eq!(format_duration(Duration::from_nanos(850)), "850ns");
        assert_eq!(format_duration(Duration::from_nanos(12_345)), "12.3µs");
        assert_eq!(format_duration(Duration::from_micros(1_210)), "1.21ms");
        assert_eq!(format_duration(Duration::from_millis(2_500)), "2.50s");
    }
}
