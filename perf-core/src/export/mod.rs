//! Prometheus export: perf's own histograms, rendered from their shards at scrape time,
//! served in one exposition with everything recorded through the `metrics` facade (the
//! counters and gauges of perf-llm, perf-async and the application). A scrape that asks for
//! protobuf gets each histogram also as a native histogram (see [`HistogramFormat`]), so
//! Prometheus' p99 is perf's p99 within 1.1%. Optionally with the process metrics read from
//! `/proc` ([`PrometheusBuilder::with_process_metrics`], Linux), and pushed to a Pushgateway
//! for jobs too short to be scraped ([`PrometheusBuilder::with_push_gateway`]).
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
pub mod client_model;
mod exporter;
mod layer;
mod native;
mod negotiate;
#[cfg(feature = "profile")]
mod pprof_endpoint;
mod process;
mod protobuf;
mod push;
mod server;
mod text;
mod text_parser;

pub use bridge::{bridge, Bridge, BridgeBuilder};
pub use builder::{prometheus, PrometheusBuilder, DEFAULT_HEADER_READ_TIMEOUT};
pub use exporter::PrometheusExporter;
pub use layer::{CardinalityLayer, CardinalityRecorder};
pub use native::{
    HistogramFormat, NativeOptions, DEFAULT_NATIVE_BUCKET_LIMIT, MIN_NATIVE_SCHEMA, NATIVE_SCHEMA,
    NATIVE_ZERO_THRESHOLD,
};
pub use protobuf::{render_protobuf, PROTOBUF_CONTENT_TYPE};
pub use push::{PushConfigError, PushJob, DEFAULT_PUSH_TIMEOUT, PUSH_ERROR_LOG_INTERVAL};
pub use text::{render, RenderOptions};

pub use crate::names::{
    DEFAULT_LATENCY_BUCKETS, FUNCTION_CALLS, FUNCTION_DURATION, GEN_AI_DURATION_BUCKETS,
    GEN_AI_TIME_PER_CHUNK_BUCKETS, GEN_AI_TOKEN_BUCKETS,
};
