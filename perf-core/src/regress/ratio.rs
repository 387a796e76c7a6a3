//! Ratio assertions: [`assert_faster_than!`](crate::assert_faster_than) measures a
//! candidate and a reference interleaved in the same run and judges the ratio of their
//! medians, so the machine's speed (and its drift during the run) cancels out — the honest
//! way to assert speed on a shared CI machine.
//!
//! Rule: the assertion fails only when the whole confidence interval of
//! `median(candidate) / median(reference)` lies above the limit, i.e. when the data show
//! the candidate is slower than allowed; a noisy run widens the interval instead of failing.

use std::fmt;
use std::time::Duration;

use crate::regress::bootstrap::{
    bootstrap_setters, median_ratio, Bootstrap, CompareError, RatioEstimate,
};
use crate::regress::clause::Cmp;
use crate::regress::latency_failure::debug_is_display;
use crate::regress::sampler::{sampling_setters, summarize, SampleError, Sampler};
use crate::{format_duration, LatencySummary};

/// Why a ratio assertion failed or could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RatioAssertionError {
    /// The limit is not a positive finite number.
    #[error("invalid ratio limit {0}: give a finite number greater than 0, e.g. `ratio <= 1.1` for \"at most 10% slower\"")]
    InvalidLimit(f64),
    /// Measuring one side failed.
    #[error("measuring the {side}: {source}")]
    Sample {
        /// `"candidate"` or `"reference"`.
        side: &'static str,
        /// What went wrong.
        source: SampleError,
    },
    /// The samples could not be compared.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// The candidate is slower than the limit allows.
    #[error("{0}")]
    Exceeded(Box<RatioFailure>),
}

/// The details of a failed ratio assertion.
#[derive(Clone)]
pub struct RatioFailure {
    /// The estimate.
    pub estimate: RatioEstimate,
    /// `<` or `<=`.
    pub cmp: Cmp,
    /// The limit on the ratio.
    pub limit: f64,
    /// The candidate's samples.
    pub candidate: LatencySummary,
    /// The reference's samples.
    pub reference: LatencySummary,
}

debug_is_display!(RatioFailure);

impl fmt::Display for RatioFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.cmp.symbol();
        writeln!(
            f,
            "ratio assertion failed: `ratio {op} {}` does not hold: candidate median {} / reference median {} = {}",
            self.limit,
            format_duration(Duration::from_nanos(self.estimate.candidate_median_ns)),
            format_duration(Duration::from_nanos(self.estimate.reference_median_ns)),
            self.estimate
        )?;
        write!(
            f,
            "  the whole interval is above {}: the candidate is slower than allowed",
            self.limit
        )?;
        // `judge` alone has no samples to summarize.
        if self.candidate.count > 0 {
            write!(
                f,
                "\ncandidate: {}\nreference: {}",
                self.candidate, self.reference
            )?;
        }
        Ok(())
    }
}

fn check_limit(limit: f64) -> Result<(), RatioAssertionError> {
    if limit.is_finite() && limit > 0.0 {
        Ok(())
    } else {
        Err(RatioAssertionError::InvalidLimit(limit))
    }
}

/// Judges an estimate: fails only when its lower bound is above `limit` (`<=`), or at or
/// above it (`<`).
///
/// ```
/// use perf_core::assert::Cmp;
/// use perf_core::compare::{median_ratio, Bootstrap};
/// use perf_core::ratio::judge;
///
/// let reference: Vec<u64> = (0..200).map(|i| 1_000 + i % 30).collect();
/// let slower: Vec<u64> = reference.iter().map(|x| x * 3).collect();
/// let est = median_ratio(&slower, &reference, Bootstrap::default()).unwrap();
/// let err = judge(&est, Cmp::Le, 1.1).unwrap_err();
/// assert!(err.to_string().ends_with("the candidate is slower than allowed"), "{err}");
/// assert!(judge(&est, Cmp::Le, 4.0).is_ok());
/// ```
pub fn judge(estimate: &RatioEstimate, cmp: Cmp, limit: f64) -> Result<(), RatioAssertionError> {
    check_limit(limit)?;
    let exceeded = match cmp {
        Cmp::Le => estimate.lower > limit,
        Cmp::Lt => estimate.lower >= limit,
    };
    if exceeded {
        Err(RatioAssertionError::Exceeded(Box::new(RatioFailure {
            estimate: *estimate,
            cmp,
            limit,
            candidate: LatencySummary::default(),
            reference: LatencySummary::default(),
        })))
    } else {
        Ok(())
    }
}

/// Judges candidate and reference samples already measured.
pub fn check_ratio_samples(
    candidate_ns: &[u64],
    reference_ns: &[u64],
    cmp: Cmp,
    limit: f64,
    how: Bootstrap,
) -> Result<RatioEstimate, RatioAssertionError> {
    check_limit(limit)?;
    let estimate = median_ratio(candidate_ns, reference_ns, how)?;
    judge(&estimate, cmp, limit).map_err(|e| match e {
        RatioAssertionError::Exceeded(mut f) => {
            f.candidate = summarize(candidate_ns);
            f.reference = summarize(reference_ns);
            RatioAssertionError::Exceeded(f)
        }
        other => other,
    })?;
    Ok(estimate)
}

/// Measures a candidate and a reference interleaved and judges the ratio of medians.
///
/// Calls alternate A B, B A, A B, … so that neither side always runs first (warm caches,
/// turbo clocks). Defaults: 1000 samples per side after 100 warm-up calls per side, system
/// clock, 99% bootstrap interval.
///
/// ```
/// use std::time::Duration;
/// use perf_core::assert::Cmp;
/// use perf_core::clock::Clock;
/// use perf_core::ratio::RatioCheck;
///
/// let (clock, hand) = Clock::manual();
/// let est = RatioCheck::new().samples(100).warmup(0).clock(clock)
///     .run(|| hand.advance(Duration::from_micros(11)), || hand.advance(Duration::from_micros(10)), Cmp::Le, 1.2)
///     .unwrap();
/// assert!((est.ratio - 1.1).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RatioCheck {
    sampler: Sampler,
    bootstrap: Bootstrap,
}

impl RatioCheck {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    sampling_setters!("calls per side");

    bootstrap_setters!();

    /// Measures both closures interleaved, then judges `ratio cmp limit`.
    pub fn run<A, B>(
        &self,
        mut candidate: impl FnMut() -> A,
        mut reference: impl FnMut() -> B,
        cmp: Cmp,
        limit: f64,
    ) -> Result<RatioEstimate, RatioAssertionError> {
        check_limit(limit)?;
        let n = self.sampler.sample_count();
        if n == 0 {
            return Err(RatioAssertionError::Sample {
                side: "candidate",
                source: SampleError::NoSamples,
            });
        }
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let warmup = self.sampler.warmup_count();
        for round in 0..warmup + n {
            let (phase, idx) = if round < warmup {
                ("warm-up", round)
            } else {
                ("sample", round - warmup)
            };
            let (ta, tb) = if round % 2 == 0 {
                let ta = self.time_side("candidate", &mut candidate, phase, idx)?;
                (ta, self.time_side("reference", &mut reference, phase, idx)?)
            } else {
                let tb = self.time_side("reference", &mut reference, phase, idx)?;
                (self.time_side("candidate", &mut candidate, phase, idx)?, tb)
            };
            if round >= warmup {
                a.push(ta);
                b.push(tb);
            }
        }
        check_ratio_samples(&a, &b, cmp, limit, self.bootstrap)
    }

    /// Times one call of one side; a panic is reported with the side's name.
    fn time_side<R>(
        &self,
        side: &'static str,
        f: &mut impl FnMut() -> R,
        phase: &'static str,
        index: usize,
    ) -> Result<u64, RatioAssertionError> {
        self.sampler
            .time_one(f, phase, index)
            .map_err(|source| RatioAssertionError::Sample { side, source })
    }
}

/// Asserts that a candidate closure is at most `limit` times slower than a reference,
/// measured interleaved in the same run; evaluates to the
/// [`RatioEstimate`](crate::regress::bootstrap::RatioEstimate).
///
/// Neither closure may return a future (that does not compile: the future would be dropped
/// unpolled); run async work to completion inside the closure instead.
///
/// ```
/// use perf_core::assert_faster_than;
///
/// let data: Vec<u64> = (0..2_000).rev().collect();
/// // Sorting an already-sorted copy is not slower than sorting a reversed one, within 50%.
/// let sorted = { let mut d = data.clone(); d.sort(); d };
/// assert_faster_than!(samples = 200, warmup = 10;
///     || { let mut d = sorted.clone(); d.sort(); d },
///     || { let mut d = data.clone(); d.sort_by(|a, b| b.cmp(a).reverse()); d },
///     ratio <= 1.5);
/// ```
///
/// Options before a semicolon: `samples`, `warmup`, `clock`, `confidence`, `seed`.
///
/// # Panics
/// When the whole confidence interval of `median(candidate) / median(reference)` is above
/// the limit, or when the ratio cannot be measured (a closure panicked, a reference median
/// of 0, an invalid limit). [`RatioCheck`] returns the same as a `Result`.
#[macro_export]
macro_rules! assert_faster_than {
    ($($opt:ident = $val:expr),+ ; $cand:expr, $refr:expr, ratio $op:tt $limit:expr $(,)?) => {{
        let (candidate, reference) = ($cand, $refr);
        $crate::__perf_sync_only!(candidate);
        $crate::__perf_sync_only!(reference);
        $crate::regress::latency::__finish(
            $crate::regress::ratio::RatioCheck::new() $(.$opt($val))+
                .run(candidate, reference, $crate::__perf_cmp!($op), $limit),
        )
    }};
    ($cand:expr, $refr:expr, ratio $op:tt $limit:expr $(,)?) => {{
        let (candidate, reference) = ($cand, $refr);
        $crate::__perf_sync_only!(candidate);
        $crate::__perf_sync_only!(reference);
        $crate::regress::latency::__finish(
            $crate::regress::ratio::RatioCheck::new()
                .run(candidate, reference, $crate::__perf_cmp!($op), $limit),
        )
    }};
}

/// `<` or `<=` as a [`Cmp`].
#[doc(hidden)]
#[macro_export]
macro_rules! __perf_cmp {
    (<) => {
        $crate::regress::latency::Cmp::Lt
    };
    (<=) => {
        $crate::regress::latency::Cmp::Le
    };
    ($op:tt) => {
        ::core::compile_error!(::core::concat!(
            "a ratio assertion compares with `<` or `<=`, not `",
            ::core::stringify!($op),
            "`"
        ))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn interleaving_alternates_and_warmup_is_discarded() {
        let (clock, hand) = Clock::manual();
        let order = std::cell::RefCell::new(String::new());
        let est = RatioCheck::new()
            .samples(4)
            .warmup(1)
            .clock(clock)
            .run(
                || {
                    order.borrow_mut().push('A');
                    hand.advance(Duration::from_nanos(300));
                },
                || {
                    order.borrow_mut().push('B');
                    hand.advance(Duration::from_nanos(100));
                },
                Cmp::Le,
                5.0,
            )
            .unwrap();
        assert_eq!(order.into_inner(), "ABBAABBAAB");
        assert_eq!(est.ratio, 3.0);
        assert_eq!(
            (est.candidate_median_ns, est.reference_median_ns),
            (300, 100)
        );
    }

    #[test]
    fn panicking_side_is_named() {
        let err = RatioCheck::new()
            .samples(10)
            .warmup(0)
            .run(|| (), || panic!("reference broke"), Cmp::Le, 1.0)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("measuring the reference"), "{msg}");
        assert!(msg.contains("reference broke"), "{msg}");
    }

    #[test]
    fn bad_limits() {
        for l in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                RatioCheck::new().samples(1).run(|| (), || (), Cmp::Le, l),
                Err(RatioAssertionError::InvalidLimit(_))
            ));
        }
    }

    #[test]
    fn lt_fails_on_equality_le_does_not() {
        let a = vec![200u64; 50];
        let b = vec![100u64; 50];
        assert!(check_ratio_samples(&a, &b, Cmp::Le, 2.0, Bootstrap::default()).is_ok());
        let err = check_ratio_samples(&a, &b, Cmp::Lt, 2.0, Bootstrap::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`ratio < 2` does not hold"), "{msg}");
        assert!(msg.contains("candidate: n=50"), "{msg}");
    }
}
