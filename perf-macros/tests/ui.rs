//! Compile-time behaviour of `#[timed]`: every supported shape compiles (`ui/ok`), every
//! misuse is a compile error at the offending token (`ui/err`, checked against `.stderr`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/ok/*.rs");
    t.compile_fail("tests/ui/err/*.rs");
}
