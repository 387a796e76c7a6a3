//! # perf
//!
//! Measure and cut your application's own latency and cost, from inside the application.
//!
//! This facade re-exports the parts:
//!
//! * [`core`] (`perf-core`): latency histograms, summaries, the registry and profile
//!   report, Prometheus export, slow-call logging.
//! * [`async_`] (`perf-async`): finds code that blocks inside async.
//! * [`llm`] (`perf-llm`): token usage, exact cost, budgets, stream timing.
//! * [`load`] (`perf-load`): open-loop load tests, break points, LLM-server benchmarks.
//!
//! ```
//! let _t = perf::time("startup");
//! ```

// Every doctest here, the README's examples among them, compiles without a warning: a user
// who copies an example into a new crate sees none either.
#![doc(test(attr(deny(warnings))))]

pub use perf_async as async_;

/// Memory: perf-core's counting allocator, allocation counts and leak checks
/// ([`perf_core::alloc`]).
#[doc(inline)]
pub use perf_core::alloc;
/// CPU profiles of the running process (feature `profile`, Linux): `perf::profile::cpu`,
/// `perf::profile::cpu_while`, and their pprof protobuf, flame graph and top-N table.
#[cfg(feature = "profile")]
#[doc(inline)]
pub use perf_core::profile;
pub use perf_llm as llm;
pub use perf_load as load;

/// `perf-core`, re-exported whole, with one addition: [`core::export::prometheus`] starts
/// the exporter with the bucket sets of every perf crate's histograms.
pub mod core {
    #[doc(inline)]
    pub use perf_core::*;

    /// `perf_core::export`, whose [`prometheus`](export::prometheus) also knows perf-llm's histograms.
    pub mod export {
        #[doc(inline)]
        pub use perf_core::export::*;

        /// Starts configuring the Prometheus exporter, with perf-llm's GenAI bucket sets
        /// ([`perf_llm::names::HISTOGRAM_BUCKETS`]) on top of `perf_core::export::prometheus()`'s
        /// defaults: each crate names its own histograms' buckets, none copies another's names.
        ///
        /// ```
        /// let (_recorder, exporter) = perf::core::export::prometheus().build().unwrap();
        /// assert!(exporter.local_addr().is_none());
        /// ```
        pub fn prometheus() -> PrometheusBuilder {
            // The sets are constants that `tests/facade.rs` checks install; were one ever
            // invalid, the exporter would still start, with the default buckets.
            perf_core::export::prometheus()
                .buckets_for_metrics(perf_llm::names::HISTOGRAM_BUCKETS)
                .unwrap_or_else(|_| perf_core::export::prometheus())
        }
    }
}

/// `#[perf::llm_call(provider = "openai")]` meters an async fn that calls a model: see
/// `perf_llm::llm_call`. Its generated code names `::perf::llm`, so a crate that depends
/// only on `perf` needs no other dependency.
#[doc(inline)]
pub use perf_macros::llm_call_via_facade as llm_call;

pub use perf_core::{
    histogram, report, summary, summary_with, time, LatencyHistogram, LatencySummary,
};
/// `#[perf::timed]`: see `perf_core::timed`. Its generated code names `::perf::core`, so a
/// crate that depends only on `perf` needs no other dependency.
#[doc(inline)]
pub use perf_macros::timed_via_facade as timed;

#[doc(inline)]
pub use perf_macros::assert_allocations_via_facade as assert_allocations;

pub use perf_core::{
    assert_faster_than, assert_latency, assert_latency_async, assert_no_regression,
    assert_no_regression_async,
};

/// The README's Rust examples, compiled as doctests so the quick start stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
