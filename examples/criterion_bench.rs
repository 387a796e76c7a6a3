//! How to prove a fix with before/after numbers and keep it from regressing: a criterion
//! bench of the slow and the fixed version side by side, perf's own percentiles of the
//! timed function, and `perf-gate` in CI.
//!
//! In your crate this file lives in `benches/` (with `[[bench]] name = "…" harness = false`);
//! here it is an example so CI smoke-tests it.
//!
//! ```text
//! cargo run --example criterion_bench                       # test mode: each bench runs once
//! cargo run --release --example criterion_bench -- --bench  # measure
//!
//! # the CI recipe (criterion reports a regression but exits 0; perf-gate fails the build):
//! cargo bench -- --save-baseline main      # on the base commit
//! cargo bench -- --baseline main           # on your change
//! cargo run --bin perf-gate -- --threshold 5% target/criterion
//! ```

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, Criterion};

/// Before the fix: a linear scan per lookup.
fn price_of_slow(catalog: &[(String, u64)], sku: &str) -> Option<u64> {
    catalog.iter().find(|(s, _)| s == sku).map(|(_, p)| *p)
}

/// After the fix: an index built once. `#[timed]` keeps measuring it in production.
#[perf::timed]
fn price_of(index: &HashMap<String, u64>, sku: &str) -> Option<u64> {
    index.get(sku).copied()
}

fn catalog() -> Vec<(String, u64)> {
    (0..2_000).map(|i| (format!("sku-{i}"), i * 3)).collect()
}

fn lookups(c: &mut Criterion) {
    let catalog = catalog();
    let index: HashMap<String, u64> = catalog.iter().cloned().collect();
    // One group, both versions: the ratio of the two medians is the claim, and it holds
    // on a noisy machine where absolute times do not.
    let mut g = c.benchmark_group("price_lookup");
    g.bench_function("before/linear_scan", |b| {
        b.iter(|| price_of_slow(&catalog, black_box("sku-1500")))
    });
    g.bench_function("after/index", |b| {
        b.iter(|| price_of(&index, black_box("sku-1500")))
    });
    g.finish();
}

criterion_group!(benches, lookups);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // What perf recorded of the timed version while criterion drove it, in process.
    if let Some(s) = perf::summary("price_of") {
        println!("price_of as perf saw it: {s}");
    }
}
