use std::sync::Arc;

use perf_core::timed;

struct S {
    v: Vec<u8>,
}

impl S {
    #[timed]
    fn new() -> Self {
        S { v: vec![1] }
    }

    #[timed]
    fn by_ref(&self) -> &[u8] {
        &self.v
    }

    #[timed]
    fn by_mut(&mut self) -> &mut Vec<u8> {
        &mut self.v
    }

    #[timed]
    fn by_value(self) -> Vec<u8> {
        self.v
    }

    #[timed]
    fn by_arc(self: Arc<Self>) -> usize {
        self.v.len()
    }

    #[timed]
    fn by_mut_value(mut self) -> Self {
        self.v.push(2);
        self
    }
}

fn main() {
    let mut s = S::new();
    s.by_ref();
    s.by_mut().push(3);
    let s = s.by_mut_value();
    s.by_value();
    Arc::new(S::new()).by_arc();
}
