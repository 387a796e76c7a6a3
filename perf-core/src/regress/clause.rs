//! What a latency clause is made of: the statistic, `<` or `<=`, and a threshold (a
//! duration, [`ms`]/[`us`] of a number, or a string such as `"5ms"`). Public through
//! [`latency`](crate::regress::latency).

use std::fmt;
use std::time::Duration;

use crate::{format_duration, LatencySummary};

/// The statistic a clause constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest sample.
    Max,
    /// Arithmetic mean.
    Mean,
    /// Smallest sample.
    Min,
}

impl Stat {
    /// The name used in clauses and messages (`p99`, `max`, …).
    pub fn name(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::P999 => "p999",
            Stat::Max => "max",
            Stat::Mean => "mean",
            Stat::Min => "min",
        }
    }

    /// Fewest samples for which this statistic means what it says (see the
    /// [`latency`](crate::regress::latency) module docs).
    ///
    /// ```
    /// use perf_core::assert::Stat;
    /// assert_eq!(Stat::P99.min_samples(), 100);
    /// assert_eq!(Stat::P999.min_samples(), 1000);
    /// assert_eq!(Stat::Max.min_samples(), 1);
    /// ```
    pub fn min_samples(self) -> u64 {
        match self {
            Stat::P50 => 2,
            Stat::P90 => 10,
            Stat::P95 => 20,
            Stat::P99 => 100,
            Stat::P999 => 1000,
            Stat::Max | Stat::Mean | Stat::Min => 1,
        }
    }

    /// This statistic of `s`.
    pub fn of(self, s: &LatencySummary) -> Duration {
        match self {
            Stat::P50 => s.p50,
            Stat::P90 => s.p90,
            Stat::P95 => s.p95,
            Stat::P99 => s.p99,
            Stat::P999 => s.p999,
            Stat::Max => s.max,
            Stat::Mean => s.mean,
            Stat::Min => s.min,
        }
    }
}

/// The statistics by their clause names, for the macros.
#[doc(hidden)]
#[allow(non_upper_case_globals)]
pub mod __stat {
    use super::Stat;
    pub const p50: Stat = Stat::P50;
    pub const p90: Stat = Stat::P90;
    pub const p95: Stat = Stat::P95;
    pub const p99: Stat = Stat::P99;
    pub const p999: Stat = Stat::P999;
    pub const max: Stat = Stat::Max;
    pub const mean: Stat = Stat::Mean;
    pub const min: Stat = Stat::Min;
}

/// `<` or `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Strictly below.
    Lt,
    /// At or below.
    Le,
}

impl Cmp {
    pub(crate) fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Cmp::Lt => measured < limit,
            Cmp::Le => measured <= limit,
        }
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// A latency limit: a [`Duration`], [`ms`]/[`us`] of a number, or a string such as `"5ms"`
/// or `"250us"` (parsed by `humantime`). Checked when the assertion runs, so a NaN, negative
/// or unparsable limit is a clear [`LatencyAssertionError::InvalidThreshold`](crate::regress::latency::LatencyAssertionError::InvalidThreshold).
///
/// ```
/// use std::time::Duration;
/// use perf_core::assert::{ms, Threshold};
/// let a: Threshold = Duration::from_millis(5).into();
/// let b: Threshold = "5ms".into();
/// assert_eq!(a.nanos(), Ok(5e6));
/// assert_eq!(b.nanos(), Ok(5e6));
/// assert_eq!(ms(5).nanos(), Ok(5e6));
/// assert!(ms(f64::NAN).nanos().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold(ThresholdRepr);

#[derive(Debug, Clone, PartialEq)]
enum ThresholdRepr {
    Nanos(f64),
    Text(String),
}

impl Threshold {
    /// The limit in nanoseconds, or why it is not a usable limit.
    pub fn nanos(&self) -> Result<f64, String> {
        match &self.0 {
            ThresholdRepr::Nanos(n) if n.is_nan() => Err("it is NaN".into()),
            ThresholdRepr::Nanos(n) if *n < 0.0 => Err(format!("it is negative ({n} ns)")),
            ThresholdRepr::Nanos(n) if n.is_infinite() => Err("it is infinite".into()),
            ThresholdRepr::Nanos(n) => Ok(*n),
            ThresholdRepr::Text(t) => humantime::parse_duration(t.trim())
                .map(|d| d.as_nanos() as f64)
                .map_err(|e| {
                    format!("{t:?} is not a duration ({e}); write e.g. \"5ms\" or \"250us\"")
                }),
        }
    }
}

impl From<Duration> for Threshold {
    fn from(d: Duration) -> Self {
        Threshold(ThresholdRepr::Nanos(d.as_nanos() as f64))
    }
}

impl From<&str> for Threshold {
    fn from(s: &str) -> Self {
        Threshold(ThresholdRepr::Text(s.to_owned()))
    }
}

impl From<String> for Threshold {
    fn from(s: String) -> Self {
        Threshold(ThresholdRepr::Text(s))
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ThresholdRepr::Nanos(n) if n.is_finite() && *n >= 0.0 => {
                f.write_str(&format_duration(Duration::from_nanos(*n as u64)))
            }
            ThresholdRepr::Nanos(n) => write!(f, "{n}ns"),
            ThresholdRepr::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// A threshold of `v` milliseconds (`ms(2)`, `ms(0.5)`).
pub fn ms(v: impl Into<f64>) -> Threshold {
    Threshold(ThresholdRepr::Nanos(v.into() * 1e6))
}

/// A threshold of `v` microseconds (`us(250)`).
pub fn us(v: impl Into<f64>) -> Threshold {
    Threshold(ThresholdRepr::Nanos(v.into() * 1e3))
}

/// One condition, such as `p99 < 10ms`.
///
/// ```
/// use perf_core::assert::{ms, Clause, Cmp, Stat};
/// let c = Clause::new(Stat::P99, Cmp::Lt, ms(10));
/// assert_eq!(c.to_string(), "p99 < 10.0ms");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The statistic.
    pub stat: Stat,
    /// The comparison.
    pub cmp: Cmp,
    /// The limit, before scaling.
    pub threshold: Threshold,
}

impl Clause {
    /// `stat cmp threshold`.
    pub fn new(stat: Stat, cmp: Cmp, threshold: impl Into<Threshold>) -> Self {
        Clause {
            stat,
            cmp,
            threshold: threshold.into(),
        }
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.stat.name(),
            self.cmp.symbol(),
            self.threshold
        )
    }
}

/// Builds one [`Clause`] from `stat < limit` or `stat <= limit` tokens.
#[doc(hidden)]
#[macro_export]
macro_rules! __perf_clause {
    ($stat:ident < $thr:expr) => {
        $crate::regress::latency::Clause::new(
            $crate::regress::latency::__stat::$stat,
            $crate::regress::latency::Cmp::Lt,
            $thr,
        )
    };
    ($stat:ident <= $thr:expr) => {
        $crate::regress::latency::Clause::new(
            $crate::regress::latency::__stat::$stat,
            $crate::regress::latency::Cmp::Le,
            $thr,
        )
    };
    ($stat:ident $op:tt $thr:expr) => {
        ::core::compile_error!(::core::concat!(
            "a latency clause compares with `<` or `<=`, not `",
            ::core::stringify!($op),
            "`"
        ))
    };
}
