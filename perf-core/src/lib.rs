//! perf-core: the recording core of perf.
//!
//! Recording, reading back and export, one line per module, lowest first:
//!
//! * [`clock`]: the injectable clock every timing reads.
//! * [`alloc`] (folder): the counting global allocator, [`assert_allocations!`], leak checks
//!   and the process's heap totals.
//! * `histogram/`: [`LatencyHistogram`], lock-free per-thread-sharded HDR-style recording
//!   (≤ 0.78% relative error from 1 ns to 73 minutes): bucket layout, shard, [`Snapshot`].
//! * `summary`: [`LatencySummary`] of a histogram or snapshot: count, mean, stddev, p50…p999.
//! * [`names`]: every metric name, label key and bucket set perf-core exports.
//! * [`cardinality`]: the limit on distinct values per label.
//! * `error`: [`NameError`] and [`ExportError`].
//! * `registry`: [`Registry`], the named histograms with their labels; [`summary`] by name.
//! * `table`: the plain-text table writer the report and the CPU profile's top-N share.
//! * `report`: [`Report`], the profile table, slowest total first ([`report`]).
//! * `timer`: [`time`], a scope timer.
//! * [`callsite`]: the per-function static that `#[timed]` generates.
//! * [`slow`]: rate-limited `tracing` WARNs for slow calls.
//! * `profile/` (feature `profile`, Linux): CPU profiles of the running process (pprof
//!   protobuf, flame graph, top-N table): sampler session, stacks, table, errors.
//! * [`export`] (folder): Prometheus exposition of perf's histograms and the `metrics`
//!   facade: builder, running exporter, text rendering, protobuf rendering with native
//!   histograms, the facade's text read back for the protobuf scrape, content negotiation, listener, Pushgateway push, process collector,
//!   cardinality layer, bridge.
//! * `tower/` (feature `tower`): `RequestTimingLayer`, request timing by method, route and
//!   status for any tower/axum service: layer, route cache, response future.
//!
//! Regression testing, in its own folder:
//!
//! * [`regress`]: performance regression tests that do not flake on a noisy machine
//!   ([`assert_latency!`], [`assert_no_regression!`], [`assert_faster_than!`]) and the
//!   criterion gate behind the `perf-gate` binary. Its modules keep their older root paths:
//!   [`assert`](mod@assert), [`baseline`], [`ratio`], [`compare`], [`gate`], [`sampler`],
//!   [`env`](mod@env), [`fingerprint`].
//!
//! ```
//! use std::time::Duration;
//!
//! {
//!     let _t = perf_core::time("handle_request");
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! let s = perf_core::summary("handle_request").unwrap();
//! assert_eq!(s.count, 1);
//! assert!(s.p50 >= Duration::from_millis(1));
//! println!("{}", perf_core::report());
//! ```
#![warn(missing_docs)]

pub mod alloc;
pub mod callsite;
pub mod cardinality;
pub mod clock;
mod error;
pub mod export;
mod histogram;
pub mod names;
#[cfg(feature = "profile")]
pub mod profile;
mod registry;
pub mod regress;
mod report;
pub mod slow;
mod summary;
mod table;
mod timer;
#[cfg(feature = "tower")]
pub mod tower;

pub use error::{ExportError, NameError};
pub use histogram::{LatencyHistogram, Snapshot, MAX_TRACKABLE_NANOS, RELATIVE_ERROR};
pub use registry::{Registry, Series};
pub use report::{Report, ReportRow, RowAllocations};
pub use summary::{format_duration, LatencySummary};
pub use timer::{time, ScopeTimer};

// The regression-testing modules at the paths they had before `regress/` gathered them,
// documented there too so that links and the README keep working.
#[doc(inline)]
pub use regress::bootstrap as compare;
#[doc(inline)]
pub use regress::criterion_gate as gate;
#[doc(inline)]
pub use regress::latency as assert;
#[doc(inline)]
pub use regress::{baseline, env, fingerprint, ratio, sampler};

pub use perf_macros::{assert_allocations, timed};

/// The summary of everything recorded under `name` in the global registry, every label set
/// merged (all outcomes of a `#[timed]` function). `None` if nothing was recorded.
///
/// ```
/// assert!(perf_core::summary("never_called").is_none());
/// ```
pub fn summary(name: &str) -> Option<LatencySummary> {
    Registry::global().summary(name)
}

/// The summary of the series named `name` whose labels include `labels`.
///
/// ```
/// let _ = perf_core::summary_with("checkout", &[("result", "error")]);
/// ```
pub fn summary_with(name: &str, labels: &[(&str, &str)]) -> Option<LatencySummary> {
    Registry::global().summary_with(name, labels)
}

/// The profile table of the global registry: every name, slowest total first.
///
/// ```
/// println!("{}", perf_core::report());
/// ```
pub fn report() -> Report {
    Registry::global().report()
}

/// The global registry's histogram `name` with `labels`, created on first use.
///
/// ```
/// let h = perf_core::histogram("queue_wait_seconds", &[("queue", "emails")]).unwrap();
/// h.record_nanos(1_500);
/// ```
pub fn histogram(
    name: &str,
    labels: &[(&str, &str)],
) -> Result<std::sync::Arc<LatencyHistogram>, NameError> {
    Registry::global().histogram(name, labels)
}

/// What generated code (`#[timed]`, `#[llm_call]`) names. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::callsite::{Callsite, Guard, Outcome, TimedCall};
    pub use tracing;

    /// Starts timing one call of `callsite`.
    #[inline(always)]
    pub fn start(callsite: &'static Callsite) -> Guard {
        callsite.start()
    }

    /// Times one async call of `callsite`: `fut` is its work, `outcome` names how its
    /// output ended.
    #[inline(always)]
    pub fn timed_call<F, O>(callsite: &'static Callsite, fut: F, outcome: O) -> TimedCall<F, O>
    where
        F: std::future::Future,
        O: FnOnce(&F::Output) -> Outcome,
    {
        callsite.call(fut, outcome)
    }

    /// Calls `f` once. The `FnOnce` bound makes a closure wrapping a fn body `FnOnce`, so
    /// the body may return borrows of what it captured (`&mut self.field`).
    #[inline(always)]
    pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// The outcome of a returned value, chosen at compile time by autoref specialization:
    /// `(&value).__perf_outcome()` resolves to [`ResultOutcome`] when the value's type is a
    /// `Result` (aliases included) and to [`OkOutcome`] for every other type.
    pub trait ResultOutcome {
        /// `Error` for an `Err`, else `Ok`.
        fn __perf_outcome(&self) -> Outcome;
    }

    impl<T, E> ResultOutcome for Result<T, E> {
        #[inline(always)]
        fn __perf_outcome(&self) -> Outcome {
            Outcome::of_result(self)
        }
    }

    /// The fallback of [`ResultOutcome`]: any value that is not a `Result` is `Ok`.
    pub trait OkOutcome {
        /// Always `Ok`.
        #[inline(always)]
        fn __perf_outcome(&self) -> Outcome {
            Outcome::Ok
        }
    }

    impl<T: ?Sized> OkOutcome for &T {}
}
