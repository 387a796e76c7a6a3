#[perf_core::timed(slow = "250 millis please")]
fn handle() {}

#[perf_core::timed(slow = "0ms")]
fn zero() {}

fn main() {
    handle();
    zero();
}
