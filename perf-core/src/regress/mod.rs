//! Performance regression tests that do not flake on a noisy machine: assertions on a
//! latency, on a committed baseline and on a same-run ratio, the statistics and measuring
//! behind them, and the gate over criterion's results. Also at their older paths in the root.

pub mod baseline; // snapshot baselines and `assert_no_regression!`
mod baseline_error; // why a baseline assertion failed, and the regression it found
mod baseline_file; // the `perf-baselines/<name>.json` file: format, read, write
pub mod bootstrap; // seeded bootstrap interval on a ratio of medians
mod clause; // what a latency clause is made of (`p99`, `<`, `ms(10)`)
pub mod criterion_gate; // the gate over criterion's `change/estimates.json`
pub mod env; // the `PERF_*` variables that steer the assertions on CI
pub mod fingerprint; // the machine a baseline was measured on
pub mod latency; // `assert_latency!`: clauses such as `p99 < ms(10)`
mod latency_failure; // what a failing latency assertion shows
pub mod ratio; // `assert_faster_than!`: candidate vs reference, interleaved
pub mod sampler; // runs a closure many times and times each call
#[doc(hidden)]
pub mod sync_only; // a closure returning a future does not compile in a sync assertion
