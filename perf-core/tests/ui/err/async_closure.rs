use perf_core::assert::ms;
use perf_core::{assert_faster_than, assert_latency, assert_no_regression};

async fn work() {}

fn main() {
    assert_latency!(|| async { work().await }, p99 < ms(5));
    assert_no_regression!("work", || work());
    assert_faster_than!(|| async {}, || 1 + 1, ratio <= 1.1);
}
