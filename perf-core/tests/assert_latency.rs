//! `assert_latency!` and `assert_latency_async!` through the public surface, timed on a
//! manual clock so every "latency" is exact.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use perf_core::assert::{ms, us, Clause, Cmp, LatencyAssertionError, LatencyCheck, Stat};
use perf_core::clock::Clock;
use perf_core::sampler::SampleError;
use perf_core::{assert_latency, assert_latency_async, LatencyHistogram};

/// A closure whose i-th call takes `1ms + i µs` on the manual clock.
fn ramp(hand: &perf_core::clock::ManualClock) -> impl FnMut() + '_ {
    let mut i = 0u64;
    move || {
        hand.advance(Duration::from_micros(1_000 + i));
        i += 1;
    }
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion should have panicked");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

#[test]
fn closure_form_passes_and_returns_the_summary() {
    let (clock, hand) = Clock::manual();
    let s = assert_latency!(samples = 200, warmup = 10, clock = clock, scale = 1.0;
        ramp(&hand), p50 < ms(1.2), p99 <= "1.3ms", max < Duration::from_millis(2), min < us(1100));
    assert_eq!(s.count, 200);
    // warm-up took calls 0..10, so samples are 1010µs..1209µs
    assert!(
        s.min >= Duration::from_micros(1_000) && s.min <= Duration::from_micros(1_020),
        "{s}"
    );
    assert!(s.max >= Duration::from_micros(1_200), "{s}");
}

#[test]
fn default_form_runs_real_code() {
    let s = assert_latency!(
        || std::hint::black_box((0..100u64).sum::<u64>()),
        p50 < ms(50),
        p999 < ms(500)
    );
    assert_eq!(s.count, 1000);
}

#[test]
fn summary_form_judges_recorded_data() {
    let h = LatencyHistogram::new();
    for i in 0..1000u64 {
        h.record(Duration::from_micros(100 + i));
    }
    let summary = h.summary();
    assert_latency!(&summary, p50 < ms(1), p99 < ms(2));
    assert_latency!(summary.clone(), mean <= ms(1));
    let msg = panic_message(|| {
        assert_latency!(summary, p90 < us(500));
    });
    assert!(msg.contains("p90 < 500µs: measured p90 = 995µs"), "{msg}");
}

#[test]
fn failure_message_names_clause_threshold_value_summary_and_histogram() {
    let (clock, hand) = Clock::manual();
    let err = LatencyCheck::new()
        .samples(100)
        .warmup(0)
        .clock(clock)
        .scale(1.0)
        .run(
            ramp(&hand),
            &[
                Clause::new(Stat::P50, Cmp::Lt, ms(10)),
                Clause::new(Stat::P99, Cmp::Lt, us(1050)),
            ],
        )
        .unwrap_err();
    let LatencyAssertionError::Failed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.failures.len(), 1, "only p99 fails");
    let msg = err.to_string();
    assert!(msg.starts_with("latency assertion failed:\n"), "{msg}");
    assert!(
        msg.contains("p99 < 1.05ms: measured p99 = 1.10ms, limit < 1.05ms"),
        "{msg}"
    );
    assert!(msg.contains("summary: n=100 p50="), "{msg}");
    assert!(msg.contains("histogram:\n"), "{msg}");
    assert!(
        msg.lines().filter(|l| l.contains(" | #")).count() >= 5,
        "{msg}"
    );
    assert!(
        !msg.contains("p50 < 10.0ms"),
        "passing clauses are not listed: {msg}"
    );
}

#[test]
fn the_macro_panics_with_the_same_message() {
    let (clock, hand) = Clock::manual();
    let msg = panic_message(|| {
        assert_latency!(samples = 100, warmup = 0, clock = clock, scale = 1.0; ramp(&hand), max < ms(1));
    });
    assert!(msg.contains("max < 1.00ms: measured max = 1.10ms"), "{msg}");
    assert!(msg.contains("histogram:"), "{msg}");
}

#[test]
fn scale_loosens_thresholds_and_is_reported() {
    let (clock, hand) = Clock::manual();
    let check = LatencyCheck::new().samples(100).warmup(0).clock(clock);
    let clauses = [Clause::new(Stat::Max, Cmp::Lt, ms(1))];
    let err = check
        .clone()
        .scale(1.05)
        .run(ramp(&hand), &clauses)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("(threshold 1.00ms × PERF_LATENCY_SCALE 1.05)"),
        "{err}"
    );
    hand.set_nanos(0);
    check.scale(2.0).run(ramp(&hand), &clauses).unwrap();
}

#[test]
fn guard_refuses_percentiles_from_too_few_samples_before_running() {
    let mut calls = 0;
    let err = LatencyCheck::new()
        .samples(99)
        .scale(1.0)
        .run(|| calls += 1, &[Clause::new(Stat::P99, Cmp::Lt, ms(1))])
        .unwrap_err();
    assert_eq!(
        calls, 0,
        "a check that cannot be judged does not run the closure"
    );
    let msg = err.to_string();
    assert!(msg.contains("needs at least 100 samples"), "{msg}");
    assert!(msg.contains("there are 99"), "{msg}");
    assert!(msg.contains("samples = 100"), "{msg}");

    let msg = panic_message(|| {
        assert_latency!(samples = 999; || (), p999 < ms(1));
    });
    assert!(msg.contains("needs at least 1000 samples"), "{msg}");

    let h = LatencyHistogram::new();
    (0..15).for_each(|_| h.record_nanos(10));
    let msg = panic_message(|| {
        assert_latency!(h.summary(), p95 < ms(1));
    });
    assert!(msg.contains("needs at least 20 samples"), "{msg}");
    assert_latency!(h.summary(), p90 < ms(1));
}

#[test]
fn panicking_closure_is_reported_with_its_sample_index() {
    let mut n = 0;
    let err = LatencyCheck::new()
        .samples(10)
        .warmup(2)
        .scale(1.0)
        .run(
            || {
                n += 1;
                if n == 7 {
                    panic!("connection refused");
                }
            },
            &[Clause::new(Stat::Max, Cmp::Lt, ms(100))],
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            LatencyAssertionError::Sample(SampleError::Panicked {
                index: 4,
                phase: "sample",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("sample call 4: connection refused"),
        "{err}"
    );
}

#[test]
fn zero_samples_nan_and_negative_thresholds_are_errors() {
    let check = LatencyCheck::new().scale(1.0);
    let err = check
        .clone()
        .samples(0)
        .run(|| (), &[Clause::new(Stat::Max, Cmp::Lt, ms(1))])
        .unwrap_err();
    assert!(
        matches!(err, LatencyAssertionError::Sample(SampleError::NoSamples)),
        "{err:?}"
    );
    for bad in [ms(f64::NAN), ms(-5), us(f64::NEG_INFINITY)] {
        let err = check
            .clone()
            .samples(10)
            .run(|| (), &[Clause::new(Stat::Max, Cmp::Lt, bad)])
            .unwrap_err();
        assert!(
            matches!(err, LatencyAssertionError::InvalidThreshold { .. }),
            "{err:?}"
        );
    }
    let msg = panic_message(|| {
        assert_latency!(samples = 10; || (), max < "soon");
    });
    assert!(msg.contains("\"soon\" is not a duration"), "{msg}");
}

#[tokio::test]
async fn async_form_runs_on_the_current_runtime() {
    let (clock, hand) = Clock::manual();
    let s = assert_latency_async!(samples = 100, warmup = 5, clock = clock, scale = 1.0;
        || {
            let hand = hand.clone();
            async move {
                tokio::task::yield_now().await;
                hand.advance(Duration::from_micros(250));
            }
        },
        p99 <= us(250), min < ms(1));
    assert_eq!(s.count, 100);
    assert_eq!(s.max, Duration::from_micros(250));

    let real = assert_latency_async!(samples = 100, warmup = 0; || async { tokio::task::yield_now().await }, p99 < ms(100));
    assert_eq!(real.count, 100);
}

#[tokio::test]
async fn async_failure_and_panic_are_errors() {
    let (clock, hand) = Clock::manual();
    let err = LatencyCheck::new()
        .samples(100)
        .warmup(0)
        .clock(clock)
        .scale(1.0)
        .run_async(
            || {
                let hand = hand.clone();
                async move { hand.advance(Duration::from_millis(3)) }
            },
            &[Clause::new(Stat::P50, Cmp::Lt, ms(2))],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("p50 < 2.00ms: measured p50 = 3.00ms"),
        "{err}"
    );
    let err = LatencyCheck::new()
        .samples(3)
        .warmup(0)
        .scale(1.0)
        .run_async(
            || async { panic!("async failure") },
            &[Clause::new(Stat::Max, Cmp::Lt, ms(2))],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("sample call 0: async failure"),
        "{err}"
    );
}

#[test]
fn named_summary_from_the_registry() {
    for _ in 0..100 {
        let _t = perf_core::time("assert_latency_named");
    }
    let s = assert_latency!(perf_core::summary("assert_latency_named"), p99 < ms(100));
    assert_eq!(s.count, 100);
    let msg = panic_message(|| {
        assert_latency!(perf_core::summary("never_recorded_here"), p99 < ms(100));
    });
    assert!(msg.contains("holds no samples"), "{msg}");
    assert!(msg.contains("is the name right?"), "{msg}");
}
