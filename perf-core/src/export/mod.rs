//! Prometheus export: perf's own histograms, rendered from their shards at scrape time,
//! served in one exposition with everything recorded through the `metrics` facade (the
//! counters and gauges of perf-llm, perf-async and the application).
//!
//! Timed calls are **not** pushed through the facade per call: measured here, a cached
//! `metrics::Histogram` record into metrics-exporter-prometheus costs ~40 ns and slows 5×
//! per thread under two threads, against ~7 ns for a thread-local shard record.
//!
//! ```no_run
//! # fn main() -> Result<(), perf_core::ExportError> {
//! let exporter = perf_core::export::prometheus()
//!     .with_http_listener(([127, 0, 0, 1], 9000))
//!     .add_global_label("service", "checkout")?
//!     .install()?;
//! println!("scrape http://{}/metrics", exporter.local_addr().unwrap());
//! # Ok(()) }
//! ```

mod bridge;
mod builder;
mod exporter;
mod layer;
#[cfg(feature = "profile")]
mod pprof_endpoint;
mod server;
mod text;

pub use bridge::{bridge, Bridge, BridgeBuilder};
pub use builder::{prometheus, PrometheusBuilder, DEFAULT_HEADER_READ_TIMEOUT};
pub use exporter::PrometheusExporter;
pub use layer::{CardinalityLayer, CardinalityRecorder};
pub use text::{render, RenderOptions};

pub use crate::names::{
    DEFAULT_LATENCY_BUCKETS, FUNCTION_CALLS, FUNCTION_DURATION, GEN_AI_DURATION_BUCKETS,
    GEN_AI_TIME_PER_CHUNK_BUCKETS, GEN_AI_TOKEN_BUCKETS,
};
