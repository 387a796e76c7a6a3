//! Keeps a closure that returns a future out of the sync assertions. `assert_latency!`,
//! `assert_no_regression!` and `assert_faster_than!` call their closure and drop what it
//! returns; for `|| async { .. }` that is an unpolled future, so they would time nothing
//! and could never fail. The macros probe the closure's type at compile time (method
//! resolution picks [`__ReturnsFuture`] over the by-reference fallback only when the closure
//! returns a `Future`) and require the answer to be [`__SyncClosure`], whose diagnostic
//! points to the `_async` forms. Stable Rust has no negative bounds, hence the probe.

use std::future::Future;
use std::marker::PhantomData;

/// Carries the subject's type, never a value.
#[doc(hidden)]
pub struct __Probe<S>(PhantomData<S>);

impl<S> __Probe<S> {
    /// The probe for `subject`'s type.
    pub fn of(_subject: &S) -> Self {
        __Probe(PhantomData)
    }
}

/// The subject is a closure that returns a future.
#[doc(hidden)]
pub struct __AsyncClosure;

/// The subject is anything else: a closure returning a value, or a summary.
#[doc(hidden)]
pub struct __NotAsync;

/// Chosen when the subject is a closure returning a future.
#[doc(hidden)]
pub trait __ReturnsFuture {
    /// The probe's answer.
    fn __perf_kind(&self) -> __AsyncClosure {
        __AsyncClosure
    }
}

impl<F, Fut> __ReturnsFuture for __Probe<F>
where
    F: FnMut() -> Fut,
    Fut: Future,
{
}

/// The fallback, one auto-reference further away.
#[doc(hidden)]
pub trait __ReturnsValue {
    /// The probe's answer.
    fn __perf_kind(&self) -> __NotAsync {
        __NotAsync
    }
}

impl<S> __ReturnsValue for &__Probe<S> {}

/// Holds for every subject a sync assertion can measure.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this closure returns a future: a sync assertion would create it and drop it without polling, timing nothing",
    label = "the closure's future would never run",
    note = "in an async test use the `_async` form, which awaits each future: `assert_latency_async!`, `assert_no_regression_async!`",
    note = "`assert_faster_than!` has no async form: run the future to completion inside the closure, e.g. `|| rt.block_on(work())`"
)]
pub trait __SyncClosure {}

impl __SyncClosure for __NotAsync {}

/// Fails to compile for a closure that returns a future.
#[doc(hidden)]
pub fn __require_sync<K: __SyncClosure>(_kind: K) {}

/// Rejects, at compile time, a subject that is a closure returning a future.
#[doc(hidden)]
#[macro_export]
macro_rules! __perf_sync_only {
    ($subject:ident) => {{
        #[allow(unused_imports)]
        use $crate::regress::sync_only::{__ReturnsFuture as _, __ReturnsValue as _};
        $crate::regress::sync_only::__require_sync(
            (&$crate::regress::sync_only::__Probe::of(&$subject)).__perf_kind(),
        );
    }};
}
