#[perf_core::timed(labels(result = "ok", __name = "x"))]
fn handle() {}

fn main() {
    handle();
}
