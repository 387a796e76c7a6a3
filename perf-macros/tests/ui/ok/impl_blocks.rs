use perf_core::timed;

struct Service {
    calls: u32,
}

fn too_many(n: &u32) -> bool {
    *n > 10
}

#[timed(labels(component = "svc"), slow = "100ms")]
impl Service {
    /// Docs stay.
    #[inline]
    pub fn handle(&mut self) -> u32 {
        self.calls += 1;
        self.calls
    }

    #[timed(error_if = too_many, span)]
    pub fn count(&self) -> u32 {
        self.calls
    }

    #[timed(skip)]
    pub const fn zero() -> u32 {
        0
    }

    pub async fn later(&self) -> u32 {
        self.calls
    }

    pub const LIMIT: u32 = 10;
}

fn main() {
    let mut s = Service { calls: Service::zero() };
    s.handle();
    s.count();
    let _ = Service::LIMIT;
    let _ = s.later();
}
