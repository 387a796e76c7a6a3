//! Compile-time behaviour of the assertion macros: sync closures and summaries compile
//! (`ui/ok`); a closure that returns a future, which a sync assertion would create and drop
//! without polling, is a compile error pointing to the `_async` form (`ui/err`, checked
//! against `.stderr`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/ok/*.rs");
    t.compile_fail("tests/ui/err/*.rs");
}
