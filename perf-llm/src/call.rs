//! One model call as a record — provider, operation, model, usage, cost, latency, time to
//! first chunk, status — built before or after the request and handed to a meter
//! ([`LlmMeter`](crate::LlmMeter)) to be priced and recorded.

use std::borrow::Cow;
use std::time::Duration;

use crate::budget::BudgetKey;
use crate::cost::Cost;
use crate::response::LlmResponse;
use crate::usage::{TokenUsage, UsageStatus};

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CallStatus {
    /// The provider answered.
    #[default]
    Ok,
    /// The call failed; the string is the error type (`timeout`, `429`, `rate_limited` …).
    Error(Cow<'static, str>),
    /// The caller stopped waiting (a stream dropped before its end).
    Cancelled,
}

impl CallStatus {
    /// The `error_type` attribute: `None` for `Ok`.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            CallStatus::Ok => None,
            CallStatus::Error(e) => Some(e),
            CallStatus::Cancelled => Some(CANCELLED),
        }
    }

    /// [`error_type`](Self::error_type), kept borrowed where it is `'static`.
    pub(crate) fn error_type_cow(&self) -> Option<Cow<'static, str>> {
        match self {
            CallStatus::Ok => None,
            CallStatus::Error(e) => Some(e.clone()),
            CallStatus::Cancelled => Some(Cow::Borrowed(CANCELLED)),
        }
    }
}

/// The `error_type` of a cancelled call.
const CANCELLED: &str = "cancelled";

/// One model call. Build it with the methods below, then [`record`](LlmCall::record) it.
/// Prompt and completion text have no place here, so they are never logged.
///
/// ```
/// use std::time::Duration;
/// use perf_llm::{LlmCall, LlmMeter, TokenUsage};
///
/// let meter = LlmMeter::new(); // built-in prices; LlmCall::record() uses LlmMeter::global()
/// let call = LlmCall::new("openai", "gpt-4o-mini")
///     .request_id("chatcmpl-123")
///     .usage(TokenUsage::new(1000, 200))
///     .latency(Duration::from_millis(850))
///     .record_with(&meter);
/// // 1000 × $0.15/M + 200 × $0.60/M
/// assert_eq!(call.cost.unwrap().total.normalize().to_string(), "0.00027");
/// ```
///
/// What `#[llm_call]` generates is, in substance:
///
/// ```
/// # use perf_llm::LlmCall;
/// # fn send() -> Result<serde_json::Value, std::io::Error> {
/// #   Ok(serde_json::json!({"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 1}}))
/// # }
/// let pending = LlmCall::start("openai", "gpt-4o"); // reads the clock
/// let result = send();
/// match &result {
///     Ok(response) => pending.response(response).record(),
///     Err(e) => pending.error("io").record(),
/// };
/// ```
#[derive(Debug, Clone, Default)]
pub struct LlmCall {
    /// The provider's (or the caller's) id for the request.
    pub request_id: Option<String>,
    /// `openai`, `anthropic` …
    pub provider: Cow<'static, str>,
    /// `chat` (default), `embeddings`, `text_completion` …
    pub operation: Cow<'static, str>,
    /// The model asked for (the price table's key). Borrowed when given as a
    /// `&'static str`, so a literal model name costs no allocation.
    pub model: Cow<'static, str>,
    /// Token usage, or why it is not known.
    pub usage: UsageStatus,
    /// The bill; filled in by `record` from the meter's price table if not given.
    pub cost: Option<Cost>,
    /// Wall time of the whole call; `record` measures it from [`LlmCall::start`] if unset.
    pub latency: Option<Duration>,
    /// Time to the first chunk of a streamed call.
    pub time_to_first_chunk: Option<Duration>,
    /// Time between consecutive output chunks of a streamed call.
    pub chunk_gaps: Vec<Duration>,
    /// Decode speed: `(output tokens − 1) / (latency − time to first chunk)`.
    pub decode_tokens_per_second: Option<f64>,
    /// How the call ended.
    pub status: CallStatus,
    /// The end user the call was made for (budgets; never a metric label).
    pub user: Option<String>,
    /// The application endpoint that made the call (budgets; never a metric label).
    pub endpoint: Option<String>,
    pub(crate) started_at: Option<u64>,
}

impl LlmCall {
    /// A call to `model` of `provider`, operation `chat`.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        model: impl Into<Cow<'static, str>>,
    ) -> Self {
        LlmCall {
            provider: provider.into(),
            operation: Cow::Borrowed("chat"),
            model: model.into(),
            ..LlmCall::default()
        }
    }

    /// Like [`new`](Self::new), and reads the clock: `record` sets the latency from here.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn start(
        provider: impl Into<Cow<'static, str>>,
        model: impl Into<Cow<'static, str>>,
    ) -> Self {
        let mut c = Self::new(provider, model);
        c.started_at = Some(perf_core::clock::now_nanos());
        c
    }

    /// Sets the operation (`chat`, `embeddings` …).
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn operation(mut self, op: impl Into<Cow<'static, str>>) -> Self {
        self.operation = op.into();
        self
    }

    /// Sets the request id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets usage reported by the provider.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn usage(mut self, usage: TokenUsage) -> Self {
        self.usage = UsageStatus::Reported(usage);
        self
    }

    /// Sets usage as given (reported, estimated or missing).
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn usage_status(mut self, usage: UsageStatus) -> Self {
        self.usage = usage;
        self
    }

    /// Takes usage, model (if none was set) and request id from a response. A response
    /// without readable usage leaves the usage `Missing` (and logs why at DEBUG).
    pub fn response(mut self, r: &impl LlmResponse) -> Self {
        self.apply_response(r);
        self
    }

    /// [`response`](Self::response) in place.
    pub(crate) fn apply_response(&mut self, r: &impl LlmResponse) {
        match r.usage() {
            Ok(u) => self.usage = UsageStatus::Reported(u),
            Err(e) => {
                tracing::debug!(target: "perf_llm", error = %e, "response usage not readable");
                self.usage = UsageStatus::Missing;
            }
        }
        if self.model.is_empty() {
            if let Some(m) = r.model() {
                self.model = Cow::Owned(m.to_owned());
            }
        }
        if self.provider.is_empty() {
            if let Some(p) = r.provider() {
                self.provider = Cow::Borrowed(p);
            }
        }
        if self.request_id.is_none() {
            self.request_id = r.request_id().map(str::to_owned);
        }
    }

    /// Sets the bill (otherwise computed when recorded).
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// Sets the wall time of the call.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = Some(d);
        self
    }

    /// Sets the time to the first streamed chunk.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn time_to_first_chunk(mut self, d: Duration) -> Self {
        self.time_to_first_chunk = Some(d);
        self
    }

    /// Marks the call failed with an error type (a low-cardinality name).
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn error(mut self, error_type: impl Into<Cow<'static, str>>) -> Self {
        self.status = CallStatus::Error(error_type.into());
        self
    }

    /// Sets the end user (for budgets and the log; never a metric label).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the endpoint (for budgets and the log; never a metric label).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The budget keys this call charges: user, endpoint and model, where known (no model
    /// key while the model is empty, i.e. known only from the response).
    pub fn budget_keys(&self) -> Vec<BudgetKey> {
        let mut keys = Vec::with_capacity(3);
        if let Some(u) = &self.user {
            keys.push(BudgetKey::user(u.clone()));
        }
        if let Some(e) = &self.endpoint {
            keys.push(BudgetKey::endpoint(e.clone()));
        }
        if !self.model.is_empty() {
            keys.push(BudgetKey::model(self.model.to_string()));
        }
        keys
    }
}
