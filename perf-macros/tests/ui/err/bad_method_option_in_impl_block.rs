struct S;

#[perf_core::timed]
impl S {
    #[timed(slow = "soon")]
    fn a(&self) {}

    #[perf_core::timed(nope)]
    fn b(&self) {}
}

fn main() {
    S.a();
    S.b();
}
