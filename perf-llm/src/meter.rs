//! The [`LlmMeter`]: prices calls and records them through `metrics` (OpenTelemetry GenAI
//! names, handles cached per series), keeps exact money totals, charges budgets and emits
//! one `tracing` event `llm_call` per call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use rust_decimal::Decimal;

use crate::billing::CostSum;
use crate::budget::{BudgetKey, Budgets, Reservation};
use crate::call::LlmCall;
use crate::cost::Cost;
use crate::error::{BudgetExceeded, PriceError};
use crate::names::{ATTR_MODEL, UNKNOWN_MODEL_TOTAL};
use crate::pricing::{PreparedPrice, PriceTable};
use crate::series::{current_recorder, register, Inserted, Series, SeriesIndex, SeriesKey};
use crate::usage::TokenUsage;
use perf_core::cardinality::OVERFLOW;
use perf_core::clock::Clock;

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
    prices: RwLock<Arc<PriceTable>>,
    /// Bumped by `set_prices`: series re-resolve their cached price when it moves.
    prices_generation: AtomicU64,
    series: RwLock<SeriesIndex>,
    max_models: usize,
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
            .field("max_models", &self.max_models)
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
            prices: RwLock::new(Arc::new(prices)),
            prices_generation: AtomicU64::new(0),
            series: RwLock::new(SeriesIndex::default()),
            max_models: Self::DEFAULT_MAX_MODELS,
            budgets: RwLock::new(None),
            has_budgets: AtomicBool::new(false),
            clock: Clock::system(),
            warn_interval: Self::DEFAULT_WARN_INTERVAL,
        }
    }

    /// The default of [`with_max_models`](Self::with_max_models), the same as the
    /// exporter's limit on one label's values.
    pub const DEFAULT_MAX_MODELS: usize = perf_core::cardinality::DEFAULT_MAX_LABEL_VALUES;

    /// Sets how many distinct models the meter keeps series and totals for. Calls of
    /// further models are recorded in one `__overflow__` entry per (provider, operation,
    /// error type), priced by their own model, with one WARN when folding starts: so a
    /// model name taken from responses or user input cannot grow the meter without bound,
    /// and [`totals`](Self::totals) still sum to every bill.
    ///
    /// ```
    /// use perf_llm::{LlmCall, LlmMeter, TokenUsage};
    ///
    /// let meter = LlmMeter::new().with_max_models(1);
    /// for model in ["gpt-4o", "gpt-4o-mini", "gpt-4.1"] {
    ///     LlmCall::new("openai", model).usage(TokenUsage::new(10, 1)).record_with(&meter);
    /// }
    /// let models: Vec<String> = meter.totals().into_iter().map(|t| t.model).collect();
    /// assert_eq!(models.len(), 2);
    /// assert!(models.contains(&"gpt-4o".to_string()));
    /// assert!(models.contains(&"__overflow__".to_string()));
    /// ```
    pub fn with_max_models(mut self, max_models: usize) -> Self {
        self.max_models = max_models;
        self
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

    /// Whether `call` would be admitted now by the hard budgets of its user, endpoint and
    /// model as a call of unknown cost. It reserves nothing, so calls checked at the same
    /// time all pass: admit with [`reserve_budget`](Self::reserve_budget). `Ok` when no
    /// budgets are set.
    pub fn check_budget(&self, call: &LlmCall) -> Result<(), BudgetExceeded> {
        self.reserve_budget(call, None).map(drop)
    }

    /// Before sending: admits `call` on the hard budgets of its user, endpoint and model,
    /// holding `ceiling` USD (the most it may cost) or, with `None`, as a call of unknown
    /// cost (see [`budget`](crate::budget) for the bound each keeps). Record the call with
    /// [`record_reserved`](Self::record_reserved) to settle it; drop the reservation if the
    /// call is not made.
    ///
    /// ```
    /// use perf_llm::{Budget, BudgetKey, Budgets, Decimal, LlmCall, LlmMeter, TokenUsage, Window};
    /// use std::sync::Arc;
    ///
    /// let meter = LlmMeter::new();
    /// let budgets = Arc::new(Budgets::new());
    /// budgets.set(BudgetKey::user("bob"), Budget::new(Decimal::ONE, Window::Day).hard());
    /// meter.set_budgets(budgets.clone());
    /// let call = LlmCall::start("openai", "gpt-4o-mini").user("bob");
    /// let held = meter.reserve_budget(&call, Some(Decimal::new(1, 2)))?; // at most $0.01
    /// // ... send the request ...
    /// meter.record_reserved(call.usage(TokenUsage::new(1000, 100)), held);
    /// assert_eq!(budgets.spent(&BudgetKey::user("bob")), Some(Decimal::new(21, 5)));
    /// # Ok::<(), perf_llm::BudgetExceeded>(())
    /// ```
    pub fn reserve_budget(
        &self,
        call: &LlmCall,
        ceiling: Option<Decimal>,
    ) -> Result<Reservation, BudgetExceeded> {
        self.reserve_keys(&call.budget_keys(), ceiling)
    }

    /// [`reserve_budget`](Self::reserve_budget) on `keys`.
    pub(crate) fn reserve_keys(
        &self,
        keys: &[BudgetKey],
        ceiling: Option<Decimal>,
    ) -> Result<Reservation, BudgetExceeded> {
        if !self.has_budgets() {
            return Ok(Reservation::unbudgeted());
        }
        match &*self.budgets.read().unwrap_or_else(|e| e.into_inner()) {
            Some(b) => match ceiling {
                Some(c) => b.reserve(keys, c),
                None => b.reserve_unknown(keys),
            },
            None => Ok(Reservation::unbudgeted()),
        }
    }

    /// Whether budgets are set, without a lock.
    #[inline]
    pub(crate) fn has_budgets(&self) -> bool {
        self.has_budgets.load(Ordering::Acquire)
    }

    /// Runs `f` on the series that records `key` (made on its first call; the overflow
    /// series for a model past the cap), under the map's read lock: one hash and no
    /// reference-count traffic on the hot path.
    fn with_series<R>(&self, key: &SeriesKey<'_>, f: impl FnOnce(&Arc<Series>) -> R) -> R {
        {
            let index = self.series.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = index.get(key, self.max_models) {
                return f(s);
            }
        }
        let Inserted { series, first_fold } = self
            .series
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(key, self.max_models);
        if first_fold {
            let max_models = self.max_models;
            tracing::warn!(
                target: "perf_llm",
                max_models,
                model = %key.model,
                "LlmMeter has {max_models} distinct models; calls of further models are recorded as {OVERFLOW} (LlmMeter::with_max_models raises the cap)"
            );
        }
        f(&series)
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

    /// The "not priced" WARN of a call of `model` recorded in `series`, with the nearest
    /// priced names: computed once per price table (at most once per WARN interval for an
    /// overflow series, whose calls have many models), outside the series' state lock.
    #[cold]
    fn warn_unpriced(&self, series: &Series, model: &str, suppressed: u64) {
        let generation = self.prices_generation.load(Ordering::Acquire);
        let suggestions: Arc<[String]> = if series.overflow {
            self.prices().nearest(model, 3).into()
        } else {
            let mut cached = series.suggestions.lock().unwrap_or_else(|e| e.into_inner());
            match &*cached {
                Some((g, s)) if *g == generation => s.clone(),
                _ => {
                    let s: Arc<[String]> = self.prices().nearest(model, 3).into();
                    *cached = Some((generation, s.clone()));
                    s
                }
            }
        };
        let e = PriceError::UnknownModel {
            model: model.to_owned(),
            suggestions: suggestions.to_vec(),
        };
        tracing::warn!(target: "perf_llm", model, error = %e, suppressed, "LLM call not priced");
    }

    /// Prices (if no cost was given and usage is known), records metrics and the
    /// `llm_call` event, charges budgets. Returns the call with cost and latency filled in.
    // Inlined, with the work behind a reference, so the call is built in place by the
    // caller and neither copied in nor out (a few hundred bytes each way).
    #[inline]
    pub fn record(&self, mut call: LlmCall) -> LlmCall {
        self.record_in_place(&mut call, None);
        call
    }

    /// [`record`](Self::record) a call admitted with
    /// [`reserve_budget`](Self::reserve_budget): its budgets are charged its cost (none if
    /// it failed) and freed of the reservation in one step.
    #[inline]
    pub fn record_reserved(&self, mut call: LlmCall, reservation: Reservation) -> LlmCall {
        self.record_in_place(&mut call, Some(reservation));
        call
    }

    /// Records `call`; settles `reservation` with its cost, or charges the budgets when
    /// there is none.
    pub(crate) fn record_in_place(&self, call: &mut LlmCall, reservation: Option<Reservation>) {
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
            let mut uncached = None;
            match usage.usage() {
                Some(u) => {
                    t.usage = saturating_add(&t.usage, u);
                    match cost {
                        Some(c) => t.cost.add(c),
                        None => match self.bill(
                            // Many models share an overflow series: no one price to keep.
                            if series.overflow {
                                &mut uncached
                            } else {
                                &mut st.price
                            },
                            model,
                            u,
                            &mut t.cost,
                        ) {
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
            self.warn_unpriced(&series, &call.model, suppressed);
        }
        if let Some(r) = reservation {
            // A call without a cost (failed, or not priced) frees its hold and charges nothing.
            let cost = call.cost.as_ref().map_or(Decimal::ZERO, |c| c.total);
            r.settle_keys(&call.budget_keys(), cost);
        } else if let Some(c) = &call.cost {
            if self.has_budgets.load(Ordering::Acquire) {
                if let Some(b) = &*self.budgets.read().unwrap_or_else(|e| e.into_inner()) {
                    b.charge(&call.budget_keys(), c.total);
                }
            }
        }
        crate::event::emit(call);
    }

    /// Exact totals per (provider, operation, model), costliest first.
    pub fn totals(&self) -> Vec<ModelTotals> {
        let index = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut by_model: HashMap<(String, String, String), ModelTotals> = HashMap::new();
        for s in index.iter() {
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
        // Costliest first; ties by model.
        v.sort_by(|a, b| (&b.cost.total, &a.model).cmp(&(&a.cost.total, &b.model)));
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
