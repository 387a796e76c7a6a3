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

use std::fmt;
use std::future::Future;

#[doc(hidden)]
pub use crate::regress::clause::__stat;
pub use crate::regress::clause::{ms, us, Clause, Cmp, Stat, Threshold};
use crate::regress::env::{self, EnvError};
pub use crate::regress::latency_failure::{ascii_histogram, ClauseFailure, LatencyFailure};
use crate::regress::sampler::{sampling_setters, summarize, SampleError, Sampler};
use crate::LatencySummary;

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

    sampling_setters!("calls");

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
        (&self).check_with(check, clauses)
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
        self.as_ref()
            .ok_or(LatencyAssertionError::EmptySummary)?
            .check_with(check, clauses)
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

/// Asserts on the latency of a closure, or of a summary already recorded.
///
/// A closure that returns a future (`|| async { .. }`) does not compile here: it would be
/// created and dropped unpolled, timing nothing. Use
/// [`assert_latency_async!`](crate::assert_latency_async) for it.
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
    ($($opt:ident = $val:expr),+ ; $subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {{
        let subject = $subject;
        $crate::__perf_sync_only!(subject);
        $crate::regress::latency::__finish($crate::regress::latency::LatencySubject::check_with(
            subject,
            &$crate::regress::latency::LatencyCheck::new() $(.$opt($val))+,
            &[$($crate::__perf_clause!($stat $op $thr)),+],
        ))
    }};
    ($subject:expr, $($stat:ident $op:tt $thr:expr),+ $(,)?) => {{
        let subject = $subject;
        $crate::__perf_sync_only!(subject);
        $crate::regress::latency::__finish($crate::regress::latency::LatencySubject::check_with(
            subject,
            &$crate::regress::latency::LatencyCheck::new(),
            &[$($crate::__perf_clause!($stat $op $thr)),+],
        ))
    }};
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
}
