//! The statistics behind the baseline and ratio assertions: a seeded bootstrap confidence
//! interval on the ratio of two medians. Seeded, so the same samples always give the same
//! interval and CI never flakes on the statistics themselves.
//!
//! Why this method: a ratio of medians is what a person means by "30% slower", the median
//! ignores the rare scheduler hiccup that wrecks a mean, and the percentile bootstrap needs
//! no assumption about the shape of latency distributions (skewed, multi-modal).

use std::fmt;

/// Confidence level of the interval when a check does not say. 99%: a false alarm on CI
/// costs more than a regression caught one run later.
pub const DEFAULT_CONFIDENCE: f64 = 0.99;

/// Bootstrap resamples when a check does not say.
pub const DEFAULT_RESAMPLES: usize = 2000;

/// Seed of the bootstrap's generator when a check does not say.
pub const DEFAULT_SEED: u64 = 0x7065_7266_5f62_7374; // "perf_bst"

/// The two sample sets cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// One side has no samples.
    #[error("the {0} samples are empty: measure at least one call on each side")]
    Empty(&'static str),
    /// The reference median is zero, so no ratio exists.
    #[error("the reference median is 0 ns, so a ratio is undefined: measure work that takes measurable time (or a coarser unit of work)")]
    ZeroReference,
    /// The confidence level is not strictly between 0 and 1.
    #[error("confidence level {0} is not between 0 and 1 (exclusive): use e.g. 0.95 or 0.99")]
    InvalidConfidence(f64),
    /// Zero resamples were asked for.
    #[error("0 bootstrap resamples: use at least 100 (the default is {DEFAULT_RESAMPLES})")]
    NoResamples,
}

/// `median(candidate) / median(reference)` with a bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioEstimate {
    /// The point estimate: > 1 means the candidate is slower.
    pub ratio: f64,
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound of the interval.
    pub upper: f64,
    /// Confidence level of the interval (0.99 = 99%).
    pub confidence: f64,
    /// Median of the candidate samples, in nanoseconds.
    pub candidate_median_ns: u64,
    /// Median of the reference samples, in nanoseconds.
    pub reference_median_ns: u64,
}

impl fmt::Display for RatioEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ratio of medians {:.3} ({:.0}% CI {:.3}..{:.3})",
            self.ratio,
            self.confidence * 100.0,
            self.lower,
            self.upper
        )
    }
}

/// How to bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    /// Confidence level, strictly between 0 and 1.
    pub confidence: f64,
    /// Number of resamples.
    pub resamples: usize,
    /// Generator seed.
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            confidence: DEFAULT_CONFIDENCE,
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
        }
    }
}

/// SplitMix64: tiny, fast, and good enough to draw resampling indices.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2⁻³² for the sizes used here).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// The lower median of sorted `xs` (the element at rank ⌈n/2⌉).
fn median_sorted(xs: &[u64]) -> u64 {
    xs[(xs.len() - 1) / 2]
}

/// The median of a bootstrap resample of sorted `xs`: draws `n` indices with replacement
/// and counts them, so that the resample's median is read off without sorting it.
fn resampled_median(xs: &[u64], counts: &mut [u32], rng: &mut SplitMix64) -> u64 {
    counts.iter_mut().for_each(|c| *c = 0);
    for _ in 0..xs.len() {
        counts[rng.below(xs.len())] += 1;
    }
    let rank = (xs.len() - 1) / 2;
    let mut seen = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        seen += c as usize;
        if seen > rank {
            return xs[i];
        }
    }
    xs[xs.len() - 1]
}

/// The median of `samples` (lower median for an even count), `None` if empty.
///
/// ```
/// assert_eq!(perf_core::compare::median(&[5, 1, 3, 2]), Some(2));
/// ```
pub fn median(samples: &[u64]) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_unstable();
    Some(median_sorted(&v))
}

/// Estimates `median(candidate) / median(reference)` with a percentile-bootstrap interval:
/// each side is resampled independently `resamples` times and the interval is read from the
/// resampled ratios. Deterministic for a given `seed`.
///
/// ```
/// use perf_core::compare::{median_ratio, Bootstrap};
/// let reference: Vec<u64> = (0..500).map(|i| 1_000 + i % 50).collect();
/// let candidate: Vec<u64> = reference.iter().map(|x| x * 2).collect();
/// let est = median_ratio(&candidate, &reference, Bootstrap::default()).unwrap();
/// assert!(est.lower > 1.9 && est.upper < 2.1, "{est}");
/// ```
pub fn median_ratio(
    candidate: &[u64],
    reference: &[u64],
    how: Bootstrap,
) -> Result<RatioEstimate, CompareError> {
    if candidate.is_empty() {
        return Err(CompareError::Empty("candidate"));
    }
    if reference.is_empty() {
        return Err(CompareError::Empty("reference"));
    }
    if !(how.confidence > 0.0 && how.confidence < 1.0) {
        return Err(CompareError::InvalidConfidence(how.confidence));
    }
    if how.resamples == 0 {
        return Err(CompareError::NoResamples);
    }
    let mut a = candidate.to_vec();
    let mut b = reference.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    let (ma, mb) = (median_sorted(&a), median_sorted(&b));
    if mb == 0 {
        return Err(CompareError::ZeroReference);
    }
    let mut rng = SplitMix64(how.seed);
    let (mut ca, mut cb) = (vec![0u32; a.len()], vec![0u32; b.len()]);
    let mut ratios: Vec<f64> = (0..how.resamples)
        .map(|_| {
            let ra = resampled_median(&a, &mut ca, &mut rng) as f64;
            // A resampled reference median of 0 is possible only if most reference samples
            // are 0; such a resample says "infinitely slower", which sorts to the top.
            let rb = resampled_median(&b, &mut cb, &mut rng) as f64;
            if rb == 0.0 {
                f64::INFINITY
            } else {
                ra / rb
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let alpha = 1.0 - how.confidence;
    let n = ratios.len();
    let lo_idx = ((alpha / 2.0) * n as f64).floor() as usize;
    let hi_idx = (((1.0 - alpha / 2.0) * n as f64).ceil() as usize).clamp(1, n) - 1;
    Ok(RatioEstimate {
        ratio: ma as f64 / mb as f64,
        lower: ratios[lo_idx.min(n - 1)],
        upper: ratios[hi_idx],
        confidence: how.confidence,
        candidate_median_ns: ma,
        reference_median_ns: mb,
    })
}

/// The `confidence` and `seed` methods of an assertion builder that holds a
/// `bootstrap: Bootstrap` ([`RatioCheck`](crate::regress::ratio::RatioCheck),
/// [`BaselineCheck`](crate::regress::baseline::BaselineCheck)), written once for both.
macro_rules! bootstrap_setters {
    () => {
        /// Confidence level of the interval (default 0.99).
        pub fn confidence(mut self, level: f64) -> Self {
            self.bootstrap.confidence = level;
            self
        }

        /// Bootstrap seed (default [`DEFAULT_SEED`](crate::regress::bootstrap::DEFAULT_SEED)).
        pub fn seed(mut self, seed: u64) -> Self {
            self.bootstrap.seed = seed;
            self
        }
    };
}
pub(crate) use bootstrap_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_constant_samples_give_a_point_interval() {
        let x = vec![1_000u64; 100];
        let e = median_ratio(&x, &x, Bootstrap::default()).unwrap();
        assert_eq!((e.ratio, e.lower, e.upper), (1.0, 1.0, 1.0));
    }

    #[test]
    fn same_seed_same_interval_other_seed_differs() {
        let a: Vec<u64> = (0..300).map(|i| 1_000 + (i * 7919) % 500).collect();
        let b: Vec<u64> = (0..300).map(|i| 1_000 + (i * 104_729) % 520).collect();
        let one = median_ratio(&a, &b, Bootstrap::default()).unwrap();
        let two = median_ratio(&a, &b, Bootstrap::default()).unwrap();
        assert_eq!(one, two);
        let other = median_ratio(
            &a,
            &b,
            Bootstrap {
                seed: 1,
                ..Bootstrap::default()
            },
        )
        .unwrap();
        assert_ne!(one.lower, other.lower);
        assert!(one.lower <= one.ratio && one.ratio <= one.upper, "{one}");
    }

    #[test]
    fn bad_inputs() {
        let x = [1u64, 2, 3];
        assert_eq!(
            median_ratio(&[], &x, Bootstrap::default()),
            Err(CompareError::Empty("candidate"))
        );
        assert_eq!(
            median_ratio(&x, &[], Bootstrap::default()),
            Err(CompareError::Empty("reference"))
        );
        assert_eq!(
            median_ratio(&x, &[0, 0, 1], Bootstrap::default()),
            Err(CompareError::ZeroReference)
        );
        for c in [0.0, 1.0, f64::NAN] {
            assert!(matches!(
                median_ratio(
                    &x,
                    &x,
                    Bootstrap {
                        confidence: c,
                        ..Bootstrap::default()
                    }
                ),
                Err(CompareError::InvalidConfidence(_))
            ));
        }
        assert_eq!(
            median_ratio(
                &x,
                &x,
                Bootstrap {
                    resamples: 0,
                    ..Bootstrap::default()
                }
            ),
            Err(CompareError::NoResamples)
        );
    }

    #[test]
    fn median_is_lower_median() {
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median(&[9]), Some(9));
        assert_eq!(median(&[]), None);
    }
}
