//! Compile-time behaviour of the assertion macros: sync closures, summaries and every
//! allocation clause compile
//! (`ui/ok`); a closure that returns a future, which a sync assertion would create and drop
//! without polling, is a compile error pointing to the `_async` form, and a misspelt
//! allocation statistic or comparison is one at its token (`ui/err`, checked
//! against `.stderr`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/ok/*.rs");
    t.compile_fail("tests/ui/err/*.rs");
}
