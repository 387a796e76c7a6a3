//! perf-async: find code that blocks inside async — slow polls with the `file:line` where
//! the future was wrapped, stalls reported while still stuck, and (feature `stack`, Linux)
//! the stalled thread's stack — on stable tokio, without `tokio_unstable`.
//!
//! * [`FutureExt::detect_blocking`] wraps a future and times every poll; statistics go to a
//!   [`BlockingMonitor`] (per location by default, see [`locations`]) and to the `metrics`
//!   facade as `async_polls_total`, `async_slow_polls_total`,
//!   `async_slow_poll_duration_seconds` and `async_stalls_total` (labels `location`, `task`).
//!   Handles are cached per location and registered again when another recorder is in
//!   effect (the exporter installed after the first wrapped future ran, a test's
//!   `metrics::with_local_recorder`). Polls reach `async_polls_total` in batches of 256 per
//!   future and when the future drops, so the hot path never writes a shared counter; a batch
//!   goes to the recorder in effect when it is written.
//! * Slow polls become [`SlowPoll`] reports for a [`SlowPollSink`]: by default a
//!   rate-limited `tracing` WARN ([`TracingSink`]).
//! * [`assert_no_blocking!`] fails a test that blocks.
//! * [`block_in_place`] blocks deliberately (tokio's, handing the worker off): counted
//!   apart, not as a slow poll. `tokio::task::block_in_place` called directly is still
//!   reported; [`runtime`] says why.
//! * [`spawn`], [`task::spawn`] and [`block_on`] cover tasks (see [`runtime`]
//!   for what is and is not covered); [`RuntimeGauges`] exports tokio's runtime metrics.
//! * [`Watchdog`] reports polls still running past their threshold.
//! * Feature `stack` (Linux): the watchdog also captures the stalled thread's stack, so a
//!   report reads `std::thread::functions::sleep ← my_app::handler (src/handler.rs:42)`.
//!   The [`stack`] module documents how, and why it is safe. On other targets the feature
//!   compiles and reports say why they carry no frames.
//!
//! The default threshold is [`DEFAULT_THRESHOLD`] (10 ms; its documentation says why).
//!
//! ```
//! use std::time::Duration;
//! use perf_async::FutureExt;
//!
//! async fn handler() {
//!     std::thread::sleep(Duration::from_millis(30)); // blocks the worker
//! }
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(handler().detect_blocking_named("handler")); // WARN: slow poll took 30ms at src/lib.rs:…
//! let here = perf_async::locations().into_iter().find(|l| l.task == Some("handler")).unwrap();
//! assert_eq!(here.stats.total_slow_poll_count, 1);
//! ```
#![warn(missing_docs)]

// The layout, one line per module:
mod assert; //        `assert_no_blocking!`: fail a test whose future blocks
mod config; //        `Config`: a wrapper's threshold, monitor, sink, clock; the default
mod detect; //        `DetectBlocking` / `FutureExt`: the wrapper that times every poll
mod error; //         `ConfigError`, `WatchdogError`
mod location; //      the wrapping locations, their cached metric handles and `locations()`
mod monitor; //       `BlockingMonitor`: poll statistics shared by many futures
pub mod names; //    every metric name and label key the crate exports
pub mod runtime; //   tokio coverage: `spawn`, `task::spawn`, `block_on`, `RuntimeGauges`
mod slow_poll; //     the `SlowPoll` report and its sinks (`TracingSink`, `CollectingSink`)
pub mod stack; //     feature `stack`: capturing a stalled thread's stack
mod watchdog; //      `Watchdog`: polls still running past their threshold

pub use config::{default_threshold, set_default_threshold, Config, DEFAULT_THRESHOLD};
pub use detect::{DetectBlocking, FutureExt};
pub use error::{ConfigError, WatchdogError};
pub use location::{locations, LocationStats};
pub use monitor::{BlockingMonitor, BlockingStats};
pub use names::{POLLS_TOTAL, SLOW_POLLS_TOTAL, SLOW_POLL_DURATION, STALLS_TOTAL};
pub use runtime::{block_in_place, block_on, spawn, spawn_on, task, GaugeSampler, RuntimeGauges};
pub use slow_poll::{
    set_sink, CollectingSink, PollState, SlowPoll, SlowPollSink, ThreadInfo, TracingSink,
};
pub use stack::{Frame, Stack};
pub use watchdog::{Watchdog, WatchdogConfig};

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::assert::{assert_no_blocking, check_no_blocking};
}
