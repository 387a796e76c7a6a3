//! The baseline decision on seeded synthetic samples: a fresh run of the same code never
//! fails against its baseline, a 2× slowdown always does, and the tolerance is honoured.

use std::time::Duration;

use perf_core::assert_no_regression;
use perf_core::baseline::{BaselineCheck, BaselineError, BaselineOutcome};
use perf_core::clock::Clock;
use perf_core::env::BaselineMode;

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

    /// Log-normal (σ = 0.3) around `median_ns` with 2% outliers at 5×.
    fn draw(&mut self, n: usize, median_ns: f64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let (u1, u2) = (self.next().max(1e-12), self.next());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let outlier = if self.next() < 0.02 { 5.0 } else { 1.0 };
                (median_ns * (0.3 * z).exp() * outlier) as u64
            })
            .collect()
    }
}

fn check(dir: &std::path::Path) -> BaselineCheck {
    BaselineCheck::new("synthetic")
        .dir(dir)
        .mode(BaselineMode::Auto)
        .ci(false)
}

#[test]
fn a_a_passes_50_of_50() {
    for seed in 0..50 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed);
        let created = check(dir.path()).check_samples(rng.draw(200, 1e6)).unwrap();
        assert!(matches!(created, BaselineOutcome::Created(_)), "{created}");
        let again = check(dir.path())
            .check_samples(rng.draw(200, 1e6))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let BaselineOutcome::Passed { estimate, .. } = again else {
            panic!("seed {seed}: {again}")
        };
        assert!(
            estimate.lower < 1.0 && estimate.upper > 1.0,
            "seed {seed}: {estimate}"
        );
    }
}

#[test]
fn twice_as_slow_fails_50_of_50() {
    for seed in 100..150 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed);
        check(dir.path()).check_samples(rng.draw(200, 1e6)).unwrap();
        let err = check(dir.path())
            .check_samples(rng.draw(200, 2e6))
            .unwrap_err();
        let BaselineError::Regression(r) = &err else {
            panic!("seed {seed}: {err:?}")
        };
        assert!(r.estimate.lower > 1.5, "seed {seed}: {}", r.estimate);
    }
}

#[test]
fn slowdown_within_tolerance_passes_beyond_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(9);
    check(dir.path())
        .check_samples(rng.draw(1000, 1e6))
        .unwrap();
    // 4% slower, clearly measured (large n), but inside the 10% tolerance
    assert!(check(dir.path())
        .check_samples(rng.draw(1000, 1.04e6))
        .is_ok());
    // 30% slower fails at the default tolerance, passes at 50%
    let slower = rng.draw(1000, 1.3e6);
    assert!(check(dir.path()).check_samples(slower.clone()).is_err());
    assert!(check(dir.path())
        .tolerance(0.5)
        .check_samples(slower)
        .is_ok());
    // faster never fails
    assert!(check(dir.path())
        .check_samples(rng.draw(1000, 0.5e6))
        .is_ok());
}

#[test]
fn regression_message_says_how_much_and_how_to_accept() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(3);
    check(dir.path()).check_samples(rng.draw(300, 1e6)).unwrap();
    let msg = check(dir.path())
        .check_samples(rng.draw(300, 2e6))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("performance regression in `synthetic`: median 2."),
        "{msg}"
    );
    assert!(msg.contains("in the baseline, +"), "{msg}");
    assert!(msg.contains("99% CI +"), "{msg}");
    assert!(msg.contains("beyond the 10.0% tolerance"), "{msg}");
    assert!(
        msg.contains("baseline: n=300") && msg.contains("now:      n=300"),
        "{msg}"
    );
    assert!(msg.contains("PERF_BASELINE=update cargo test"), "{msg}");
    assert!(msg.contains("synthetic.json"), "{msg}");
}

#[test]
fn macro_lifecycle_on_a_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, hand) = Clock::manual();
    let work = |d: u64| {
        let hand = hand.clone();
        move || hand.advance(Duration::from_micros(d))
    };
    let first = assert_no_regression!(samples = 100, warmup = 0, clock = clock.clone(), dir = dir.path(), mode = BaselineMode::Auto, ci = false;
        "parse", work(100));
    assert!(
        matches!(first, BaselineOutcome::Created(ref p) if p.ends_with("parse.json")),
        "{first}"
    );
    let same = assert_no_regression!(samples = 100, warmup = 0, clock = clock.clone(), dir = dir.path(), mode = BaselineMode::Auto, ci = false;
        "parse", work(105));
    assert!(matches!(same, BaselineOutcome::Passed { .. }), "{same}");
    let slow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_no_regression!(samples = 100, warmup = 0, clock = clock.clone(), dir = dir.path(), mode = BaselineMode::Auto, ci = false;
            "parse", work(150));
    }));
    let msg = *slow.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("median 150µs now vs 100µs in the baseline, +50.0%"),
        "{msg}"
    );
    let updated = assert_no_regression!(samples = 100, warmup = 0, clock = clock.clone(), dir = dir.path(), mode = BaselineMode::Update;
        "parse", work(150));
    assert!(matches!(updated, BaselineOutcome::Updated(_)), "{updated}");
    let after = assert_no_regression!(samples = 100, warmup = 0, clock = clock, dir = dir.path(), mode = BaselineMode::Auto, ci = false;
        "parse", work(150));
    assert!(matches!(after, BaselineOutcome::Passed { .. }), "{after}");
}

#[test]
fn panicking_closure_zero_samples_bad_tolerance_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let err = check(dir.path())
        .samples(5)
        .warmup(0)
        .run(|| panic!("db down"))
        .unwrap_err();
    assert!(err.to_string().contains("sample call 0: db down"), "{err}");
    assert!(
        !dir.path().join("synthetic.json").exists(),
        "nothing written on failure"
    );
    let err = check(dir.path()).samples(0).run(|| ()).unwrap_err();
    assert!(err.to_string().contains("samples = 0"), "{err}");
    for t in [f64::NAN, -0.1, f64::INFINITY] {
        let err = check(dir.path())
            .tolerance(t)
            .check_samples(vec![1])
            .unwrap_err();
        assert!(matches!(err, BaselineError::InvalidTolerance(_)), "{err:?}");
    }
    let err = BaselineCheck::new("../escape")
        .dir(dir.path())
        .check_samples(vec![1])
        .unwrap_err();
    assert!(matches!(err, BaselineError::InvalidName(_)), "{err:?}");
}

#[tokio::test]
async fn async_macro_compares_futures() {
    use perf_core::assert_no_regression_async;
    let dir = tempfile::tempdir().unwrap();
    let (clock, hand) = Clock::manual();
    let work = |d: u64| {
        let hand = hand.clone();
        move || {
            let hand = hand.clone();
            async move {
                tokio::task::yield_now().await;
                hand.advance(Duration::from_micros(d));
            }
        }
    };
    let first = assert_no_regression_async!(samples = 100, warmup = 0, clock = clock.clone(), dir = dir.path(), mode = BaselineMode::Auto, ci = false;
        "fetch", work(100));
    assert!(matches!(first, BaselineOutcome::Created(_)), "{first}");
    let err = BaselineCheck::new("fetch")
        .dir(dir.path())
        .mode(BaselineMode::Auto)
        .ci(false)
        .samples(100)
        .warmup(0)
        .clock(clock)
        .run_async(work(300))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("+200.0%"), "{err}");
}
