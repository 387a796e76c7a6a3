//! Performance regression tests with perf, one of each kind. Run it:
//! `cargo run --example regression_test` (a few seconds; every assertion passes).
//!
//! In your crate each block below is a `#[test]` (or `#[tokio::test]`) in `tests/perf.rs`.
//! A failing assertion panics like `assert!`, with the measured numbers, the summary and a
//! histogram. Thresholds here are generous so the example passes on any machine; on a slow
//! CI runner, `PERF_LATENCY_SCALE=2 cargo test` doubles every `assert_latency!` threshold.

use std::time::Duration;

use perf::core::assert::{ms, us};
use perf::core::baseline::BaselineOutcome;
use perf::core::{assert_faster_than, assert_latency, assert_latency_async, assert_no_regression};

fn parse_config(text: &str) -> usize {
    text.split(',')
        .filter_map(|f| f.trim().parse::<u32>().ok())
        .count()
}

fn main() {
    let input = (0..200)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");

    // 1. assert_latency!: warm-up, then samples, then clauses on the distribution.
    //    #[test] fn parse_is_fast() { assert_latency!(|| parse_config(INPUT), p50 < ms(2), p99 <= ms(10)); }
    //    Defaults: 100 warm-up calls, 1000 samples (enough for p999). A clause on p99 needs
    //    ≥ 100 samples and p999 ≥ 1000: with fewer the assertion fails and says how many.
    let s = assert_latency!(|| parse_config(&input), p50 < ms(5), p99 <= ms(50));
    println!("1. assert_latency!           {s}");

    //    Options before a semicolon; thresholds as ms(), us(), Duration or "5ms".
    let s = assert_latency!(samples = 200, warmup = 20; || parse_config(&input), p99 < "50ms", mean < us(10_000));
    println!("   with options              {s}");

    // 2. A summary you already recorded (here with perf::time; #[timed] functions the same
    //    way through perf::summary("fn_name")).
    for _ in 0..200 {
        let _t = perf::time("example_parse");
        parse_config(&input);
    }
    let recorded = perf::summary("example_parse").expect("recorded above");
    assert_latency!(&recorded, p99 < ms(100), max < Duration::from_millis(500));
    println!("2. recorded summary          {recorded}");

    // 3. Async: in #[tokio::test] async fn, each future is awaited on the test's runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = assert_latency_async!(samples = 200, warmup = 10;
            || async { tokio::task::yield_now().await }, p99 < ms(50));
        println!("3. assert_latency_async!     {s}");
    });

    // 4. Ratio against a reference in the same run, interleaved A/B/B/A, so the machine's
    //    speed cancels out. Fails only when the whole 99% interval of
    //    median(candidate) / median(reference) is above the limit.
    let numbers: Vec<u64> = (0..10_000).collect();
    let est = assert_faster_than!(samples = 300, warmup = 20;
        || numbers.iter().copied().sum::<u64>(),
        || {
            let mut total = 0u64;
            for &n in &numbers {
                total = total.wrapping_add(n);
            }
            total
        },
        ratio <= 2.0);
    println!("4. assert_faster_than!       {est}");

    // 5. Snapshot-style baseline. In a test: assert_no_regression!("parse_config", || ...);
    //    the first run writes perf-baselines/parse_config.json (commit it), later runs fail
    //    when the median got slower beyond the tolerance (default 10%) with 99% confidence.
    //    A baseline from another machine/compiler/profile is skipped with a note.
    //    Accept an intended slowdown with `PERF_BASELINE=update cargo test`.
    //    This example keeps its baseline in the temp dir instead of your repository.
    let dir = std::env::temp_dir().join("perf-example-baselines");
    //    On CI (`CI` set) a missing baseline fails instead; `ci = false` lets this demo
    //    create its throwaway file there too.
    let outcome = assert_no_regression!(samples = 300, warmup = 20, tolerance = 1.0, dir = &dir, ci = false;
        "parse_config", || parse_config(&input));
    match &outcome {
        BaselineOutcome::Created(p) => println!(
            "5. assert_no_regression!     created {} (run again to compare)",
            p.display()
        ),
        other => println!("5. assert_no_regression!     {other}"),
    }

    // 6. Criterion benches: gate CI on their comparison with a saved baseline.
    //      cargo bench -- --save-baseline main          # on the base commit
    //      cargo bench -- --baseline main               # on the commit under test
    //      cargo run --bin perf-gate -- --threshold 5%  # exits 1 on a regression
    println!("6. criterion gate: cargo run --bin perf-gate -- --threshold 5% target/criterion");
}
