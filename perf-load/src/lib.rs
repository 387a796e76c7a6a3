//! # perf-load
//!
//! Put a service under load, find the rate at which it breaks, and benchmark an LLM server,
//! with latencies measured from when each request *should* have started, so a stalled server
//! cannot hide its tail (coordinated omission).
//!
//! Re-exported by the facade as `perf::load`.

pub mod llm;
pub mod resources;
