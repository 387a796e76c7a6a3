#[perf_core::timed(span, slow = "1s", span)]
fn handle() {}

#[perf_core::timed(labels(a = "1", a = "2"))]
fn labels() {}

fn main() {
    handle();
    labels();
}
