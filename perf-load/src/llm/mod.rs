//! Benchmark an OpenAI-compatible LLM server: time to first token, inter-token latency and
//! tokens per second as concurrency (or the request rate) grows, and the level where it
//! breaks an SLO.
//!
//! Each request is a streamed chat completion (`stream: true`,
//! `stream_options: {include_usage: true}`) decoded with perf-llm's server-sent-event decoder
//! and usage reader. The numbers follow vLLM's `benchmark_serving.py`, so they compare with
//! it and with genai-perf:
//!
//! | here | vLLM `benchmark_serving.py` | genai-perf | meaning |
//! |---|---|---|---|
//! | `ttft` | `ttft` | `time_to_first_token` | request sent → first chunk with text (vLLM: with `choices`) |
//! | `itl` | `itl` | — | gap between consecutive content chunks |
//! | `tpot` | `tpot` | `inter_token_latency` | `(e2el − ttft) / (output tokens − 1)` per request |
//! | `e2el` | `e2el` | `request_latency` | request sent → last chunk with `choices` |
//! | `requests_per_s` | `request_throughput` | `request_throughput` | completed requests / level duration |
//! | `output_tokens_per_s` | `output_throughput` | `output_token_throughput` | output tokens / level duration |
//! | `output_tokens_per_s_per_request` | — | `output_token_throughput_per_request` | mean of output tokens / e2el |
//!
//! [`MockServer`] is a configurable mock of such a server, for tests.

mod bench;
mod client;
mod error;
mod level;
mod mock;
mod progress;
mod prompts;
mod report;
mod timing;

pub use bench::LlmBenchmark;
pub use client::Endpoint;
pub use error::{LlmError, RequestError};
pub use level::{Level, LevelReport};
pub use mock::{MockConfig, MockFailure, MockServer};
pub use progress::{LevelProgress, LevelProgressFn};
pub use prompts::{prompts_from_file, prompts_from_jsonl, synthetic_prompts, Prompt};
pub use report::{BreakPoint, BreakReason, LlmReport, Slo};
pub use timing::RequestMetrics;
