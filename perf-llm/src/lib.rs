//! perf-llm: exact token and cost accounting for LLM calls.
//!
//! * [`TokenUsage`]: one convention for every provider — `input` includes cached input, so
//!   cached tokens are never billed twice ([`usage`], [`providers`]).
//! * [`PriceTable`] and [`Cost`]: prices read exactly from LiteLLM's price list or perf-llm's
//!   own format (a malformed entry skipped and listed in a [`pricing::LoadReport`], or
//!   refused with [`pricing::LoadMode::Strict`]), bills as decimals that never panic,
//!   prompt-cache savings net of the write premium.
//! * [`LlmCall`] and [`LlmMeter`]: one call recorded as OpenTelemetry GenAI metrics, a cost
//!   counter and one `llm_call` `tracing` event; [`LlmResponse`] is what `#[llm_call]` reads.
//! * [`stream::MeteredStream`]: time to first chunk, time per chunk, decode tokens per second.
//! * [`budget::Budgets`]: soft alerts and hard limits per user, endpoint or model.
//! * [`cache::ResponseCache`]: identical requests and embeddings served once.
//! * `tokens` (feature `tiktoken`): token counting and truncation.
//!
//! ```
//! use perf_llm::{LlmCall, LlmMeter, PriceTable, TokenUsage};
//!
//! let response = serde_json::json!({"id": "chatcmpl-1", "model": "gpt-4o", "usage": {
//!     "prompt_tokens": 2000, "completion_tokens": 300,
//!     "prompt_tokens_details": {"cached_tokens": 1500}}});
//! let usage = TokenUsage::from_openai_chat(&response)?;
//! let cost = PriceTable::builtin().cost("gpt-4o", &usage)?;
//! println!("${:.6} (saved ${:.6})", cost.total_usd(), cost.cache_savings_usd());
//!
//! let meter = LlmMeter::new();
//! let call = LlmCall::new("openai", "gpt-4o").response(&response).record_with(&meter);
//! assert_eq!(call.cost, Some(cost));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//!
//! * [`usage`]: [`TokenUsage`] and [`UsageStatus`], the one convention for every provider.
//! * [`providers`]: response types and `TokenUsage::from_*` per provider; `json`: their readers.
//! * [`pricing`]: the [`PriceTable`] (`table`) and the exact price-file readers (`load`).
//! * `cost`: the bill, [`Cost`], and the [`ResolvedRates`](pricing::ResolvedRates) it is billed at.
//! * `billing`: the exact fixed-point bill, its decimal fallback, the meter's running sum.
//! * `call`: one call, [`LlmCall`], and how it ended, [`CallStatus`].
//! * `response`: [`LlmResponse`], what a response tells the meter (usage, model, provider).
//! * `series`: one meter series (provider, operation, model, error type): handles, totals.
//! * `meter`: [`LlmMeter`]: prices and records calls, exact totals, budgets, the model cap.
//! * `event`: the `llm_call` `tracing` event each recorded call emits.
//! * [`names`]: every metric and attribute name, with the exporter's histogram buckets.
//! * `pending`: `Pending`, the in-flight call guard that `#[llm_call]` generates code against.
//! * [`sse`]: server-sent events, the framing of streamed responses, decoded from bytes.
//! * [`stream`]: streamed responses metered chunk by chunk.
//! * [`budget`]: soft alerts and hard limits per user, endpoint or model.
//! * [`cache`]: identical requests and embeddings served once.
//! * `tokens` (feature `tiktoken`): token counting and truncation.
//! * `error`: [`UsageError`], [`PriceError`], [`BudgetExceeded`].
#![warn(missing_docs)]

mod billing;
pub mod budget;
pub mod cache;
mod call;
mod cost;
mod error;
mod event;
mod meter;
pub mod names;
mod pending;
pub mod pricing;
pub mod providers;
mod response;
mod series;
pub mod sse;
pub mod stream;
#[cfg(feature = "tiktoken")]
pub mod tokens;
pub mod usage;

pub use budget::{Budget, BudgetKey, Budgets, Reservation, Window};
pub use call::{CallStatus, LlmCall};
pub use cost::Cost;
pub use error::{BudgetExceeded, PriceError, Refusal, UsageError};
pub use meter::{LlmMeter, ModelTotals};
pub use names::{
    ATTR_ERROR, ATTR_MODEL, ATTR_OPERATION, ATTR_PROVIDER, ATTR_TOKEN_TYPE, COST_TOTAL,
    COST_WITHOUT_CACHE, OPERATION_DURATION, TIME_PER_OUTPUT_CHUNK, TIME_TO_FIRST_CHUNK,
    TOKEN_USAGE, UNKNOWN_MODEL_TOTAL,
};
pub use pricing::{ModelPrice, PriceTable};
pub use response::LlmResponse;
pub use usage::{TokenUsage, UsageStatus};

/// The decimal type of every amount of money (re-exported so users need not depend on it).
pub use rust_decimal::Decimal;

pub use perf_macros::llm_call;

/// What `#[llm_call]` generates code against. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::meter::LlmMeter;
    pub use crate::pending::{
        global_meter, refused, FromBudgetExceeded, LastModel, LlmResult, Pending,
    };
    /// `#[llm_call]` also times the fn as `#[timed]` does, through perf-core's callsite.
    pub use perf_core;
}
