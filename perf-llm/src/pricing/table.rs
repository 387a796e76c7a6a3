//! The price table: each model's rates and long-context tiers, lookups by exact, bare or
//! undated name (misses counted and answered with the nearest names), and a model's price
//! prepared for the meter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rust_decimal::Decimal;

use crate::billing::{FixedCost, FixedRates};
use crate::cost::{Cost, ResolvedRates};
use crate::error::PriceError;
use crate::names::{ATTR_MODEL, UNKNOWN_MODEL_TOTAL};
use crate::usage::TokenUsage;

pub(super) type Models = HashMap<String, ModelPrice, foldhash::fast::RandomState>;

/// Prices of one tier, in USD per token. `None` falls back as documented on
/// [`ModelPrice::rates_for`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    /// Uncached input.
    pub input: Option<Decimal>,
    /// Output (non-reasoning).
    pub output: Option<Decimal>,
    /// Input read from the prompt cache.
    pub cache_read: Option<Decimal>,
    /// Input written to the prompt cache with a 5-minute lifetime.
    pub cache_write_5m: Option<Decimal>,
    /// Input written to the prompt cache with a 1-hour lifetime.
    pub cache_write_1h: Option<Decimal>,
    /// Reasoning output.
    pub reasoning: Option<Decimal>,
}

/// The price of one model: base rates and long-context tiers.
///
/// ```
/// use perf_llm::pricing::{ModelPrice, Rates};
/// use rust_decimal::Decimal;
///
/// let p = ModelPrice::new(Decimal::new(3, 6), Decimal::new(15, 6)) // $3 / $15 per MTok
///     .with_tier(200_000, Rates { input: Some(Decimal::new(6, 6)), ..Rates::default() });
/// assert_eq!(p.rates_for(&perf_llm::TokenUsage::new(250_000, 1)).input, Decimal::new(6, 6));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelPrice {
    /// The provider, if the price list says (LiteLLM's `litellm_provider`).
    pub provider: Option<String>,
    /// Rates below every tier.
    pub base: Rates,
    /// `(threshold, rates)`, ascending: a call whose normalised input exceeds `threshold`
    /// tokens is billed wholly at those rates (how Anthropic and Google bill long context).
    pub tiers: Vec<(u64, Rates)>,
}

impl ModelPrice {
    /// A model with input and output prices per token, nothing else.
    pub fn new(input: Decimal, output: Decimal) -> Self {
        ModelPrice {
            provider: None,
            base: Rates {
                input: Some(input),
                output: Some(output),
                ..Rates::default()
            },
            tiers: Vec::new(),
        }
    }

    /// Sets the cache prices (read, 5-minute write, 1-hour write) per token.
    pub fn with_cache(mut self, read: Decimal, write_5m: Decimal, write_1h: Decimal) -> Self {
        self.base.cache_read = Some(read);
        self.base.cache_write_5m = Some(write_5m);
        self.base.cache_write_1h = Some(write_1h);
        self
    }

    /// Adds a long-context tier for calls with more than `above_input_tokens` input tokens.
    pub fn with_tier(mut self, above_input_tokens: u64, rates: Rates) -> Self {
        self.tiers.push((above_input_tokens, rates));
        self.tiers.sort_by_key(|t| t.0);
        self
    }

    /// The rates that bill `usage`: the highest tier whose threshold its input exceeds, else
    /// the base. Within a tier a missing rate falls back to the base rate; then a missing
    /// cache-read or 5-minute-write rate to the input rate (no discount, no premium), a
    /// missing 1-hour-write rate to the 5-minute one, a missing reasoning rate to output.
    pub fn rates_for(&self, usage: &TokenUsage) -> ResolvedRates {
        let tier = self
            .tiers
            .iter()
            .rev()
            .find(|(t, _)| usage.input > *t)
            .map(|(_, r)| r);
        self.resolve(tier)
    }

    /// The base rates overlaid with `tier`'s, every fallback applied.
    fn resolve(&self, tier: Option<&Rates>) -> ResolvedRates {
        let pick = |f: fn(&Rates) -> Option<Decimal>| tier.and_then(f).or_else(|| f(&self.base));
        let input = pick(|r| r.input).unwrap_or_default();
        let output = pick(|r| r.output).unwrap_or_default();
        let cache_write_5m = pick(|r| r.cache_write_5m).unwrap_or(input);
        ResolvedRates {
            input,
            output,
            cache_read: pick(|r| r.cache_read).unwrap_or(input),
            cache_write_5m,
            cache_write_1h: pick(|r| r.cache_write_1h).unwrap_or(cache_write_5m),
            reasoning: pick(|r| r.reasoning).unwrap_or(output),
        }
    }
}

/// One model's rates resolved once per tier, with their fixed-point form: what the meter
/// keeps per series so that billing a call needs no table lookup and no decimal arithmetic.
#[derive(Debug, Clone)]
pub(crate) struct PreparedPrice {
    base: (ResolvedRates, Option<FixedRates>),
    /// `(threshold, rates)`, ascending, as [`ModelPrice::tiers`].
    tiers: Vec<(u64, (ResolvedRates, Option<FixedRates>))>,
}

impl PreparedPrice {
    pub(crate) fn new(p: &ModelPrice) -> Self {
        let prepare = |r: ResolvedRates| (r, FixedRates::new(&r));
        PreparedPrice {
            base: prepare(p.resolve(None)),
            tiers: p
                .tiers
                .iter()
                .map(|(t, r)| (*t, prepare(p.resolve(Some(r)))))
                .collect(),
        }
    }

    /// The exact bill of `usage` (the same as [`Cost::compute`] with
    /// [`ModelPrice::rates_for`]), and its fixed-point form when it has one.
    #[inline]
    pub(crate) fn bill(&self, usage: &TokenUsage) -> (Cost, Option<FixedCost>) {
        let (rates, fixed) = self
            .tiers
            .iter()
            .rev()
            .find(|(t, _)| usage.input > *t)
            .map_or(&self.base, |(_, r)| r);
        if let Some(f) = fixed.and_then(|f| f.bill(usage)) {
            if let Some(c) = f.to_cost() {
                return (c, Some(f));
            }
        }
        (Cost::compute_decimal(rates, usage), None)
    }
}

/// Prices per model. Lookups of unknown models are errors that suggest the nearest names,
/// and are counted (see [`PriceTable::unknown_model_lookups`]).
///
/// ```
/// use perf_llm::{PriceTable, TokenUsage};
///
/// let table = PriceTable::from_litellm_json(r#"{
///     "sample_spec": {"input_cost_per_token": "prose, not a number"},
///     "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
///                "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai"}
/// }"#).unwrap();
/// let cost = table.cost("gpt-4o", &TokenUsage::new(1_000_000, 0)).unwrap();
/// assert_eq!(cost.total.normalize().to_string(), "2.5");
/// assert!(table.cost("gpt-4p", &TokenUsage::new(1, 1)).is_err());
/// ```
#[derive(Debug, Default)]
pub struct PriceTable {
    models: HashMap<String, ModelPrice, foldhash::fast::RandomState>,
    /// Bare names (`gemini-2.5-pro`) of prefixed keys (`gemini/gemini-2.5-pro`) that are not
    /// keys themselves, where all prefixed keys of that name have the same price.
    aliases: HashMap<String, String>,
    taken: Option<String>,
    unknown: AtomicU64,
}

impl Clone for PriceTable {
    fn clone(&self) -> Self {
        PriceTable {
            models: self.models.clone(),
            aliases: self.aliases.clone(),
            taken: self.taken.clone(),
            unknown: AtomicU64::new(self.unknown.load(Ordering::Relaxed)),
        }
    }
}

impl PriceTable {
    /// The longest name, in bytes, that [`nearest`](Self::nearest) suggests names for
    /// (LiteLLM's longest key has 76).
    pub const MAX_SUGGESTED_NAME_LEN: usize = 256;

    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn indexed(models: Models, taken: Option<String>) -> Self {
        let mut t = PriceTable {
            models,
            aliases: HashMap::new(),
            taken,
            unknown: AtomicU64::new(0),
        };
        t.reindex();
        t
    }

    fn reindex(&mut self) {
        let mut aliases: HashMap<String, Option<String>> = HashMap::new();
        for key in self.models.keys() {
            let Some((_, bare)) = key.rsplit_once('/') else {
                continue;
            };
            if self.models.contains_key(bare) {
                continue;
            }
            aliases
                .entry(bare.to_owned())
                .and_modify(|a| {
                    // Two providers' prices for one bare name: keep it only if they agree.
                    if a.as_ref()
                        .is_some_and(|k| self.models[k] != self.models[key])
                    {
                        *a = None;
                    }
                })
                .or_insert_with(|| Some(key.clone()));
        }
        self.aliases = aliases
            .into_iter()
            .filter_map(|(bare, key)| Some((bare, key?)))
            .collect();
    }

    /// Adds or replaces one model's price.
    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.models.insert(model.into(), price);
        self.reindex();
    }

    /// Adds every model of `other`, replacing those present in both.
    pub fn merge(&mut self, other: PriceTable) {
        self.models.extend(other.models);
        self.reindex();
    }

    /// When the prices were taken, if the source says.
    pub fn taken(&self) -> Option<&str> {
        self.taken.as_deref()
    }

    /// How many models the table prices.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table prices no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The price of `model`: the exact name; else the name after a `provider/` prefix; else
    /// the one prefixed key with that bare name (`gemini-2.5-pro` → `gemini/gemini-2.5-pro`,
    /// only if every prefixed key of that name has the same price); else the name without a
    /// date suffix (`-2024-08-06`, `-20250514`), looked up the same way.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        if let Some(p) = self.models.get(model) {
            return Some(p);
        }
        let bare = model.rsplit('/').next().unwrap_or(model);
        let by_name = |name: &str| {
            self.models
                .get(name)
                .or_else(|| self.aliases.get(name).and_then(|k| self.models.get(k)))
        };
        by_name(bare).or_else(|| strip_date(bare).and_then(by_name))
    }

    /// The price of `model`, or [`PriceError::UnknownModel`] with the nearest names. Each
    /// miss is counted here and in the `metrics` counter `gen_ai_client_unknown_model_total`.
    pub fn price(&self, model: &str) -> Result<&ModelPrice, PriceError> {
        self.get(model).ok_or_else(|| {
            self.unknown.fetch_add(1, Ordering::Relaxed);
            crate::names::describe_unknown_model();
            metrics::counter!(UNKNOWN_MODEL_TOTAL, ATTR_MODEL => model.to_owned()).increment(1);
            PriceError::UnknownModel {
                model: model.to_owned(),
                suggestions: self.nearest(model, 3),
            }
        })
    }

    /// The exact bill for `usage` on `model`; [`PriceError::CostOverflow`] if it does not
    /// fit in a decimal (only a price far above $1 per token, set by hand, can do that).
    ///
    /// ```
    /// let t = perf_llm::PriceTable::builtin();
    /// let c = t.cost("gpt-4o-mini", &perf_llm::TokenUsage::new(1_000_000, 1_000_000)).unwrap();
    /// assert_eq!(c.total, "0.75".parse().unwrap()); // $0.15 in + $0.60 out
    /// ```
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Result<Cost, PriceError> {
        Ok(self.cost_unnormalized(model, usage)?.normalized())
    }

    /// [`cost`](Self::cost) without stripping trailing zeros (the recording hot path).
    pub(crate) fn cost_unnormalized(
        &self,
        model: &str,
        usage: &TokenUsage,
    ) -> Result<Cost, PriceError> {
        Cost::checked_compute(&self.price(model)?.rates_for(usage), usage).ok_or_else(|| {
            PriceError::CostOverflow {
                model: model.to_owned(),
            }
        })
    }

    /// `model`'s price prepared for billing, or `None` (without counting a miss).
    pub(crate) fn prepared(&self, model: &str) -> Option<PreparedPrice> {
        self.get(model).map(PreparedPrice::new)
    }

    /// How many lookups missed since the table was made.
    pub fn unknown_model_lookups(&self) -> u64 {
        self.unknown.load(Ordering::Relaxed)
    }

    /// Counts a miss that the meter answered from its cache of misses, so that
    /// [`unknown_model_lookups`](Self::unknown_model_lookups) still counts every call.
    pub(crate) fn note_unknown_model(&self) {
        self.unknown.fetch_add(1, Ordering::Relaxed);
    }

    /// Up to `n` model names closest to `model` by edit distance, closest first. None for a
    /// name over [`MAX_SUGGESTED_NAME_LEN`](Self::MAX_SUGGESTED_NAME_LEN) bytes: the
    /// distance to every key costs time in proportion to the name's length, and no priced
    /// name is that long.
    ///
    /// ```
    /// let t = perf_llm::PriceTable::builtin();
    /// assert_eq!(t.nearest("gpt-4p", 1), ["gpt-4o"]);
    /// assert!(t.nearest(&"x".repeat(10_000), 1).is_empty());
    /// ```
    pub fn nearest(&self, model: &str, n: usize) -> Vec<String> {
        if model.len() > Self::MAX_SUGGESTED_NAME_LEN {
            return Vec::new();
        }
        let mut scored: Vec<(usize, &String)> = self
            .models
            .keys()
            .chain(self.aliases.keys())
            .map(|k| (edit_distance(model, k), k))
            .filter(|(d, k)| *d <= (k.len().max(model.len()) / 2).max(2))
            .collect();
        scored.sort();
        scored.into_iter().take(n).map(|(_, k)| k.clone()).collect()
    }
}

/// `gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-20250514` → `claude-sonnet-4`.
pub(super) fn strip_date(model: &str) -> Option<&str> {
    let b = model.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if b.len() > 11 && b[b.len() - 11] == b'-' {
        let d = &b[b.len() - 10..];
        if digits(&d[..4]) && d[4] == b'-' && digits(&d[5..7]) && d[7] == b'-' && digits(&d[8..]) {
            return Some(&model[..model.len() - 11]);
        }
    }
    if b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]) {
        return Some(&model[..model.len() - 9]);
    }
    None
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
