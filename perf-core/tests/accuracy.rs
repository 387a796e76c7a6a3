//! Percentiles against exact values: every integer 1..=1,000,000 ns.

use perf_core::{LatencyHistogram, RELATIVE_ERROR};

/// Nearest-rank percentile of 1..=n: the smallest value with at least q·n values at or below.
fn exact(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

#[test]
fn percentiles_of_one_to_a_million_are_within_the_stated_error() {
    let h = LatencyHistogram::new();
    let n = 1_000_000u64;
    for v in 1..=n {
        h.record_nanos(v);
    }
    let s = h.summary();
    assert_eq!(s.count, n);
    assert_eq!(s.min.as_nanos(), 1);
    assert_eq!(s.max.as_nanos(), u128::from(n));
    assert_eq!(s.total.as_nanos(), u128::from(n * (n + 1) / 2));
    for (q, got) in [(0.5, s.p50), (0.9, s.p90), (0.99, s.p99), (0.999, s.p999)] {
        let want = exact(q, n) as f64;
        let err = (got.as_nanos() as f64 - want).abs() / want;
        assert!(
            err <= RELATIVE_ERROR,
            "p{q}: got {got:?}, exact {want} ns, error {err:.5} > {RELATIVE_ERROR}"
        );
    }
    // Every percentile from 0.1% to 100% in 0.1% steps, through `quantile`.
    for k in 1..=1000 {
        let q = k as f64 / 1000.0;
        let want = exact(q, n) as f64;
        let got = s.quantile(q).as_nanos() as f64;
        assert!(
            (got - want).abs() / want <= RELATIVE_ERROR,
            "q={q}: {got} vs {want}"
        );
    }
}

#[test]
fn small_values_are_exact() {
    let h = LatencyHistogram::new();
    for v in 0..128u64 {
        h.record_nanos(v);
    }
    let s = h.summary();
    assert_eq!(s.min.as_nanos(), 0);
    assert_eq!(s.max.as_nanos(), 127);
    assert_eq!(s.p50.as_nanos(), 63);
}

#[test]
fn stddev_of_a_known_distribution() {
    // Half the samples at 1 ms, half at 3 ms: mean 2 ms, population stddev 1 ms.
    let h = LatencyHistogram::new();
    for _ in 0..500 {
        h.record_nanos(1_000_000);
        h.record_nanos(3_000_000);
    }
    let s = h.summary();
    assert_eq!(s.mean.as_nanos(), 2_000_000);
    let sd = s.stddev.as_nanos() as f64;
    assert!((sd - 1e6).abs() / 1e6 < 0.01, "stddev {sd}");
}
