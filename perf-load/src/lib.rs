//! # perf-load
//!
//! Put a service under load, find the rate at which it breaks, and benchmark an LLM server,
//! with latencies measured from when each request *should* have started, so a stalled server
//! cannot hide its tail (coordinated omission).
//!
//! Re-exported by the facade as `perf::load`. One concept per module:
//!
//! * `error`: [`ConfigError`], what is wrong with a load test's settings.
//! * `schedule`: [`Schedule`], when an open-loop run starts each request.
//! * `pacer`: [`Pacer`], how the generator waits for those instants; `timer_fd` (Linux): the
//!   nanosecond sleep the precise pacer awaits on a multi-threaded runtime; `pacing_thread`:
//!   its own thread there instead, elsewhere.
//! * `open_loop` / `closed_loop`: [`OpenLoop`] and [`ClosedLoop`], the two executors, and
//!   `run_options`: [`RunOptions`], what they share.
//! * `recorder`, `timeline`, `error_kinds`: what each request records into while a run goes.
//! * `report`, `report_text`, `summary`: the [`Report`], its tables and JSON.
//! * `slo`: [`Slo`] and the report's assertions.
//! * `breakpoint`: [`BreakPoint`] (rate steps) and [`ConcurrencySweep`].
//! * `hlog`: HdrHistogram interval logs, written and merged.
//! * `svg` (feature `svg`): latency by percentile and over time.
//! * `target`: [`Target`], what a run calls; `http`: [`HttpTarget`], a hyper client target,
//!   and `connections`: the bounded pool of kept-alive connections it sends on.
//! * [`llm`]: benchmarks of an OpenAI-compatible streaming server (TTFT, ITL, TPOT, E2E).
//! * [`resources`]: RSS, CPU and GPU of the target while a run goes.
//!
//! ```
//! use std::time::Duration;
//! use perf_load::{OpenLoop, Schedule};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let report = OpenLoop::new(Schedule::constant(500.0, Duration::from_millis(200)).unwrap())
//!     .run(|| async { Ok::<_, String>(()) })
//!     .await;
//! report.assert_that("p99 < 50ms, errors < 1%, dropped <= 0");
//! assert_eq!(report.requests, 100);
//! # });
//! ```
#![warn(missing_docs)]

mod breakpoint;
mod closed_loop;
mod connections;
mod error;
mod error_kinds;
pub mod hlog;
mod http;
pub mod llm;
mod open_loop;
mod pacer;
mod pacing_thread;
mod recorder;
mod report;
mod report_text;
pub mod resources;
mod run_options;
mod schedule;
mod slo;
mod summary;
#[cfg(feature = "svg")]
pub mod svg;
mod target;
mod timeline;
#[cfg(target_os = "linux")]
mod timer_fd;

pub use breakpoint::{
    BreakPoint, BreakPointReport, ConcurrencySweep, SearchOptions, Step, StepFn, DEFAULT_MAX_STEPS,
};
pub use closed_loop::ClosedLoop;
pub use connections::HttpError;
pub use error::ConfigError;
pub use error_kinds::{ErrorCount, MAX_KINDS, OTHER_KINDS};
pub use http::{HttpTarget, DEFAULT_CONNECTIONS};
pub use open_loop::{OpenLoop, DEFAULT_MAX_IN_FLIGHT};
pub use pacer::Pacer;
pub use recorder::{Progress, ProgressFn, LATE_AFTER};
pub use report::{Mode, Report};
pub use run_options::{RunOptions, DEFAULT_TIMEOUT, DEFAULT_TOP_ERRORS};
pub use schedule::{Schedule, MAX_REQUESTS};
pub use slo::{parse_duration, parse_rate, Slo, SloViolation};
pub use summary::MsSummary;
pub use target::Target;
pub use timeline::Second;
