mod reexport {
    pub use perf_core as perf;
}

#[perf_core::timed(
    name = "checkout",
    labels(tier = "gold", r#type = "web"),
    slow = "1m 30s",
    span,
    buckets = [0.001, 0.01, 1, 2.5],
    crate = reexport::perf,
)]
fn checkout() -> u8 {
    1
}

fn failed(r: &u8) -> bool {
    *r == 0
}

#[perf_core::timed(error_if = failed, crate = ::perf_core)]
fn status() -> u8 {
    0
}

#[perf_core::timed()]
fn empty_parens() {}

fn main() {
    checkout();
    status();
    empty_parens();
}
