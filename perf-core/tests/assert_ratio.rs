//! `assert_faster_than!` and the ratio decision on seeded synthetic samples: an A/A
//! comparison never fails, a 2× slowdown always does.

use std::time::Duration;

use perf_core::assert::Cmp;
use perf_core::assert_faster_than;
use perf_core::clock::Clock;
use perf_core::compare::Bootstrap;
use perf_core::ratio::{check_ratio_samples, RatioAssertionError, RatioCheck};

/// SplitMix64, so the synthetic samples are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A right-skewed latency around `median_ns` (log-normal, σ = 0.3) with 2% outliers
    /// at 5×, like a service call on a noisy machine.
    fn latency(&mut self, median_ns: f64) -> u64 {
        let (u1, u2) = (self.next().max(1e-12), self.next());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let outlier = if self.next() < 0.02 { 5.0 } else { 1.0 };
        (median_ns * (0.3 * z).exp() * outlier) as u64
    }

    fn draw(&mut self, n: usize, median_ns: f64) -> Vec<u64> {
        (0..n).map(|_| self.latency(median_ns)).collect()
    }
}

#[test]
fn a_a_passes_50_of_50() {
    for seed in 0..50 {
        let mut rng = Rng(seed);
        let a = rng.draw(200, 1e6);
        let b = rng.draw(200, 1e6);
        let est = check_ratio_samples(&a, &b, Cmp::Le, 1.1, Bootstrap::default())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(est.lower < 1.0 && est.upper > 1.0, "seed {seed}: {est}");
    }
}

#[test]
fn twice_as_slow_fails_50_of_50() {
    for seed in 100..150 {
        let mut rng = Rng(seed);
        let candidate = rng.draw(200, 2e6);
        let reference = rng.draw(200, 1e6);
        let err = check_ratio_samples(&candidate, &reference, Cmp::Le, 1.1, Bootstrap::default())
            .unwrap_err();
        let RatioAssertionError::Exceeded(f) = &err else {
            panic!("seed {seed}: {err:?}")
        };
        assert!(
            f.estimate.lower > 1.5 && f.estimate.upper < 2.6,
            "seed {seed}: {}",
            f.estimate
        );
    }
}

#[test]
fn failure_message_shows_ratio_interval_and_both_summaries() {
    let mut rng = Rng(7);
    let candidate = rng.draw(200, 3e6);
    let reference = rng.draw(200, 1e6);
    let msg = check_ratio_samples(&candidate, &reference, Cmp::Lt, 1.2, Bootstrap::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`ratio < 1.2` does not hold"), "{msg}");
    assert!(
        msg.contains("ratio of medians 2.9")
            || msg.contains("ratio of medians 3.0")
            || msg.contains("ratio of medians 3.1"),
        "{msg}"
    );
    assert!(msg.contains("99% CI"), "{msg}");
    assert!(
        msg.contains("candidate: n=200") && msg.contains("reference: n=200"),
        "{msg}"
    );
}

#[test]
fn macro_measures_interleaved_on_a_manual_clock() {
    let (clock, hand) = Clock::manual();
    let est = assert_faster_than!(samples = 100, warmup = 5, clock = clock.clone();
        || hand.advance(Duration::from_micros(105)),
        || hand.advance(Duration::from_micros(100)),
        ratio <= 1.1);
    assert!((est.ratio - 1.05).abs() < 1e-9, "{est:?}");

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_faster_than!(samples = 100, warmup = 0, clock = clock;
            || hand.advance(Duration::from_micros(200)),
            || hand.advance(Duration::from_micros(100)),
            ratio < 1.5);
    }));
    let msg = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("candidate median 200µs / reference median 100µs"),
        "{msg}"
    );
}

#[test]
fn real_closures_with_a_wide_limit() {
    let v: Vec<u64> = (0..5_000).collect();
    // the same work on both sides: the ratio is near 1 whatever the machine's speed
    assert_faster_than!(samples = 300, warmup = 20;
        || v.iter().sum::<u64>(),
        || v.iter().sum::<u64>(),
        ratio <= 3.0);
}

#[test]
fn zero_samples_and_zero_reference_are_errors() {
    let err = RatioCheck::new()
        .samples(0)
        .run(|| (), || (), Cmp::Le, 1.1)
        .unwrap_err();
    assert!(err.to_string().contains("samples = 0"), "{err}");
    let (clock, _hand) = Clock::manual();
    let err = RatioCheck::new()
        .samples(10)
        .warmup(0)
        .clock(clock)
        .run(|| (), || (), Cmp::Le, 1.1)
        .unwrap_err();
    assert!(
        err.to_string().contains("reference median is 0 ns"),
        "{err}"
    );
}
