//! Latency summaries as a load report shows them: [`LatencySummary`] written in milliseconds
//! (`p50_ms` … `max_ms`), and a summary of an `hdrhistogram` (corrected or merged runs).

use std::time::Duration;

use hdrhistogram::Histogram;
use perf_core::{LatencyHistogram, LatencySummary};
use serde::{Serialize, Serializer};

/// A [`LatencySummary`] in the JSON shape of the report: milliseconds, as load tools write.
///
/// ```
/// use std::time::Duration;
/// let h = perf_core::LatencyHistogram::new();
/// h.record(Duration::from_millis(12));
/// let s = perf_load::MsSummary::from(&h.summary());
/// assert_eq!(s.count, 1);
/// assert!((s.p99_ms - 12.0).abs() < 0.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MsSummary {
    /// Samples.
    pub count: u64,
    /// Mean, exact.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

fn millis(d: Duration) -> f64 {
    // Three decimals: a microsecond, below the histograms' resolution at a millisecond.
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl From<&LatencySummary> for MsSummary {
    fn from(s: &LatencySummary) -> Self {
        MsSummary {
            count: s.count,
            mean_ms: millis(s.mean),
            p50_ms: millis(s.p50),
            p90_ms: millis(s.p90),
            p95_ms: millis(s.p95),
            p99_ms: millis(s.p99),
            p999_ms: millis(s.p999),
            max_ms: millis(s.max),
        }
    }
}

pub(crate) fn as_ms<S: Serializer>(s: &LatencySummary, ser: S) -> Result<S::Ok, S::Error> {
    MsSummary::from(s).serialize(ser)
}

pub(crate) fn opt_as_ms<S: Serializer>(
    s: &Option<LatencySummary>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    s.as_ref().map(MsSummary::from).serialize(ser)
}

/// A duration written as fractional milliseconds.
pub(crate) mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(super::millis(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Ok(Duration::from_secs_f64((v / 1e3).max(0.0)))
    }
}

/// The perf-core summary of an HDR histogram of nanoseconds, every value at its bucket's
/// representative (so the summary's error is the coarser of the two histograms').
pub(crate) fn of_hdr(h: &Histogram<u64>) -> LatencySummary {
    let out = LatencyHistogram::new();
    for v in h.iter_recorded() {
        let value = h.median_equivalent(v.value_iterated_to());
        for _ in 0..v.count_at_value() {
            out.record_nanos(value);
        }
    }
    out.summary()
}
