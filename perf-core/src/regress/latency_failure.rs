//! What a failing latency assertion shows: every clause that did not hold, the summary, and
//! the distribution drawn as an ASCII histogram. Public through
//! [`latency`](crate::regress::latency).

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::regress::clause::Clause;

/// `Debug` for a failure's details is its message, so that `unwrap()` on a check's `Result`
/// and a test's `{:?}` show the same text as the macro's panic. Shared with
/// [`RatioFailure`](crate::regress::ratio::RatioFailure) and
/// [`Regression`](crate::regress::baseline::Regression).
macro_rules! debug_is_display {
    ($t:ty) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }
    };
}
use crate::{format_duration, LatencySummary};
pub(crate) use debug_is_display;

/// One clause that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ClauseFailure {
    /// The clause as written.
    pub clause: Clause,
    /// The limit after scaling, in nanoseconds.
    pub limit_nanos: f64,
    /// What was measured.
    pub measured: Duration,
}

/// Why a latency assertion failed: every failing clause, the summary, and the distribution.
#[derive(Clone)]
pub struct LatencyFailure {
    /// The clauses that did not hold.
    pub failures: Vec<ClauseFailure>,
    /// The scale applied to every threshold (`PERF_LATENCY_SCALE`).
    pub scale: f64,
    /// The measured distribution.
    pub summary: LatencySummary,
}

debug_is_display!(LatencyFailure);

impl fmt::Display for LatencyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "latency assertion failed:")?;
        for c in &self.failures {
            let limit = format_duration(Duration::from_nanos(c.limit_nanos as u64));
            write!(
                f,
                "  {}: measured {} = {}, limit {} {}",
                c.clause,
                c.clause.stat.name(),
                format_duration(c.measured),
                c.clause.cmp.symbol(),
                limit
            )?;
            if self.scale != 1.0 {
                write!(
                    f,
                    " (threshold {} × PERF_LATENCY_SCALE {})",
                    c.clause.threshold, self.scale
                )?;
            }
            writeln!(f)?;
        }
        writeln!(f, "summary: {}", self.summary)?;
        writeln!(
            f,
            "  (min {}, stddev {}, percentiles within ±{:.2}%)",
            format_duration(self.summary.min),
            format_duration(self.summary.stddev),
            self.summary.relative_error * 100.0
        )?;
        write!(f, "histogram:\n{}", ascii_histogram(&self.summary, 12))
    }
}

/// Draws the distribution as rows of `#` over log-spaced latency ranges from min to max, at
/// most `rows` rows.
///
/// ```
/// use perf_core::LatencyHistogram;
/// let h = LatencyHistogram::new();
/// for us in 1..=1000u64 { h.record_nanos(us * 1_000); }
/// let art = perf_core::assert::ascii_histogram(&h.summary(), 8);
/// assert_eq!(art.lines().count(), 8);
/// assert!(art.contains('#'));
/// ```
pub fn ascii_histogram(summary: &LatencySummary, rows: usize) -> String {
    const WIDTH: u64 = 40;
    let snap = summary.snapshot();
    let buckets: Vec<(u64, u64)> = snap.buckets().collect();
    let (Some(&(lo, _)), Some(&(hi, _))) = (buckets.first(), buckets.last()) else {
        return "  (no samples)\n".to_owned();
    };
    let rows = rows.max(1);
    let lo = lo.max(1) as f64;
    let hi = (hi.max(1) as f64).max(lo);
    let ratio = hi / lo;
    let rows = if ratio <= 1.0 { 1 } else { rows };
    let edge = |i: usize| lo * ratio.powf(i as f64 / rows as f64);
    let mut counts = vec![0u64; rows];
    for (v, c) in buckets {
        let pos = if ratio <= 1.0 {
            0.0
        } else {
            ((v.max(1) as f64) / lo).ln() / ratio.ln() * rows as f64
        };
        counts[(pos as usize).min(rows - 1)] += c;
    }
    let peak = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut out = String::new();
    for (i, &c) in counts.iter().enumerate() {
        let from = format_duration(Duration::from_nanos(edge(i) as u64));
        let to = format_duration(Duration::from_nanos(edge(i + 1) as u64));
        let bar = (c * WIDTH).div_ceil(peak) as usize;
        let _ = writeln!(out, "  {from:>8} .. {to:>8} | {:<40} {c}", "#".repeat(bar));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regress::sampler::summarize;

    fn uniform_us(n: u64) -> Vec<u64> {
        (1..=n).map(|i| i * 1_000).collect()
    }

    #[test]
    fn histogram_rows_cover_all_samples() {
        let s = summarize(&uniform_us(1000));
        let art = ascii_histogram(&s, 10);
        let total: u64 = art
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 1000);
        assert_eq!(art.lines().count(), 10);
        let single = ascii_histogram(&summarize(&[42; 5]), 10);
        assert_eq!(single.lines().count(), 1, "{single}");
        assert!(single.trim_end().ends_with(" 5"), "{single}");
    }
}
