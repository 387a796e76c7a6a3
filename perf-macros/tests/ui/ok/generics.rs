use std::fmt::Debug;

use perf_core::timed;

#[timed]
fn longest<'a, 'b: 'a, T>(a: &'a [T], b: &'b [T]) -> &'a [T]
where
    T: Debug + Clone,
{
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[timed]
fn convert<U: From<u8>>(x: impl Into<u8>) -> U {
    U::from(x.into())
}

#[timed]
fn iter(n: u32) -> impl Iterator<Item = u32> + Clone {
    0..n
}

#[timed]
fn boxed<'a>(s: &'a str) -> Box<dyn Fn() -> &'a str + 'a> {
    Box::new(move || s)
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[timed]
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    longest(&[1], &[2, 3]);
    let _: u64 = convert(1u8);
    iter(3).count();
    boxed("x")();
    Wrapper(1).get();
}
