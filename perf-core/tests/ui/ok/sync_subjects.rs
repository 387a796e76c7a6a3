use perf_core::assert::ms;
use perf_core::{assert_faster_than, assert_latency, assert_no_regression, LatencySummary};

fn main() {
    let dir = std::env::temp_dir().join("perf-core-ui-ok");
    let mut calls = 0u32;
    assert_latency!(samples = 10, warmup = 0; || calls += 1, max < ms(1000));
    let summary: Option<LatencySummary> = None;
    if summary.is_some() {
        assert_latency!(summary, p50 < ms(1));
    }
    let numbers = vec![1u64, 2, 3];
    assert_faster_than!(samples = 10, warmup = 0; || numbers.iter().sum::<u64>(), || numbers.len(), ratio <= 1000.0);
    assert_no_regression!(samples = 10, warmup = 0, dir = &dir, mode = perf_core::env::BaselineMode::Update; "ui_ok", || numbers.len());
}
