use perf_core::timed;

#[timed]
fn unit() {}

#[timed]
pub fn value(x: u32) -> u32 {
    x
}

#[timed]
pub(crate) fn pattern_args((a, b): (u8, u8), _: ()) -> u8 {
    a + b
}

#[timed]
unsafe fn raw(p: *const u8) -> u8 {
    *p
}

#[timed]
fn never() -> ! {
    loop {}
}

#[timed]
fn r#match() {}

fn main() {
    unit();
    value(1);
    pattern_args((1, 2), ());
    let x = 1;
    unsafe { raw(&x) };
    r#match();
    let _ = never as fn() -> !;
}
