//! The [`LlmMeter`]: prices calls and records them through `metrics` (OpenTelemetry GenAI
//! names, handles cached per series), keeps exact money totals, charges budgets and emits
//! one `tracing` event `llm_call` per call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram};

use crate::billing::CostSum;
use crate::budget::Budgets;
use crate::call::{CallStatus, LlmCall};
use crate::cost::Cost;
use crate::error::{BudgetExceeded, PriceError};
use crate::names::{
    ATTR_ERROR, ATTR_MODEL, ATTR_OPERATION, ATTR_PROVIDER, ATTR_TOKEN_TYPE, COST_TOTAL,
    COST_WITHOUT_CACHE, OPERATION_DURATION, TIME_PER_OUTPUT_CHUNK, TIME_TO_FIRST_CHUNK,
    TOKEN_USAGE, UNKNOWN_MODEL_TOTAL,
};
use crate::pricing::{PreparedPrice, PriceTable};
use crate::usage::TokenUsage;
use perf_core::clock::Clock;
use perf_core::slow::SlowLog;

impl LlmCall {
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
    without_cache: Counter,
    /// What `cost` and `without_cache` were sent so far, in nano-USD: each call sends the
    /// difference to the series' exact totals, so counters shared by several meters (or
    /// folded into `__overflow__`) add up. Zero for a new recorder, which then receives
    /// the whole totals at the next call.
    sent: (u64, u64),
    /// `gen_ai_client_unknown_model_total` of the model, registered at its first miss so
    /// that priced models export no such series.
    unknown: Option<Counter>,
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
    /// The rate limit of the series' "not priced" WARN.
    unpriced_warn: SlowLog,
    /// The nearest priced names, computed at the first WARN after each price-table change
    /// (by generation), outside the state lock: with LiteLLM's whole list that is ~6 ms.
    suggestions: Mutex<Option<(u64, Arc<[String]>)>>,
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
    /// The model's price (`None`: the table does not know it) and the price-table
    /// generation it was looked up in; `None` until the first call with usage. The miss is
    /// kept too, so an unknown model is looked up once per table, not once per call.
    price: Option<(u64, Option<PreparedPrice>)>,
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
    metrics::describe_counter!(
        COST_WITHOUT_CACHE,
        "What GenAI calls would have cost without the prompt cache, in nano-USD (1e-9 USD)"
    );
    Handles {
        recorder: current_recorder(),
        duration: metrics::histogram!(OPERATION_DURATION, labels.clone()),
        input_tokens: metrics::histogram!(TOKEN_USAGE, with_type("input")),
        output_tokens: metrics::histogram!(TOKEN_USAGE, with_type("output")),
        ttfc: metrics::histogram!(TIME_TO_FIRST_CHUNK, labels.clone()),
        per_chunk: metrics::histogram!(TIME_PER_OUTPUT_CHUNK, labels.clone()),
        cost: metrics::counter!(COST_TOTAL, labels.clone()),
        without_cache: metrics::counter!(COST_WITHOUT_CACHE, labels),
        sent: (0, 0),
        unknown: None,
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
    /// Read only to rate-limit WARNs.
    clock: Clock,
    warn_interval: Duration,
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
            clock: Clock::system(),
            warn_interval: Self::DEFAULT_WARN_INTERVAL,
        }
    }

    /// The default of [`with_warn_interval`](Self::with_warn_interval): one second.
    pub const DEFAULT_WARN_INTERVAL: Duration = Duration::from_secs(1);

    /// Sets the smallest time between two "LLM call not priced" WARNs of one series
    /// (provider, operation, model, error type); the calls held back meanwhile are counted
    /// in the next WARN's `suppressed` field, and every call still counts in
    /// [`ModelTotals::unpriced`] and `gen_ai_client_unknown_model_total`. Zero: a WARN per
    /// call.
    ///
    /// ```
    /// use std::time::Duration;
    /// let meter = perf_llm::LlmMeter::new().with_warn_interval(Duration::from_secs(60));
    /// # drop(meter);
    /// ```
    pub fn with_warn_interval(mut self, interval: Duration) -> Self {
        self.warn_interval = interval;
        self
    }

    /// Sets the clock that the WARN rate limit reads (a manual one in tests).
    ///
    /// ```
    /// let (clock, _hand) = perf_core::clock::Clock::manual();
    /// let meter = perf_llm::LlmMeter::new().with_clock(clock);
    /// # drop(meter);
    /// ```
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
    fn with_series<R>(&self, key: &SeriesKey<'_>, f: impl FnOnce(&Arc<Series>) -> R) -> R {
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
                        unpriced_warn: SlowLog::new(),
                        suggestions: Mutex::new(None),
                    });
                    bucket.push(s.clone());
                    s
                }
            }
        };
        f(&s)
    }

    /// Bills `usage` on `model` with the series' cached price, re-resolved when the table
    /// was replaced. `None` for a model the table does not know; the miss is counted in the
    /// table (one lookup, then the cached miss).
    #[inline]
    fn bill(
        &self,
        price: &mut Option<(u64, Option<PreparedPrice>)>,
        model: &str,
        usage: &TokenUsage,
        totals: &mut CostSum,
    ) -> Option<Cost> {
        let generation = self.prices_generation.load(Ordering::Acquire);
        if price.as_ref().map(|(g, _)| *g) != Some(generation) {
            *price = Some((generation, self.prices().prepared(model)));
        }
        match price {
            Some((_, Some(p))) => {
                let (cost, fixed) = p.bill(usage);
                match fixed {
                    Some(f) => totals.add_fixed(&f),
                    None => totals.add(&cost),
                }
                Some(cost)
            }
            _ => {
                self.prices().note_unknown_model();
                None
            }
        }
    }

    /// The "not priced" WARN of `series`, with the nearest priced names: computed once per
    /// price table, here rather than under the series' state lock.
    #[cold]
    fn warn_unpriced(&self, series: &Series, suppressed: u64) {
        let generation = self.prices_generation.load(Ordering::Acquire);
        let suggestions = {
            let mut cached = series.suggestions.lock().unwrap_or_else(|e| e.into_inner());
            match &*cached {
                Some((g, s)) if *g == generation => s.clone(),
                _ => {
                    let s: Arc<[String]> = self.prices().nearest(&series.model, 3).into();
                    *cached = Some((generation, s.clone()));
                    s
                }
            }
        };
        let e = PriceError::UnknownModel {
            model: series.model.to_string(),
            suggestions: suggestions.to_vec(),
        };
        tracing::warn!(target: "perf_llm", model = %series.model, error = %e, suppressed, "LLM call not priced");
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
        let warn = self.with_series(&key, |series| {
            let recorder = current_recorder();
            let mut st = series.state.lock().unwrap_or_else(|e| e.into_inner());
            let st = &mut *st;
            if st.handles.as_ref().map(|h| h.recorder) != Some(recorder) {
                st.handles = Some(register(series));
            }
            let t = &mut st.totals;
            t.calls += 1;
            let mut unpriced = false;
            match usage.usage() {
                Some(u) => {
                    t.usage = saturating_add(&t.usage, u);
                    match cost {
                        Some(c) => t.cost.add(c),
                        None => match self.bill(&mut st.price, model, u, &mut t.cost) {
                            Some(c) => *cost = Some(c),
                            None => {
                                t.unpriced += 1;
                                unpriced = true;
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
            let Some(h) = st.handles.as_mut() else {
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
                let now = (t.cost.total_nanos(), t.cost.without_cache_nanos());
                h.cost.increment(now.0.saturating_sub(h.sent.0));
                h.without_cache.increment(now.1.saturating_sub(h.sent.1));
                h.sent = now;
            }
            if !unpriced {
                return None;
            }
            h.unknown
                .get_or_insert_with(|| {
                    metrics::counter!(UNKNOWN_MODEL_TOTAL, ATTR_MODEL => series.model.to_string())
                })
                .increment(1);
            let suppressed = series
                .unpriced_warn
                .should_report(self.clock.now_nanos(), self.warn_interval)?;
            Some((series.clone(), suppressed))
        });
        if let Some((series, suppressed)) = warn {
            self.warn_unpriced(&series, suppressed);
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
