#[perf_core::timed(buckets = [0.1, 0.01])]
fn decreasing() {}

#[perf_core::timed(buckets = [])]
fn empty() {}

#[perf_core::timed(buckets = [0.0, 1.0])]
fn zero() {}

fn main() {
    decreasing();
    empty();
    zero();
}
