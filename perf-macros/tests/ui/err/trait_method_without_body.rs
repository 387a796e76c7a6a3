trait Service {
    #[perf_core::timed]
    fn call(&self);
}

fn main() {}
