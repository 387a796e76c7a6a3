//! One model call as a record — provider, operation, model, usage, cost, latency, time to
//! first chunk, status — and the [`LlmMeter`] that prices it and records it through
//! `metrics` (OpenTelemetry GenAI names) and one `tracing` event `llm_call`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use serde_json::Value;

use crate::budget::{BudgetKey, Budgets};
use crate::cost::{Cost, CostSum};
use crate::error::{BudgetExceeded, UsageError};
use crate::pricing::{PreparedPrice, PriceTable};
use crate::providers::{anthropic, openai};
use crate::usage::{TokenUsage, UsageStatus};

/// Histogram of call durations, seconds (`gen_ai.client.operation.duration`).
pub const OPERATION_DURATION: &str = "gen_ai_client_operation_duration_seconds";
/// Histogram of tokens per call, by `gen_ai_token_type` (`gen_ai.client.token.usage`).
pub const TOKEN_USAGE: &str = "gen_ai_client_token_usage";
/// Histogram of time to first chunk of streamed calls, seconds.
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai_client_operation_time_to_first_chunk_seconds";
/// Histogram of the time between output chunks of streamed calls, seconds.
pub const TIME_PER_OUTPUT_CHUNK: &str = "gen_ai_client_operation_time_per_output_chunk_seconds";
/// Counter of money spent, in **nano-USD** (10⁻⁹ $).
///
/// A `metrics` counter is a `u64`, so dollars cannot be counted directly. The exact total
/// is kept in-process per series (integer fixed point at the prices' own scale); the counter
/// is set to its floor in nano-dollars, so it never drifts from the exact sum by more than
/// 1 n$ however many calls are added. Divide by 1e9 in queries: `sum(rate(gen_ai_client_cost_nano_usd_total[1h])) / 1e9`.
pub const COST_TOTAL: &str = "gen_ai_client_cost_nano_usd_total";
/// Gauge of net prompt-cache savings so far, USD (display value of an exact decimal total).
///
/// A gauge, not a counter: savings are net of the cache-write premium and go down when a
/// call writes to the cache and reads nothing.
pub const CACHE_SAVINGS: &str = "gen_ai_client_cache_savings_usd";
/// Counter of price lookups for models the price table does not know.
pub const UNKNOWN_MODEL_TOTAL: &str = "gen_ai_client_unknown_model_total";
/// Attribute: the operation (`chat`, `embeddings`, `text_completion` …).
pub const ATTR_OPERATION: &str = "gen_ai_operation_name";
/// Attribute: the provider (`openai`, `anthropic` …).
pub const ATTR_PROVIDER: &str = "gen_ai_provider_name";
/// Attribute: the model asked for.
pub const ATTR_MODEL: &str = "gen_ai_request_model";
/// Attribute of [`TOKEN_USAGE`]: `input` or `output`.
pub const ATTR_TOKEN_TYPE: &str = "gen_ai_token_type";
/// Attribute of failed calls: the error's type.
pub const ATTR_ERROR: &str = "error_type";

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
    fn error_type_cow(&self) -> Option<Cow<'static, str>> {
        match self {
            CallStatus::Ok => None,
            CallStatus::Error(e) => Some(e.clone()),
            CallStatus::Cancelled => Some(Cow::Borrowed(CANCELLED)),
        }
    }
}

/// The `error_type` of a cancelled call.
const CANCELLED: &str = "cancelled";

/// What a response type tells the meter: its usage and the model that answered.
/// Implemented for the provider types in [`providers`](crate::providers) and for
/// `serde_json::Value` (the provider is recognised by the usage's shape). This is what
/// `#[llm_call]` calls on the function's return value.
///
/// ```
/// use perf_llm::LlmResponse;
/// let v = serde_json::json!({"id": "msg_1", "type": "message", "model": "claude-3-5-haiku",
///     "usage": {"input_tokens": 10, "output_tokens": 2}});
/// assert_eq!(v.model(), Some("claude-3-5-haiku"));
/// assert_eq!(v.provider(), Some("anthropic"));
/// assert_eq!(v.usage().unwrap().input, 10);
/// ```
pub trait LlmResponse {
    /// The token usage the provider reported.
    fn usage(&self) -> Result<TokenUsage, UsageError>;
    /// The model that answered, if the response says.
    fn model(&self) -> Option<&str>;
    /// The provider's id for this response.
    fn request_id(&self) -> Option<&str> {
        None
    }
    /// The provider, if the response type implies one.
    fn provider(&self) -> Option<&'static str> {
        None
    }
}

impl<T: LlmResponse + ?Sized> LlmResponse for &T {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        (**self).usage()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn request_id(&self) -> Option<&str> {
        (**self).request_id()
    }
    fn provider(&self) -> Option<&'static str> {
        (**self).provider()
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl LlmResponse for openai::ChatCompletion {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        match &self.usage {
            Some(u) => TokenUsage::try_from(u),
            None => Err(UsageError::Missing {
                provider: "openai chat",
            }),
        }
    }
    fn model(&self) -> Option<&str> {
        non_empty(&self.model)
    }
    fn request_id(&self) -> Option<&str> {
        non_empty(&self.id)
    }
    fn provider(&self) -> Option<&'static str> {
        Some("openai")
    }
}

impl LlmResponse for anthropic::Message {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        TokenUsage::try_from(&self.usage)
    }
    fn model(&self) -> Option<&str> {
        non_empty(&self.model)
    }
    fn request_id(&self) -> Option<&str> {
        non_empty(&self.id)
    }
    fn provider(&self) -> Option<&'static str> {
        Some("anthropic")
    }
}

/// The usage shape of a JSON response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
}

fn shape(v: &Value) -> Option<Shape> {
    let inner = v.get("response").filter(|r| r.is_object()).unwrap_or(v);
    let inner = inner
        .get("message")
        .filter(|m| m.is_object())
        .unwrap_or(inner);
    let u = inner
        .get("usage")
        .filter(|u| u.is_object())
        .unwrap_or(inner);
    if u.get("prompt_tokens").is_some() {
        Some(Shape::OpenAiChat)
    } else if u.get("input_tokens_details").is_some()
        || u.get("output_tokens_details").is_some()
        || inner.get("object").and_then(Value::as_str) == Some("response")
    {
        Some(Shape::OpenAiResponses)
    } else if u.get("input_tokens").is_some() || u.get("output_tokens").is_some() {
        Some(Shape::Anthropic)
    } else {
        None
    }
}

impl LlmResponse for Value {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        match shape(self) {
            Some(Shape::OpenAiChat) => TokenUsage::from_openai_chat(self),
            Some(Shape::OpenAiResponses) => TokenUsage::from_openai_responses(self),
            Some(Shape::Anthropic) => TokenUsage::from_anthropic(self),
            None => Err(UsageError::Missing { provider: "json" }),
        }
    }
    fn model(&self) -> Option<&str> {
        self.get("model")
            .or_else(|| self.get("response").and_then(|r| r.get("model")))
            .or_else(|| self.get("message").and_then(|r| r.get("model")))
            .and_then(Value::as_str)
    }
    fn request_id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }
    fn provider(&self) -> Option<&'static str> {
        match shape(self)? {
            Shape::OpenAiChat | Shape::OpenAiResponses => Some("openai"),
            Shape::Anthropic => Some("anthropic"),
        }
    }
}

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
    started_at: Option<u64>,
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

    /// The budget keys this call charges: user, endpoint and model, where known.
    pub fn budget_keys(&self) -> Vec<BudgetKey> {
        let mut keys = Vec::with_capacity(3);
        if let Some(u) = &self.user {
            keys.push(BudgetKey::user(u.clone()));
        }
        if let Some(e) = &self.endpoint {
            keys.push(BudgetKey::endpoint(e.clone()));
        }
        keys.push(BudgetKey::model(self.model.to_string()));
        keys
    }

    /// Records the call with the global meter ([`LlmMeter::global`]); returns it with its
    /// cost and latency filled in.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn record(self) -> LlmCall {
        LlmMeter::global().record(self)
    }

    /// Records the call with `meter`.
    // Inlined so a builder chain constructs the call in place instead of copying it
    // (a few hundred bytes) at each step.
    #[inline]
    pub fn record_with(self, meter: &LlmMeter) -> LlmCall {
        meter.record(self)
    }
}

/// The `metrics` handles of one series, bound to the recorder they were registered with.
struct Handles {
    recorder: usize,
    duration: Histogram,
    input_tokens: Histogram,
    output_tokens: Histogram,
    ttfc: Histogram,
    per_chunk: Histogram,
    cost: Counter,
    savings: Gauge,
}

type SeriesMap = HashMap<u64, Vec<Arc<Series>>, foldhash::fast::FixedState>;

/// One (provider, operation, model, error type): its handles and exact running totals.
///
/// The names are kept as the first call gave them: a `&'static str` stays borrowed, so a
/// later call with the same literal matches by address without comparing bytes.
struct Series {
    provider: Cow<'static, str>,
    operation: Cow<'static, str>,
    model: Cow<'static, str>,
    error_type: Option<Cow<'static, str>>,
    state: Mutex<SeriesState>,
}

/// What identifies a series, borrowed from the call being recorded.
struct SeriesKey<'a> {
    provider: &'a Cow<'static, str>,
    operation: &'a Cow<'static, str>,
    model: &'a Cow<'static, str>,
    status: &'a CallStatus,
}

/// String equality that skips the byte comparison when both sides are the same slice (the
/// common case of a series keyed by literals).
#[inline]
fn same(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

struct SeriesState {
    handles: Option<Handles>,
    /// The model's price and the price-table generation it was taken from; `None` until the
    /// first priced call, and while the table does not know the model.
    price: Option<(u64, PreparedPrice)>,
    totals: Totals,
}

/// Exact running totals of one series.
#[derive(Debug, Clone, Default)]
struct Totals {
    calls: u64,
    usage_missing: u64,
    unpriced: u64,
    usage: TokenUsage,
    cost: CostSum,
}

/// What a meter has recorded for one model (all outcomes), with exact money.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelTotals {
    /// The provider.
    pub provider: String,
    /// The operation.
    pub operation: String,
    /// The model.
    pub model: String,
    /// Calls recorded.
    pub calls: u64,
    /// Calls that ended in an error or were cancelled.
    pub errors: u64,
    /// Calls whose usage was missing (not billed; look at these).
    pub usage_missing: u64,
    /// Calls with usage but no price (unknown model).
    pub unpriced: u64,
    /// Tokens summed (saturating at `u64::MAX` per field).
    pub usage: TokenUsage,
    /// Money summed, exact.
    pub cost: Cost,
}

fn current_recorder() -> usize {
    metrics::with_recorder(|r| r as *const dyn metrics::Recorder as *const () as usize)
}

fn register(s: &Series) -> Handles {
    let mut labels = vec![
        (ATTR_OPERATION, s.operation.to_string()),
        (ATTR_PROVIDER, s.provider.to_string()),
        (ATTR_MODEL, s.model.to_string()),
    ];
    if let Some(e) = &s.error_type {
        labels.push((ATTR_ERROR, e.to_string()));
    }
    let labels: Vec<metrics::Label> = labels
        .into_iter()
        .map(|(k, v)| metrics::Label::new(k, v))
        .collect();
    let with_type = |t: &'static str| {
        let mut l = labels.clone();
        l.push(metrics::Label::new(ATTR_TOKEN_TYPE, t));
        l
    };
    metrics::describe_histogram!(
        OPERATION_DURATION,
        metrics::Unit::Seconds,
        "GenAI operation duration"
    );
    metrics::describe_histogram!(
        TOKEN_USAGE,
        "Tokens used per GenAI call, by gen_ai_token_type"
    );
    metrics::describe_histogram!(
        TIME_TO_FIRST_CHUNK,
        metrics::Unit::Seconds,
        "Time to the first chunk of a streamed GenAI call"
    );
    metrics::describe_histogram!(
        TIME_PER_OUTPUT_CHUNK,
        metrics::Unit::Seconds,
        "Time between output chunks of a streamed GenAI call"
    );
    metrics::describe_counter!(
        COST_TOTAL,
        "Money spent on GenAI calls, in nano-USD (1e-9 USD)"
    );
    metrics::describe_gauge!(
        CACHE_SAVINGS,
        "Net prompt-cache savings of GenAI calls so far, USD"
    );
    Handles {
        recorder: current_recorder(),
        duration: metrics::histogram!(OPERATION_DURATION, labels.clone()),
        input_tokens: metrics::histogram!(TOKEN_USAGE, with_type("input")),
        output_tokens: metrics::histogram!(TOKEN_USAGE, with_type("output")),
        ttfc: metrics::histogram!(TIME_TO_FIRST_CHUNK, labels.clone()),
        per_chunk: metrics::histogram!(TIME_PER_OUTPUT_CHUNK, labels.clone()),
        cost: metrics::counter!(COST_TOTAL, labels.clone()),
        savings: metrics::gauge!(CACHE_SAVINGS, labels),
    }
}

/// Prices calls and records them: `metrics` series with handles cached per
/// (provider, operation, model, error type), exact money totals, budgets, the `llm_call`
/// `tracing` event. One global meter serves [`LlmCall::record`]; make others for tests or
/// separate accounts.
///
/// Handles are registered with the `metrics` recorder in effect at the first call of a
/// series, and again if a different recorder is in effect later (e.g. the exporter was
/// installed after the first call, or a test's local recorder).
///
/// ```
/// use perf_llm::{LlmCall, LlmMeter, PriceTable, TokenUsage};
///
/// let meter = LlmMeter::with_prices(PriceTable::builtin());
/// LlmCall::new("openai", "gpt-4o").usage(TokenUsage::new(100, 10)).record_with(&meter);
/// LlmCall::new("openai", "gpt-4o").usage(TokenUsage::new(100, 10)).record_with(&meter);
/// let t = &meter.totals()[0];
/// assert_eq!((t.calls, t.usage.input), (2, 200));
/// ```
pub struct LlmMeter {
    hasher: foldhash::fast::RandomState,
    prices: RwLock<Arc<PriceTable>>,
    /// Bumped by `set_prices`: series re-resolve their cached price when it moves.
    prices_generation: AtomicU64,
    /// Keyed by the series' own hash, so the map hashes that `u64` with foldhash too.
    series: RwLock<SeriesMap>,
    budgets: RwLock<Option<Arc<Budgets>>>,
    /// Whether `budgets` is set, read without the lock on every call.
    has_budgets: AtomicBool,
}

impl std::fmt::Debug for LlmMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmMeter")
            .field("series", &self.series.read().map(|s| s.len()).unwrap_or(0))
            .finish_non_exhaustive()
    }
}

impl Default for LlmMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl LlmMeter {
    /// A meter with the built-in price table and no budgets.
    pub fn new() -> Self {
        Self::with_prices(PriceTable::builtin())
    }

    /// A meter with `prices`.
    pub fn with_prices(prices: PriceTable) -> Self {
        LlmMeter {
            hasher: foldhash::fast::RandomState::default(),
            prices: RwLock::new(Arc::new(prices)),
            prices_generation: AtomicU64::new(0),
            series: RwLock::new(SeriesMap::default()),
            budgets: RwLock::new(None),
            has_budgets: AtomicBool::new(false),
        }
    }

    /// The process-wide meter that [`LlmCall::record`] uses (built-in prices until
    /// [`set_prices`](Self::set_prices)).
    pub fn global() -> &'static LlmMeter {
        static GLOBAL: OnceLock<LlmMeter> = OnceLock::new();
        GLOBAL.get_or_init(LlmMeter::new)
    }

    /// Replaces the price table.
    pub fn set_prices(&self, prices: PriceTable) {
        *self.prices.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(prices);
        self.prices_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The price table in use.
    pub fn prices(&self) -> Arc<PriceTable> {
        self.prices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Charges every recorded call's cost to `budgets` (by user, endpoint and model).
    pub fn set_budgets(&self, budgets: Arc<Budgets>) {
        *self.budgets.write().unwrap_or_else(|e| e.into_inner()) = Some(budgets);
        self.has_budgets.store(true, Ordering::Release);
    }

    /// Before sending: refuses `call` if a hard budget of its user, endpoint or model is
    /// spent. `Ok` when no budgets are set.
    pub fn check_budget(&self, call: &LlmCall) -> Result<(), BudgetExceeded> {
        match &*self.budgets.read().unwrap_or_else(|e| e.into_inner()) {
            Some(b) => b.check(&call.budget_keys()),
            None => Ok(()),
        }
    }

    /// Runs `f` on `call`'s series (made on its first call), under the map's read lock: one
    /// hash and no reference-count traffic on the hot path.
    fn with_series<R>(&self, key: &SeriesKey<'_>, f: impl FnOnce(&Series) -> R) -> R {
        let e = key.status.error_type();
        let h = self
            .hasher
            .hash_one((&**key.provider, &**key.operation, &**key.model, e));
        let matches = |s: &&Arc<Series>| {
            same(&s.model, key.model)
                && same(&s.provider, key.provider)
                && same(&s.operation, key.operation)
                && match (&s.error_type, e) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same(a, b),
                    _ => false,
                }
        };
        {
            let map = self.series.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = map.get(&h).and_then(|v| v.iter().find(matches)) {
                return f(s);
            }
        }
        let s = {
            let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
            let bucket = map.entry(h).or_default();
            match bucket.iter().find(matches) {
                Some(s) => s.clone(),
                None => {
                    let s = Arc::new(Series {
                        provider: key.provider.clone(),
                        operation: key.operation.clone(),
                        model: key.model.clone(),
                        error_type: key.status.error_type_cow(),
                        state: Mutex::new(SeriesState {
                            handles: None,
                            price: None,
                            totals: Totals::default(),
                        }),
                    });
                    bucket.push(s.clone());
                    s
                }
            }
        };
        f(&s)
    }

    /// Bills `usage` on `model` with the series' cached price, re-resolved when the table
    /// was replaced. An unknown model goes to the table each time, so each miss is counted.
    #[inline]
    fn bill(
        &self,
        price: &mut Option<(u64, PreparedPrice)>,
        model: &str,
        usage: &TokenUsage,
        totals: &mut CostSum,
    ) -> Result<Cost, crate::error::PriceError> {
        let generation = self.prices_generation.load(Ordering::Acquire);
        if price.as_ref().map(|(g, _)| *g) != Some(generation) {
            *price = self.prices().prepared(model).map(|p| (generation, p));
        }
        match price {
            Some((_, p)) => {
                let (cost, fixed) = p.bill(usage);
                match fixed {
                    Some(f) => totals.add_fixed(&f),
                    None => totals.add(&cost),
                }
                Ok(cost)
            }
            None => {
                let cost = self.prices().cost_unnormalized(model, usage)?;
                totals.add(&cost);
                Ok(cost)
            }
        }
    }

    /// Prices (if no cost was given and usage is known), records metrics and the
    /// `llm_call` event, charges budgets. Returns the call with cost and latency filled in.
    // Inlined, with the work behind a reference, so the call is built in place by the
    // caller and neither copied in nor out (a few hundred bytes each way).
    #[inline]
    pub fn record(&self, mut call: LlmCall) -> LlmCall {
        self.record_in_place(&mut call);
        call
    }

    pub(crate) fn record_in_place(&self, call: &mut LlmCall) {
        if call.latency.is_none() {
            if let Some(t0) = call.started_at {
                call.latency = Some(Duration::from_nanos(
                    perf_core::clock::now_nanos().saturating_sub(t0),
                ));
            }
        }
        // Disjoint borrows: the key fields are read while the cost is written in place.
        let LlmCall {
            provider,
            operation,
            model,
            status,
            usage,
            cost,
            latency,
            time_to_first_chunk,
            chunk_gaps,
            ..
        } = &mut *call;
        let key = SeriesKey {
            provider,
            operation,
            model,
            status,
        };
        let unpriced = self.with_series(&key, |series| {
            let recorder = current_recorder();
            let mut st = series.state.lock().unwrap_or_else(|e| e.into_inner());
            let st = &mut *st;
            if st.handles.as_ref().map(|h| h.recorder) != Some(recorder) {
                st.handles = Some(register(series));
            }
            let t = &mut st.totals;
            t.calls += 1;
            let mut unpriced = None;
            match usage.usage() {
                Some(u) => {
                    t.usage = saturating_add(&t.usage, u);
                    match cost {
                        Some(c) => t.cost.add(c),
                        None => match self.bill(&mut st.price, model, u, &mut t.cost) {
                            Ok(c) => *cost = Some(c),
                            Err(e) => {
                                t.unpriced += 1;
                                unpriced = Some(Box::new(e));
                            }
                        },
                    }
                }
                None => {
                    t.usage_missing += 1;
                    if let Some(c) = cost {
                        t.cost.add(c);
                    }
                }
            }
            let Some(h) = st.handles.as_ref() else {
                unreachable!("registered above")
            };
            if let Some(l) = latency {
                h.duration.record(l.as_secs_f64());
            }
            if let Some(u) = usage.usage() {
                h.input_tokens.record(u.input as f64);
                h.output_tokens.record(u.output as f64);
            }
            if let Some(t) = time_to_first_chunk {
                h.ttfc.record(t.as_secs_f64());
            }
            for g in chunk_gaps.iter() {
                h.per_chunk.record(g.as_secs_f64());
            }
            if cost.is_some() {
                h.cost.absolute(st.totals.cost.total_nanos());
                h.savings.set(st.totals.cost.savings_f64());
            }
            unpriced
        });
        if let Some(e) = unpriced {
            tracing::warn!(target: "perf_llm", model = %call.model, error = %e, "LLM call not priced");
        }
        if let Some(c) = &call.cost {
            if self.has_budgets.load(Ordering::Acquire) {
                if let Some(b) = &*self.budgets.read().unwrap_or_else(|e| e.into_inner()) {
                    b.charge(&call.budget_keys(), c.total);
                }
            }
        }
        emit_event(call);
    }

    /// Exact totals per (provider, operation, model), costliest first.
    pub fn totals(&self) -> Vec<ModelTotals> {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut by_model: HashMap<(String, String, String), ModelTotals> = HashMap::new();
        for s in map.values().flatten() {
            let t = s
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .totals
                .clone();
            let m = by_model
                .entry((
                    s.provider.to_string(),
                    s.operation.to_string(),
                    s.model.to_string(),
                ))
                .or_insert_with(|| ModelTotals {
                    provider: s.provider.to_string(),
                    operation: s.operation.to_string(),
                    model: s.model.to_string(),
                    ..ModelTotals::default()
                });
            m.calls += t.calls;
            if s.error_type.is_some() {
                m.errors += t.calls;
            }
            m.usage_missing += t.usage_missing;
            m.unpriced += t.unpriced;
            m.usage = saturating_add(&m.usage, &t.usage);
            m.cost += t.cost.cost();
        }
        let mut v: Vec<ModelTotals> = by_model
            .into_values()
            .map(|mut m| {
                m.cost = m.cost.normalized();
                m
            })
            .collect();
        v.sort_by(|a, b| {
            b.cost
                .total
                .cmp(&a.cost.total)
                .then_with(|| a.model.cmp(&b.model))
        });
        v
    }
}

fn saturating_add(a: &TokenUsage, b: &TokenUsage) -> TokenUsage {
    TokenUsage {
        input: a.input.saturating_add(b.input),
        output: a.output.saturating_add(b.output),
        cache_read: a.cache_read.saturating_add(b.cache_read),
        cache_write: a.cache_write.saturating_add(b.cache_write),
        cache_write_1h: a.cache_write_1h.saturating_add(b.cache_write_1h),
        reasoning: a.reasoning.saturating_add(b.reasoning),
    }
}

fn emit_event(call: &LlmCall) {
    let u = call.usage.usage().copied().unwrap_or_default();
    // Normalised for the log only; the closures run only if a subscriber wants the event.
    let cost = call.cost.as_ref();
    macro_rules! ev {
        ($lvl:expr) => {
            tracing::event!(
                name: "llm_call",
                target: "perf_llm",
                $lvl,
                request_id = call.request_id.as_deref(),
                gen_ai_provider_name = %call.provider,
                gen_ai_operation_name = %call.operation,
                gen_ai_request_model = %call.model,
                usage = call.usage.as_str(),
                input_tokens = u.input,
                output_tokens = u.output,
                cache_read_tokens = u.cache_read,
                cache_write_tokens = u.cache_write,
                reasoning_tokens = u.reasoning,
                cost_usd = cost.map(|c| tracing::field::display(c.total.normalize())),
                cache_savings_usd = cost.map(|c| tracing::field::display(c.cache_savings().normalize())),
                latency_ms = call.latency.map(|d| d.as_secs_f64() * 1e3),
                time_to_first_chunk_ms = call.time_to_first_chunk.map(|d| d.as_secs_f64() * 1e3),
                decode_tokens_per_second = call.decode_tokens_per_second,
                status = call.status.error_type().unwrap_or("ok"),
                user = call.user.as_deref(),
                endpoint = call.endpoint.as_deref(),
                "llm_call"
            )
        };
    }
    if call.status == CallStatus::Ok {
        ev!(tracing::Level::INFO);
    } else {
        ev!(tracing::Level::WARN);
    }
}

#[cfg(test)]
mod tests {
    use crate::cost::floor_nanos;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn floor_nanos_is_exact_floor() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(floor_nanos(d("0.000000035")), 35);
        assert_eq!(floor_nanos(d("0.0000000359999")), 35);
        assert_eq!(floor_nanos(d("0.00612500")), 6_125_000);
        assert_eq!(floor_nanos(d("12")), 12_000_000_000);
        assert_eq!(floor_nanos(d("-1")), 0);
        assert_eq!(floor_nanos(Decimal::MAX), u64::MAX);
    }
}
