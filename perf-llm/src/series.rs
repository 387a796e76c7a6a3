//! The meter's series: one per (provider, operation, model, error type), with its
//! `metrics` handles and exact running totals, found by hash; and the cap on distinct
//! models past which calls are folded into `__overflow__` series.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use metrics::{Counter, Histogram};
use perf_core::cardinality::OVERFLOW;
use perf_core::slow::SlowLog;

use crate::billing::CostSum;
use crate::call::CallStatus;
use crate::names::{
    ATTR_ERROR, ATTR_MODEL, ATTR_OPERATION, ATTR_PROVIDER, ATTR_TOKEN_TYPE, COST_TOTAL,
    COST_WITHOUT_CACHE, OPERATION_DURATION, TIME_PER_OUTPUT_CHUNK, TIME_TO_FIRST_CHUNK,
    TOKEN_USAGE,
};
use crate::pricing::PreparedPrice;
use crate::usage::TokenUsage;

/// The `metrics` handles of one series, bound to the recorder they were registered with.
pub(crate) struct Handles {
    pub(crate) recorder: usize,
    pub(crate) duration: Histogram,
    pub(crate) input_tokens: Histogram,
    pub(crate) output_tokens: Histogram,
    pub(crate) ttfc: Histogram,
    pub(crate) per_chunk: Histogram,
    pub(crate) cost: Counter,
    pub(crate) without_cache: Counter,
    /// What `cost` and `without_cache` were sent so far, in nano-USD: each call sends the
    /// difference to the series' exact totals, so counters shared by several meters (or
    /// folded into `__overflow__`) add up. Zero for a new recorder, which then receives
    /// the whole totals at the next call.
    pub(crate) sent: (u64, u64),
    /// `gen_ai_client_unknown_model_total` of the model, registered at its first miss so
    /// that priced models export no such series.
    pub(crate) unknown: Option<Counter>,
}

/// One (provider, operation, model, error type): its handles and exact running totals.
///
/// The names are kept as the first call gave them: a `&'static str` stays borrowed, so a
/// later call with the same literal matches by address without comparing bytes.
pub(crate) struct Series {
    pub(crate) provider: Cow<'static, str>,
    pub(crate) operation: Cow<'static, str>,
    pub(crate) model: Cow<'static, str>,
    pub(crate) error_type: Option<Cow<'static, str>>,
    pub(crate) state: Mutex<SeriesState>,
    /// The rate limit of the series' "not priced" WARN.
    pub(crate) unpriced_warn: SlowLog,
    /// The nearest priced names, computed at the first WARN after each price-table change
    /// (by generation), outside the state lock: with LiteLLM's whole list that is ~6 ms.
    pub(crate) suggestions: Mutex<Option<(u64, Arc<[String]>)>>,
    /// The `__overflow__` series of its provider, operation and error type: it records the
    /// calls of every model past the meter's cap, so it prices each call by its own model.
    pub(crate) overflow: bool,
}

/// What identifies a series, borrowed from the call being recorded.
pub(crate) struct SeriesKey<'a> {
    pub(crate) provider: &'a Cow<'static, str>,
    pub(crate) operation: &'a Cow<'static, str>,
    pub(crate) model: &'a Cow<'static, str>,
    pub(crate) status: &'a CallStatus,
}

/// String equality that skips the byte comparison when both sides are the same slice (the
/// common case of a series keyed by literals).
#[inline]
fn same(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

pub(crate) struct SeriesState {
    pub(crate) handles: Option<Handles>,
    /// The model's price (`None`: the table does not know it) and the price-table
    /// generation it was looked up in; `None` until the first call with usage. The miss is
    /// kept too, so an unknown model is looked up once per table, not once per call.
    pub(crate) price: Option<(u64, Option<PreparedPrice>)>,
    pub(crate) totals: Totals,
}

/// Exact running totals of one series.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    pub(crate) calls: u64,
    pub(crate) usage_missing: u64,
    pub(crate) unpriced: u64,
    pub(crate) usage: TokenUsage,
    pub(crate) cost: CostSum,
}

pub(crate) fn current_recorder() -> usize {
    metrics::with_recorder(|r| r as *const dyn metrics::Recorder as *const () as usize)
}

pub(crate) fn register(s: &Series) -> Handles {
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
    // The meter counts unpriced calls under this series' handles too.
    crate::names::describe_unknown_model();
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

/// Every series of a meter, keyed by the hash of its names (so the map hashes that `u64`
/// with foldhash too), and the distinct models among them.
#[derive(Default)]
pub(crate) struct SeriesIndex {
    hasher: foldhash::fast::RandomState,
    map: HashMap<u64, Vec<Arc<Series>>, foldhash::fast::FixedState>,
    /// The models that have series of their own: at most the meter's cap.
    models: HashSet<Cow<'static, str>, foldhash::fast::RandomState>,
    /// Whether a model was folded into an overflow series yet.
    folding: bool,
}

/// Where a call is recorded, when [`SeriesIndex::get_or_insert`] had to look.
pub(crate) struct Inserted {
    pub(crate) series: Arc<Series>,
    /// The call's model is past the cap and this is the first such model: warn once.
    pub(crate) first_fold: bool,
}

impl SeriesIndex {
    /// How many series there are.
    pub(crate) fn len(&self) -> usize {
        self.map.values().map(Vec::len).sum()
    }

    /// Every series.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Series>> {
        self.map.values().flatten()
    }

    fn hash(&self, key: &SeriesKey<'_>, model: &str) -> u64 {
        let e = key.status.error_type();
        self.hasher
            .hash_one((&**key.provider, &**key.operation, model, e))
    }

    /// The series of `key` (its overflow series when `overflow`), if it exists.
    #[inline]
    fn find(&self, key: &SeriesKey<'_>, overflow: bool) -> Option<&Arc<Series>> {
        let model: &str = if overflow { OVERFLOW } else { key.model };
        let e = key.status.error_type();
        let matches = |s: &&Arc<Series>| {
            s.overflow == overflow
                && same(&s.model, model)
                && same(&s.provider, key.provider)
                && same(&s.operation, key.operation)
                && match (&s.error_type, e) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same(a, b),
                    _ => false,
                }
        };
        self.map
            .get(&self.hash(key, model))
            .and_then(|v| v.iter().find(matches))
    }

    /// Whether `key`'s model has no series of its own and cannot get one under `max_models`.
    fn folded(&self, key: &SeriesKey<'_>, max_models: usize) -> bool {
        self.models.len() >= max_models && !self.models.contains(&**key.model)
    }

    /// The series that records a call of `key`, if it exists: the key's own, else the
    /// overflow series if the model is past the cap. Under the read lock.
    #[inline]
    pub(crate) fn get(&self, key: &SeriesKey<'_>, max_models: usize) -> Option<&Arc<Series>> {
        self.find(key, false).or_else(|| {
            if self.folded(key, max_models) {
                self.find(key, true)
            } else {
                None
            }
        })
    }

    /// The series that records a call of `key`, made if missing: the key's own while the
    /// model has one or fewer than `max_models` models have one, else the overflow series
    /// of the key's provider, operation and error type.
    pub(crate) fn get_or_insert(&mut self, key: &SeriesKey<'_>, max_models: usize) -> Inserted {
        if let Some(s) = self.get(key, max_models) {
            return Inserted {
                series: s.clone(),
                first_fold: false,
            };
        }
        let overflow = self.folded(key, max_models);
        let first_fold = overflow && !std::mem::replace(&mut self.folding, true);
        let model = if overflow {
            Cow::Borrowed(OVERFLOW)
        } else {
            self.models.insert(key.model.clone());
            key.model.clone()
        };
        let series = Arc::new(Series {
            provider: key.provider.clone(),
            operation: key.operation.clone(),
            model,
            error_type: key.status.error_type_cow(),
            state: Mutex::new(SeriesState {
                handles: None,
                price: None,
                totals: Totals::default(),
            }),
            unpriced_warn: SlowLog::new(),
            suggestions: Mutex::new(None),
            overflow,
        });
        let h = self.hash(key, &series.model);
        self.map.entry(h).or_default().push(series.clone());
        Inserted { series, first_fold }
    }
}
