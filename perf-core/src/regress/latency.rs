//! Latency assertions for tests: [`assert_latency!`](crate::assert_latency) and
//! [`assert_latency_async!`](crate::assert_latency_async) measure a closure (or judge a
//! summary already recorded) against clauses such as `p99 < ms(10)`, refuse to judge a
//! percentile from too few samples, and explain a failure with the summary and a histogram.
//!
//! The decision is made by plain functions ([`check_summary`], [`check_samples`],
//! [`LatencyCheck::run`]) that return `Result<_, LatencyAssertionError>`; the macros only
//! panic with that error's message, like `assert!`.
//!
//! # Thresholds on CI
//! `PERF_LATENCY_SCALE=2` multiplies every threshold by 2 (see [`env`](mod@env)), so
//! the same test runs on a laptop and on a slower shared CI runner.
//!
//! # Sample-size rule
//! A clause on quantile `q` needs at least `⌈1 / (1 − q)⌉` samples — p50 needs 2, p90 10,
//! p95 20, p99 100, p999 1000 — since with fewer the nearest-rank percentile is simply the
//! maximum and the clause would silently judge something else. `min`, `max` and `mean` need 1.

use std::fmt::{self, Write as _};
use std::future::Future;
use std::time::Duration;

use crate::clock::Clock;
use crate::regress::env::{self, EnvError};
use crate::regress::sampler::{SampleError, Sampler};
use crate::{format_duration, LatencyHistogram, LatencySummary};

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

    /// Fewest samples for which this statistic means what it says (see the module docs).
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
    fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Cmp::Lt => measured < limit,
            Cmp::Le => measured <= limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// A latency limit: a [`Duration`], [`ms`]/[`us`] of a number, or a string such as `"5ms"`
/// or `"250us"` (parsed by `humantime`). Checked when the assertion runs, so a NaN, negative
/// or unparsable limit is a clear [`LatencyAssertionError::InvalidThreshold`].
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

impl fmt::Debug for LatencyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

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

/// A latency assertion could not be made, or did not hold.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LatencyAssertionError {
    /// Measuring the closure failed (zero samples, or it panicked).
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// The summary to judge holds no samples.
    #[error("the latency summary holds no samples: record some calls before asserting on it (is the name right? did the code run?)")]
    EmptySummary,
    /// No clause was given.
    #[error("no latency clause given: write at least one, e.g. `p99 < ms(10)`")]
    NoClauses,
    /// A threshold is not a usable duration.
    #[error("invalid threshold in `{clause}`: {reason}; give a non-negative duration such as ms(10), Duration::from_millis(10) or \"10ms\"")]
    InvalidThreshold {
        /// The clause as written.
        clause: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The threshold scale is not a positive number.
    #[error("invalid threshold scale {0}: give a finite number greater than 0")]
    InvalidScale(f64),
    /// `PERF_LATENCY_SCALE` holds a value perf cannot use.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// Too few samples to judge a percentile.
    #[error("`{clause}` needs at least {needed} samples to be judged (with fewer, {stat} is just the maximum) but there are {have}: set `samples = {needed}` or more, or assert on `max`")]
    TooFewSamples {
        /// The clause as written.
        clause: String,
        /// Its statistic's name.
        stat: &'static str,
        /// Samples needed.
        needed: u64,
        /// Samples there are.
        have: u64,
    },
    /// At least one clause did not hold.
    #[error("{0}")]
    Failed(Box<LatencyFailure>),
}

fn validate(clauses: &[Clause], scale: f64, count: u64) -> Result<Vec<f64>, LatencyAssertionError> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(LatencyAssertionError::InvalidScale(scale));
    }
    if clauses.is_empty() {
        return Err(LatencyAssertionError::NoClauses);
    }
    let mut limits = Vec::with_capacity(clauses.len());
    for c in clauses {
        let nanos =
            c.threshold
                .nanos()
                .map_err(|reason| LatencyAssertionError::InvalidThreshold {
                    clause: c.to_string(),
                    reason,
                })?;
        if count < c.stat.min_samples() {
            return Err(LatencyAssertionError::TooFewSamples {
                clause: c.to_string(),
                stat: c.stat.name(),
                needed: c.stat.min_samples(),
                have: count,
            });
        }
        limits.push(nanos * scale);
    }
    Ok(limits)
}

/// Judges `summary` against `clauses`, each threshold multiplied by `scale`.
///
/// ```
/// use perf_core::assert::{check_summary, ms, Clause, Cmp, Stat};
/// use perf_core::LatencyHistogram;
///
/// let h = LatencyHistogram::new();
/// for i in 0..200u64 { h.record_nanos(1_000_000 + i * 1_000); }
/// let s = h.summary();
/// assert!(check_summary(&s, &[Clause::new(Stat::P99, Cmp::Lt, ms(2))], 1.0).is_ok());
/// let err = check_summary(&s, &[Clause::new(Stat::P50, Cmp::Lt, ms(1))], 1.0).unwrap_err();
/// assert!(err.to_string().contains("p50 < 1.00ms"));
/// ```
pub fn check_summary(
    summary: &LatencySummary,
    clauses: &[Clause],
    scale: f64,
) -> Result<(), LatencyAssertionError> {
    if summary.count == 0 {
        return Err(LatencyAssertionError::EmptySummary);
    }
    let limits = validate(clauses, scale, summary.count)?;
    let failures: Vec<ClauseFailure> = clauses
        .iter()
        .zip(limits)
        .filter_map(|(c, limit)| {
            let measured = c.stat.of(summary);
            (!c.cmp.holds(measured.as_nanos() as f64, limit)).then(|| ClauseFailure {
                clause: c.clone(),
                limit_nanos: limit,
                measured,
            })
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(LatencyAssertionError::Failed(Box::new(LatencyFailure {
            failures,
            scale,
            summary: summary.clone(),
        })))
    }
}

/// Builds the summary of `samples_ns` and judges it with [`check_summary`]; returns the
/// summary.
pub fn check_samples(
    samples_ns: &[u64],
    clauses: &[Clause],
    scale: f64,
) -> Result<LatencySummary, LatencyAssertionError> {
    if samples_ns.is_empty() {
        return Err(SampleError::NoSamples.into());
    }
    let summary = summarize(samples_ns);
    check_summary(&summary, clauses, scale)?;
    Ok(summary)
}

pub(crate) fn summarize(samples_ns: &[u64]) -> LatencySummary {
    let h = LatencyHistogram::new();
    for &s in samples_ns {
        h.record_nanos(s);
    }
    h.summary()
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

/// How an assertion measures: samples, warm-up, clock, threshold scale. The macros'
/// options (`samples = 200, warmup = 20;`) call these methods.
///
/// Defaults: [`DEFAULT_SAMPLES`](crate::regress::sampler::DEFAULT_SAMPLES) (1000) samples after
/// [`DEFAULT_WARMUP`](crate::regress::sampler::DEFAULT_WARMUP) (100) warm-up calls, the system clock,
/// and the scale from `PERF_LATENCY_SCALE` (1 when unset).
///
/// ```
/// use std::time::Duration;
/// use perf_core::assert::{ms, Clause, Cmp, LatencyCheck, Stat};
/// use perf_core::clock::Clock;
///
/// let (clock, hand) = Clock::manual();
/// let summary = LatencyCheck::new()
///     .samples(100)
///     .warmup(0)
///     .clock(clock)
///     .scale(1.0)
///     .run(|| hand.advance(Duration::from_micros(500)), &[Clause::new(Stat::P99, Cmp::Lt, ms(1))])
///     .unwrap();
/// assert_eq!(summary.count, 100);
/// ```
#[derive(Clone, Debug, Default)]
pub struct LatencyCheck {
    sampler: Sampler,
    scale: Option<f64>,
}

impl LatencyCheck {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of timed calls.
    pub fn samples(mut self, n: usize) -> Self {
        self.sampler = self.sampler.samples(n);
        self
    }

    /// Number of untimed calls first.
    pub fn warmup(mut self, n: usize) -> Self {
        self.sampler = self.sampler.warmup(n);
        self
    }

    /// The clock to read.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.sampler = self.sampler.clock(clock);
        self
    }

    /// Multiplies every threshold by `scale` instead of reading `PERF_LATENCY_SCALE`.
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = Some(scale);
        self
    }

    fn resolved_scale(&self) -> Result<f64, LatencyAssertionError> {
        match self.scale {
            Some(s) => Ok(s),
            None => Ok(env::latency_scale()?),
        }
    }

    fn validate_before_sampling(
        &self,
        clauses: &[Clause],
        scale: f64,
    ) -> Result<(), LatencyAssertionError> {
        if self.sampler.sample_count() == 0 {
            return Err(SampleError::NoSamples.into());
        }
        validate(clauses, scale, self.sampler.sample_count() as u64).map(drop)
    }

    /// Measures `f` and judges the samples; returns their summary.
    ///
    /// Bad clauses and too-small sample counts are reported before `f` runs at all.
    pub fn run<R>(
        &self,
        f: impl FnMut() -> R,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        let scale = self.resolved_scale()?;
        self.validate_before_sampling(clauses, scale)?;
        let samples = self.sampler.run(f)?;
        check_samples(&samples, clauses, scale)
    }

    /// The async form of [`run`](Self::run): awaits each future `f` makes on the caller's
    /// runtime.
    pub async fn run_async<F, Fut>(
        &self,
        f: F,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError>
    where
        F: FnMut() -> Fut,
        Fut: Future,
    {
        let scale = self.resolved_scale()?;
        self.validate_before_sampling(clauses, scale)?;
        let samples = self.sampler.run_async(f).await?;
        check_samples(&samples, clauses, scale)
    }

    /// Judges a summary already recorded (only the scale of this check applies).
    pub fn check(
        &self,
        summary: &LatencySummary,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        check_summary(summary, clauses, self.resolved_scale()?)?;
        Ok(summary.clone())
    }
}

/// What `assert_latency!` accepts before its clauses: a closure to measure, or a
/// [`LatencySummary`] (owned, borrowed, or the `Option` that
/// [`perf_core::summary`](crate::summary) returns) to judge as it is.
pub trait LatencySubject {
    /// Measures or reads the subject and judges it.
    fn check_with(
        self,
        check: &LatencyCheck,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError>;
}

impl<F, R> LatencySubject for F
where
    F: FnMut() -> R,
{
    fn check_with(
        self,
        check: &LatencyCheck,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        check.run(self, clauses)
    }
}

impl LatencySubject for LatencySummary {
    fn check_with(
        self,
        check: &LatencyCheck,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        check.check(&self, clauses)
    }
}

/// What [`summary`](crate::summary) returns: `None` (nothing recorded under that name) is
/// an [`EmptySummary`](LatencyAssertionError::EmptySummary) failure, not a pass.
impl LatencySubject for Option<LatencySummary> {
    fn check_with(
        self,
        check: &LatencyCheck,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        match self {
            Some(s) => check.check(&s, clauses),
            None => Err(LatencyAssertionError::EmptySummary),
        }
    }
}

impl LatencySubject for &LatencySummary {
    fn check_with(
        self,
        check: &LatencyCheck,
        clauses: &[Clause],
    ) -> Result<LatencySummary, LatencyAssertionError> {
        check.check(self, clauses)
    }
}

/// Unwraps an assertion's result, panicking with its message at the caller's line.
#[doc(hidden)]
#[track_caller]
pub fn __finish<T, E: fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Builds one [`Clause`] from `stat < limit` or `stat <= limit` tokens.
#[doc(hidden)]
#[macro_export]
macro_rules! __perf_clause {
    ($stat:ident < $thr:expr) => {
        $crate::regress::latency::Clause::new($crate::regress::latency::__stat::$stat, $crate::regress::latency::Cmp::Lt, $thr)
    };
    ($stat:ident <= $thr:expr) => {
        $crate::regress::latency::Clause::new($crate::regress::latency::__stat::$stat, $crate::regress::latency::Cmp::Le, $thr)
    };
    ($stat:ident $op:tt $thr:expr) => {
        ::core::compile_error!(::core::concat!(
            "a latency clause compares with `<` or `<=`, not `",
            ::core::stringify!($op),
            "`"
        ))
    };
}

/// Asserts on the latency of a closure, or of a summary already recorded.
///
/// ```
/// use perf_core::assert::{ms, us};
/// use perf_core::assert_latency;
///
/// // Measure a closure: 100 warm-up calls, then 1000 samples (the defaults).
/// assert_latency!(|| (0..100u64).sum::<u64>(), p50 < ms(5), p99 <= ms(50));
///
/// // Options before a semicolon: samples, warmup, scale, clock.
/// let summary = assert_latency!(samples = 200, warmup = 20; || std::hint::black_box(1 + 1), p99 < "20ms");
/// assert_eq!(summary.count, 200);
///
/// // Judge a summary you already have.
/// assert_latency!(&summary, max < ms(100), mean < us(10_000));
///
/// // Or what `#[timed]` / `perf_core::time` recorded under a name.
/// for _ in 0..100 {
///     let _t = perf_core::time("doc_checkout");
/// }
/// assert_latency!(perf_core::summary("doc_checkout"), p99 < ms(50));
/// ```
///
/// Clauses: `p50 p90 p95 p99 p999 max mean min`, with `<` or `<=`, against a
/// [`Threshold`]: a `Duration`, [`ms`], [`us`] or a string like `"5ms"`. Every threshold is
/// multiplied by `PERF_LATENCY_SCALE` when set. Evaluates to the [`LatencySummary`].
///
/// # Panics
/// When a clause does not hold — with every failing clause, its measured value, the whole
/// summary and an ASCII histogram — or when the assertion cannot be judged: too few
/// samples for a percentile, a NaN/negative threshold, a panicking closure. Use
/// [`LatencyCheck`] for the same logic returning a `Result`.
///
/// ```should_panic
/// use perf_core::{assert::ms, assert_latency};
/// // p99 needs at least 100 samples: this panics instead of judging the maximum.
/// assert_latency!(samples = 50; || (), p99 < ms(10));
/// ```
#[macro_export]
macro_rules! assert_latency {
    ($($opt:ident = $val:expr),+ ; $subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {
        $crate::regress::latency::__finish($crate::regress::latency::LatencySubject::check_with(
            $subject,
            &$crate::regress::latency::LatencyCheck::new() $(.$opt($val))+,
            &[$($crate::__perf_clause!($stat $op $thr)),+],
        ))
    };
    ($subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {
        $crate::regress::latency::__finish($crate::regress::latency::LatencySubject::check_with(
            $subject,
            &$crate::regress::latency::LatencyCheck::new(),
            &[$($crate::__perf_clause!($stat $op $thr)),+],
        ))
    };
}

/// [`assert_latency!`] for async code: takes a closure that returns a future, awaits each
/// on the current runtime (so use it inside `#[tokio::test]` or any async fn), and times
/// each future from creation to completion.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// # rt.block_on(async {
/// use perf_core::{assert::ms, assert_latency_async};
///
/// assert_latency_async!(samples = 100, warmup = 5; || async { tokio::task::yield_now().await }, p99 < ms(50));
/// # });
/// ```
#[macro_export]
macro_rules! assert_latency_async {
    ($($opt:ident = $val:expr),+ ; $subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {
        $crate::regress::latency::__finish(
            $crate::regress::latency::LatencyCheck::new() $(.$opt($val))+
                .run_async($subject, &[$($crate::__perf_clause!($stat $op $thr)),+])
                .await,
        )
    };
    ($subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {
        $crate::regress::latency::__finish(
            $crate::regress::latency::LatencyCheck::new()
                .run_async($subject, &[$($crate::__perf_clause!($stat $op $thr)),+])
                .await,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform_us(n: u64) -> Vec<u64> {
        (1..=n).map(|i| i * 1_000).collect()
    }

    #[test]
    fn percentile_guard_counts() {
        let c = [Clause::new(Stat::P99, Cmp::Lt, ms(1000))];
        let err = check_samples(&uniform_us(99), &c, 1.0).unwrap_err();
        match &err {
            LatencyAssertionError::TooFewSamples { needed, have, .. } => {
                assert_eq!((*needed, *have), (100, 99))
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("at least 100 samples"), "{err}");
        assert!(err.to_string().contains("there are 99"), "{err}");
        assert!(check_samples(&uniform_us(100), &c, 1.0).is_ok());
        let c = [Clause::new(Stat::P999, Cmp::Lt, ms(1000))];
        assert!(check_samples(&uniform_us(999), &c, 1.0).is_err());
        assert!(check_samples(&uniform_us(1000), &c, 1.0).is_ok());
        let c = [Clause::new(Stat::Max, Cmp::Lt, ms(1000))];
        assert!(check_samples(&uniform_us(1), &c, 1.0).is_ok());
    }

    #[test]
    fn lt_and_le_at_the_boundary() {
        let s = summarize(&[5_000_000; 10]);
        let le = [Clause::new(Stat::Max, Cmp::Le, ms(5))];
        let lt = [Clause::new(Stat::Max, Cmp::Lt, ms(5))];
        assert!(check_summary(&s, &le, 1.0).is_ok());
        assert!(check_summary(&s, &lt, 1.0).is_err());
    }

    #[test]
    fn scale_multiplies_every_threshold() {
        let s = summarize(&uniform_us(1000));
        let c = [
            Clause::new(Stat::P50, Cmp::Lt, us(400)),
            Clause::new(Stat::Max, Cmp::Lt, us(600)),
        ];
        let err = check_summary(&s, &c, 1.0).unwrap_err();
        let LatencyAssertionError::Failed(f) = err else {
            panic!()
        };
        assert_eq!(f.failures.len(), 2);
        assert!(check_summary(&s, &c, 2.0).is_ok());
        assert!(matches!(
            check_summary(&s, &c, 0.0),
            Err(LatencyAssertionError::InvalidScale(_))
        ));
        assert!(matches!(
            check_summary(&s, &c, f64::NAN),
            Err(LatencyAssertionError::InvalidScale(_))
        ));
    }

    #[test]
    fn bad_thresholds_are_named() {
        let s = summarize(&uniform_us(10));
        for t in [
            ms(f64::NAN),
            ms(-1),
            us(f64::INFINITY),
            Threshold::from("fast"),
        ] {
            let err = check_summary(&s, &[Clause::new(Stat::Max, Cmp::Lt, t)], 1.0).unwrap_err();
            assert!(
                matches!(err, LatencyAssertionError::InvalidThreshold { .. }),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("invalid threshold in `max <"),
                "{err}"
            );
        }
    }

    #[test]
    fn empty_inputs() {
        assert!(matches!(
            check_samples(&[], &[Clause::new(Stat::Max, Cmp::Lt, ms(1))], 1.0),
            Err(LatencyAssertionError::Sample(SampleError::NoSamples))
        ));
        assert!(matches!(
            check_summary(
                &LatencySummary::default(),
                &[Clause::new(Stat::Max, Cmp::Lt, ms(1))],
                1.0
            ),
            Err(LatencyAssertionError::EmptySummary)
        ));
        assert!(matches!(
            check_samples(&[1], &[], 1.0),
            Err(LatencyAssertionError::NoClauses)
        ));
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
