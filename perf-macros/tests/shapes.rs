//! Every fn shape `#[timed]` accepts records exactly one sample per call, with the right
//! outcome. Fn names are unique per test: the registry is global and tests run in parallel.

use std::sync::Arc;

use perf_core::timed;

fn count(name: &str, result: &str) -> u64 {
    perf_core::summary_with(name, &[("result", result)]).map_or(0, |s| s.count)
}

#[timed]
fn shapes_free(x: u32) -> u32 {
    x + 1
}

#[test]
fn free_fn() {
    assert_eq!(shapes_free(1), 2);
    assert_eq!(shapes_free(2), 3);
    assert_eq!(count("shapes_free", "ok"), 2);
}

#[timed]
fn shapes_unit() {}

#[test]
fn fn_without_return_type() {
    shapes_unit();
    assert_eq!(count("shapes_unit", "ok"), 1);
}

struct Counter {
    n: u32,
}

impl Counter {
    #[timed]
    fn shapes_ref(&self) -> u32 {
        self.n
    }

    #[timed]
    fn shapes_mut(&mut self) -> &mut u32 {
        self.n += 1;
        &mut self.n
    }

    #[timed]
    fn shapes_by_value(self) -> u32 {
        self.n
    }

    #[timed]
    fn shapes_arc(self: Arc<Self>) -> u32 {
        self.n
    }

    #[timed]
    fn shapes_assoc() -> Self {
        Counter { n: 7 }
    }
}

#[test]
fn methods_of_every_receiver() {
    let mut c = Counter::shapes_assoc();
    assert_eq!(c.shapes_ref(), 7);
    *c.shapes_mut() += 10;
    assert_eq!(c.n, 18);
    assert_eq!(c.shapes_by_value(), 18);
    assert_eq!(Arc::new(Counter { n: 3 }).shapes_arc(), 3);
    // Each is a method (a `self` receiver or `Self` in its signature), named by its type.
    for name in [
        "Counter::shapes_assoc",
        "Counter::shapes_ref",
        "Counter::shapes_mut",
        "Counter::shapes_by_value",
        "Counter::shapes_arc",
    ] {
        assert_eq!(count(name, "ok"), 1, "{name}");
    }
}

#[timed]
fn shapes_generic<'a, T, U: Clone>(items: &'a [T], extra: impl Into<U>) -> (&'a T, U)
where
    T: std::fmt::Debug,
{
    let u: U = extra.into();
    (&items[0], u.clone())
}

#[test]
fn generic_fn_with_lifetimes_and_where_clause() {
    let v = [1u8, 2];
    let (first, s): (&u8, String) = shapes_generic(&v, "x");
    assert_eq!((*first, s.as_str()), (1, "x"));
    let (_, n): (&u8, u64) = shapes_generic(&v, 5u32);
    assert_eq!(n, 5);
    // One callsite for every instantiation.
    assert_eq!(count("shapes_generic", "ok"), 2);
}

#[timed]
unsafe fn shapes_unsafe(p: *const u32) -> u32 {
    *p
}

#[test]
fn unsafe_fn() {
    let x = 9;
    // SAFETY: `x` is alive and aligned.
    assert_eq!(unsafe { shapes_unsafe(&x) }, 9);
    assert_eq!(count("shapes_unsafe", "ok"), 1);
}

trait Greeter {
    fn name(&self) -> String;

    #[timed]
    fn shapes_default_method(&self) -> String {
        format!("hello {}", self.name())
    }
}

struct World;

impl Greeter for World {
    #[timed]
    fn name(&self) -> String {
        "world".into()
    }
}

#[test]
fn trait_impl_and_default_methods() {
    assert_eq!(World.shapes_default_method(), "hello world");
    // A default method is named by its trait, a trait impl's method by the implementing type.
    assert_eq!(count("Greeter::shapes_default_method", "ok"), 1);
    assert_eq!(count("World::name", "ok"), 1);
}

#[timed]
fn shapes_impl_iter(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[test]
fn return_type_inference_with_impl_trait() {
    assert_eq!(shapes_impl_iter(3).sum::<u32>(), 3);
    assert_eq!(count("shapes_impl_iter", "ok"), 1);
}

#[timed]
fn shapes_early_return(x: i32) -> i32 {
    if x < 0 {
        return 0;
    }
    x * 2
}

#[test]
fn early_return_records_once() {
    assert_eq!(shapes_early_return(-1), 0);
    assert_eq!(shapes_early_return(2), 4);
    assert_eq!(count("shapes_early_return", "ok"), 2);
    assert_eq!(count("shapes_early_return", "cancelled"), 0);
}

#[timed]
fn shapes_never(msg: &str) -> ! {
    panic!("{msg}")
}

#[test]
fn never_returning_fn_records_its_panic() {
    let r = std::panic::catch_unwind(|| shapes_never("boom"));
    assert!(r.is_err());
    assert_eq!(count("shapes_never", "panic"), 1);
    assert_eq!(count("shapes_never", "ok"), 0);
}

/// Doc comments and other attributes stay where they were.
#[timed]
#[must_use]
#[inline(never)]
fn shapes_with_attrs() -> u8 {
    1
}

#[test]
fn other_attributes_stay() {
    assert_eq!(shapes_with_attrs(), 1);
    assert_eq!(count("shapes_with_attrs", "ok"), 1);
}

struct Shop;

#[timed(labels(component = "shop"))]
impl Shop {
    fn shapes_block_a(&self) -> u8 {
        1
    }

    #[timed(name = "shapes_block_renamed")]
    fn shapes_block_b(&self) -> u8 {
        2
    }

    #[timed(skip)]
    fn shapes_block_skipped(&self) -> u8 {
        3
    }

    #[timed(skip)]
    const fn shapes_block_const_skipped() -> u8 {
        4
    }
}

#[test]
fn impl_block_times_every_method_but_skipped_ones() {
    let s = Shop;
    assert_eq!(
        s.shapes_block_a() + s.shapes_block_b() + s.shapes_block_skipped(),
        6
    );
    const FOUR: u8 = Shop::shapes_block_const_skipped();
    assert_eq!(FOUR, 4);
    assert_eq!(
        perf_core::summary_with(
            "Shop::shapes_block_a",
            &[("result", "ok"), ("component", "shop")]
        )
        .unwrap()
        .count,
        1
    );
    assert_eq!(count("shapes_block_renamed", "ok"), 1);
    assert_eq!(count("Shop::shapes_block_b", "ok"), 0);
    assert!(perf_core::summary("Shop::shapes_block_skipped").is_none());
}

mod reexport {
    pub use perf_core as perf;
}

#[timed(crate = reexport::perf)]
fn shapes_crate_path() -> u8 {
    5
}

#[test]
fn crate_path_points_at_a_re_export() {
    assert_eq!(shapes_crate_path(), 5);
    assert_eq!(count("shapes_crate_path", "ok"), 1);
}

// `#[track_caller]` does not reach through the closure a sync body runs in (closures cannot
// be `#[track_caller]` on stable Rust): inside the body, the "caller" is the body itself.
// Documented under "`#[track_caller]`" in `#[timed]`'s docs; this test keeps the doc honest.
#[timed]
#[track_caller]
fn shapes_track_caller() -> &'static std::panic::Location<'static> {
    std::panic::Location::caller()
}

#[track_caller]
fn untimed_track_caller() -> &'static std::panic::Location<'static> {
    std::panic::Location::caller()
}

#[test]
fn track_caller_stops_at_the_timed_body() {
    let (timed_at, line) = (shapes_track_caller(), line!());
    let (plain_at, plain_line) = (untimed_track_caller(), line!());
    assert_eq!(plain_at.line(), plain_line);
    assert_ne!(timed_at.line(), line);
    assert_eq!(timed_at.file(), file!());
    assert_eq!(count("shapes_track_caller", "ok"), 1);
}
