#[perf_core::timed(nmae = "handle")]
fn handle() {}

fn main() {
    handle();
}
