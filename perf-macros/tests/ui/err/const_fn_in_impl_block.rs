struct S;

#[perf_core::timed]
impl S {
    fn fine(&self) {}

    const fn not_timed() -> u8 {
        1
    }
}

fn main() {}
