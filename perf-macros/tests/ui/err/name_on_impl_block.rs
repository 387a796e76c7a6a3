struct S;

#[perf_core::timed(name = "everything")]
impl S {
    fn a(&self) {}
    fn b(&self) {}
}

fn main() {}
