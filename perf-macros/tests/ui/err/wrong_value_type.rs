#[perf_core::timed(name = handle)]
fn a() {}

#[perf_core::timed(slow = 250)]
fn b() {}

#[perf_core::timed(buckets = [0.1, "1"])]
fn c() {}

#[perf_core::timed(error_if = "is_bad")]
fn d() {}

#[perf_core::timed(span = true)]
fn e() {}

#[perf_core::timed(labels = "a")]
fn f() {}

fn main() {
    a();
    b();
    c();
    d();
    e();
    f();
}
