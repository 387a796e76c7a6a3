//! The `result` label: `ok`, `error` (an `Err`, or `error_if`), `panic`; `?` and `return`
//! keep working. One sample per call, whatever path the call takes.

use perf_core::timed;

fn count(name: &str, result: &str) -> u64 {
    perf_core::summary_with(name, &[("result", result)]).map_or(0, |s| s.count)
}

#[derive(Debug)]
struct AppError(String);

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError(e.to_string())
    }
}

#[timed]
fn outcome_question_mark(s: &str) -> Result<i64, AppError> {
    let n: i64 = s.parse()?;
    if n < 0 {
        return Err(AppError("negative".into()));
    }
    Ok(n * 2)
}

#[test]
fn result_err_is_an_error_and_question_mark_converts() {
    assert_eq!(outcome_question_mark("21").unwrap(), 42);
    assert!(outcome_question_mark("x")
        .unwrap_err()
        .0
        .contains("invalid digit"));
    assert_eq!(outcome_question_mark("-1").unwrap_err().0, "negative");
    assert_eq!(count("outcome_question_mark", "ok"), 1);
    assert_eq!(count("outcome_question_mark", "error"), 2);
    assert_eq!(count("outcome_question_mark", "panic"), 0);
}

#[timed]
fn outcome_io_alias(fail: bool) -> std::io::Result<()> {
    if fail {
        Err(std::io::Error::other("disk"))
    } else {
        Ok(())
    }
}

type MyResult<T> = Result<T, String>;

#[timed]
fn outcome_own_alias(fail: bool) -> MyResult<u8> {
    if fail {
        Err("no".into())
    } else {
        Ok(1)
    }
}

#[test]
fn result_aliases_are_recognised() {
    outcome_io_alias(true).unwrap_err();
    outcome_io_alias(false).unwrap();
    outcome_own_alias(true).unwrap_err();
    assert_eq!(count("outcome_io_alias", "error"), 1);
    assert_eq!(count("outcome_io_alias", "ok"), 1);
    assert_eq!(count("outcome_own_alias", "error"), 1);
}

#[timed]
fn outcome_generic<T>(t: T) -> T {
    t
}

#[test]
fn a_bare_type_parameter_is_ok_even_when_it_is_a_result() {
    // Documented limitation: the type is not known to be a `Result` where the fn is written.
    let r: Result<(), ()> = outcome_generic(Err(()));
    assert!(r.is_err());
    assert_eq!(count("outcome_generic", "ok"), 1);
}

fn is_empty(v: &[u8]) -> bool {
    v.is_empty()
}

#[timed(error_if = is_empty)]
fn outcome_error_if(n: usize) -> Vec<u8> {
    vec![0; n]
}

mod predicates {
    pub fn not_found(status: &u16) -> bool {
        *status >= 400
    }
}

#[timed(error_if = predicates::not_found)]
fn outcome_status(code: u16) -> u16 {
    code
}

#[test]
fn error_if_flags_other_return_types() {
    outcome_error_if(0);
    outcome_error_if(3);
    outcome_error_if(0);
    assert_eq!(count("outcome_error_if", "error"), 2);
    assert_eq!(count("outcome_error_if", "ok"), 1);
    outcome_status(404);
    outcome_status(200);
    assert_eq!(count("outcome_status", "error"), 1);
    assert_eq!(count("outcome_status", "ok"), 1);
}

#[timed]
fn outcome_panics(n: u32) -> u32 {
    if n == 0 {
        panic!("zero");
    }
    n
}

#[test]
fn a_panic_is_recorded_then_unwinds_on() {
    let err = std::panic::catch_unwind(|| outcome_panics(0)).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"zero"));
    assert_eq!(outcome_panics(1), 1);
    assert_eq!(count("outcome_panics", "panic"), 1);
    assert_eq!(count("outcome_panics", "ok"), 1);
    assert_eq!(count("outcome_panics", "cancelled"), 0);
}

#[timed]
fn outcome_result_panics() -> Result<(), String> {
    let v: Vec<u8> = Vec::new();
    let _ = v[1];
    Ok(())
}

#[test]
fn a_panic_in_a_result_fn_is_a_panic_not_an_error() {
    assert!(std::panic::catch_unwind(outcome_result_panics).is_err());
    assert_eq!(count("outcome_result_panics", "panic"), 1);
    assert_eq!(count("outcome_result_panics", "error"), 0);
}

#[timed]
fn outcome_by_value(v: Vec<String>) -> Result<String, usize> {
    // Consumes its argument: the body still owns what the fn owns.
    v.into_iter().next().ok_or(0)
}

#[timed]
fn outcome_mut_arg(mut v: Vec<u8>, extra: impl IntoIterator<Item = u8>) -> Vec<u8> {
    v.extend(extra);
    v
}

#[test]
fn arguments_by_value_mut_and_impl_trait() {
    assert_eq!(outcome_by_value(vec!["a".into()]).unwrap(), "a");
    assert_eq!(outcome_by_value(vec![]), Err(0));
    assert_eq!(outcome_mut_arg(vec![1], [2, 3]), [1, 2, 3]);
    assert_eq!(count("outcome_by_value", "ok"), 1);
    assert_eq!(count("outcome_by_value", "error"), 1);
    assert_eq!(count("outcome_mut_arg", "ok"), 1);
}
