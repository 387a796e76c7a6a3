//! Prices per token for each model, read exactly: LiteLLM's public
//! `model_prices_and_context_window.json`, perf-llm's own small JSON format, or the built-in
//! table. Every amount is a [`Decimal`] parsed from the number's text, never through `f64`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::cost::{Cost, FixedCost, FixedRates};
use crate::error::PriceError;
use crate::names::{ATTR_MODEL, UNKNOWN_MODEL_TOTAL};
use crate::usage::TokenUsage;

/// The largest price accepted, in USD per token: anything above is surely a unit mistake
/// (a per-million price in a per-token field), and the bound keeps every bill exact.
const MAX_PRICE_PER_TOKEN: Decimal = Decimal::ONE;

type Models = HashMap<String, ModelPrice, foldhash::fast::RandomState>;

/// The date the built-in table was taken from the providers' published price pages.
pub const BUILTIN_PRICES_TAKEN: &str = "2025-07-01";

const BUILTIN_JSON: &str = include_str!("builtin_prices.json");

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

/// Prices of one model, each resolved (no `None`), in USD per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResolvedRates {
    /// Uncached input.
    pub input: Decimal,
    /// Output (non-reasoning).
    pub output: Decimal,
    /// Cache read.
    pub cache_read: Decimal,
    /// Cache write, 5-minute lifetime.
    pub cache_write_5m: Decimal,
    /// Cache write, 1-hour lifetime.
    pub cache_write_1h: Decimal,
    /// Reasoning output.
    pub reasoning: Decimal,
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
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in table: a handful of current OpenAI, Anthropic and Google models, taken
    /// on [`BUILTIN_PRICES_TAKEN`]. Prices change; load a current list for billing.
    ///
    /// ```
    /// let t = perf_llm::PriceTable::builtin();
    /// assert!(t.get("gpt-4o").is_some());
    /// assert_eq!(t.taken(), Some(perf_llm::pricing::BUILTIN_PRICES_TAKEN));
    /// ```
    pub fn builtin() -> Self {
        // The embedded file is checked by a unit test; an error here cannot happen at run time.
        Self::from_json(BUILTIN_JSON).unwrap_or_default()
    }

    /// Reads LiteLLM's `model_prices_and_context_window.json` (prices per token). The
    /// `sample_spec` entry is skipped, as are entries priced per image, second or
    /// character (no per-token field). Fields perf-llm does not bill (objects such as
    /// `search_context_cost_per_query`, strings, lists) are ignored; a per-token price field
    /// that is not a non-negative number is an error naming the model and field.
    pub fn from_litellm_json(json: &str) -> Result<PriceTable, PriceError> {
        let top: HashMap<String, Box<RawValue>> =
            serde_json::from_str(json).map_err(|e| PriceError::Json(e.to_string()))?;
        let mut models = Models::with_capacity_and_hasher(top.len(), Default::default());
        for (model, entry) in top {
            if model == "sample_spec" {
                continue;
            }
            let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(entry.get())
                .map_err(|_| PriceError::InvalidPrice {
                    model: model.clone(),
                    field: "(entry)".into(),
                    reason: "the entry is not a JSON object".into(),
                })?;
            if let Some(price) = litellm_entry(&model, &fields)? {
                models.insert(model, price);
            }
        }
        Ok(PriceTable::indexed(models, None))
    }

    /// Reads perf-llm's own format: prices in USD **per million tokens** (numbers or
    /// strings, both read exactly), optional 1-hour cache writes and long-context tiers.
    ///
    /// ```
    /// let t = perf_llm::PriceTable::from_json(r#"{
    ///   "currency": "USD", "taken": "2025-07-01",
    ///   "models": {
    ///     "claude-sonnet-4": {"provider": "anthropic", "input": 3, "output": 15,
    ///        "cache_read": 0.3, "cache_write_5m": 3.75, "cache_write_1h": 6,
    ///        "tiers": [{"above_input_tokens": 200000, "input": 6, "output": 22.5}]}
    ///   }}"#).unwrap();
    /// assert_eq!(t.taken(), Some("2025-07-01"));
    /// ```
    pub fn from_json(json: &str) -> Result<PriceTable, PriceError> {
        type Fields = HashMap<String, Box<RawValue>>;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            currency: Option<String>,
            #[serde(default)]
            taken: Option<String>,
            models: HashMap<String, Fields>,
        }
        let file: File = serde_json::from_str(json).map_err(|e| PriceError::Json(e.to_string()))?;
        check_currency("*", file.currency.as_deref())?;
        let mut models = Models::with_capacity_and_hasher(file.models.len(), Default::default());
        for (model, fields) in file.models {
            let bad = |field: &str, reason: String| PriceError::InvalidPrice {
                model: model.clone(),
                field: field.into(),
                reason,
            };
            let mut p = ModelPrice {
                provider: None,
                base: Rates::default(),
                tiers: Vec::new(),
            };
            let mut rates = Fields::new();
            for (field, raw) in fields {
                match field.as_str() {
                    "provider" => {
                        p.provider = Some(
                            serde_json::from_str(raw.get())
                                .map_err(|e| bad("provider", e.to_string()))?,
                        )
                    }
                    "currency" => {
                        let c: String = serde_json::from_str(raw.get())
                            .map_err(|e| bad("currency", e.to_string()))?;
                        check_currency(&model, Some(&c))?;
                    }
                    "tiers" => {
                        let tiers: Vec<Fields> = serde_json::from_str(raw.get()).map_err(|e| {
                            bad("tiers", format!("expected a list of objects: {e}"))
                        })?;
                        for mut t in tiers {
                            let above = t
                                .remove("above_input_tokens")
                                .and_then(|a| serde_json::from_str::<u64>(a.get()).ok())
                                .ok_or_else(|| {
                                    bad(
                                        "tiers.above_input_tokens",
                                        "each tier needs a non-negative integer above_input_tokens"
                                            .into(),
                                    )
                                })?;
                            p.tiers.push((above, own_rates(&model, &t)?));
                        }
                    }
                    _ => {
                        rates.insert(field, raw);
                    }
                }
            }
            p.base = own_rates(&model, &rates)?;
            p.tiers.sort_by_key(|t| t.0);
            models.insert(model, p);
        }
        Ok(PriceTable::indexed(models, file.taken))
    }

    fn indexed(models: Models, taken: Option<String>) -> Self {
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
            metrics::counter!(UNKNOWN_MODEL_TOTAL, ATTR_MODEL => model.to_owned()).increment(1);
            PriceError::UnknownModel {
                model: model.to_owned(),
                suggestions: self.nearest(model, 3),
            }
        })
    }

    /// The exact bill for `usage` on `model`.
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
        Ok(Cost::compute(&self.price(model)?.rates_for(usage), usage))
    }

    /// `model`'s price prepared for billing, or `None` (without counting a miss).
    pub(crate) fn prepared(&self, model: &str) -> Option<PreparedPrice> {
        self.get(model).map(PreparedPrice::new)
    }

    /// How many lookups missed since the table was made.
    pub fn unknown_model_lookups(&self) -> u64 {
        self.unknown.load(Ordering::Relaxed)
    }

    /// Up to `n` model names closest to `model` by edit distance, closest first.
    pub fn nearest(&self, model: &str, n: usize) -> Vec<String> {
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

fn check_currency(model: &str, currency: Option<&str>) -> Result<(), PriceError> {
    match currency {
        None => Ok(()),
        Some(c) if c.eq_ignore_ascii_case("USD") => Ok(()),
        Some(c) => Err(PriceError::UnknownCurrency {
            model: model.into(),
            currency: c.into(),
        }),
    }
}

fn check_max(model: &str, field: &str, p: Decimal) -> Result<Decimal, PriceError> {
    if p > MAX_PRICE_PER_TOKEN {
        Err(PriceError::InvalidPrice {
            model: model.into(),
            field: field.into(),
            reason: format!("{p} USD per token is above $1 per token; is it a per-million price?"),
        })
    } else {
        Ok(p)
    }
}

/// Rates of perf-llm's own format, given per million tokens.
fn own_rates(model: &str, raw: &HashMap<String, Box<RawValue>>) -> Result<Rates, PriceError> {
    let per_million = Decimal::from(1_000_000u32);
    let mut r = Rates::default();
    for (field, v) in raw {
        let slot = match field.as_str() {
            "input" => &mut r.input,
            "output" => &mut r.output,
            "cache_read" => &mut r.cache_read,
            "cache_write_5m" => &mut r.cache_write_5m,
            "cache_write_1h" => &mut r.cache_write_1h,
            "reasoning" => &mut r.reasoning,
            other => {
                return Err(PriceError::InvalidPrice {
                    model: model.into(),
                    field: other.into(),
                    reason: "unknown field; expected input, output, cache_read, cache_write_5m, cache_write_1h, reasoning, provider, currency or tiers".into(),
                })
            }
        };
        *slot = price(model, field, v, true)?
            .map(|p| p / per_million)
            .map(|p| check_max(model, field, p))
            .transpose()?;
    }
    Ok(r)
}

/// The LiteLLM fields perf-llm bills, by the slot they fill.
fn litellm_slot<'r>(r: &'r mut Rates, base_name: &str) -> Option<&'r mut Option<Decimal>> {
    Some(match base_name {
        "input_cost_per_token" => &mut r.input,
        "output_cost_per_token" => &mut r.output,
        "cache_read_input_token_cost" => &mut r.cache_read,
        "cache_creation_input_token_cost" => &mut r.cache_write_5m,
        "cache_creation_input_token_cost_above_1hr" => &mut r.cache_write_1h,
        "output_cost_per_reasoning_token" => &mut r.reasoning,
        _ => return None,
    })
}

fn litellm_entry(
    model: &str,
    fields: &HashMap<String, Box<RawValue>>,
) -> Result<Option<ModelPrice>, PriceError> {
    if let Some(c) = fields.get("currency") {
        let c: String = serde_json::from_str(c.get()).unwrap_or_else(|_| c.get().to_owned());
        check_currency(model, Some(&c))?;
    }
    let mut base = Rates::default();
    let mut tiers: Vec<(u64, Rates)> = Vec::new();
    for (field, raw) in fields {
        // `input_cost_per_token_above_200k_tokens` → tier 200_000, slot input.
        let (name, tier) = match field
            .strip_suffix("k_tokens")
            .and_then(|s| s.rsplit_once("_above_"))
        {
            Some((name, k)) if litellm_slot(&mut Rates::default(), name).is_some() => {
                match k.parse::<u64>() {
                    Ok(k) => (name, Some(k.saturating_mul(1000))),
                    Err(_) => continue,
                }
            }
            _ => (field.as_str(), None),
        };
        let rates = match tier {
            None => &mut base,
            Some(t) => match tiers.iter().position(|(x, _)| *x == t) {
                Some(i) => &mut tiers[i].1,
                None => {
                    tiers.push((t, Rates::default()));
                    &mut tiers.last_mut().expect("just pushed").1
                }
            },
        };
        let Some(slot) = litellm_slot(rates, name) else {
            continue;
        };
        *slot = price(model, field, raw, false)?
            .map(|p| check_max(model, field, p))
            .transpose()?;
    }
    if base.input.is_none() && base.output.is_none() {
        return Ok(None);
    }
    tiers.sort_by_key(|t| t.0);
    let provider = fields
        .get("litellm_provider")
        .and_then(|p| serde_json::from_str::<String>(p.get()).ok());
    Ok(Some(ModelPrice {
        provider,
        base,
        tiers,
    }))
}

/// A price from its JSON text: a number (or, if `strings`, a string holding one); `null` is
/// absent. Never goes through `f64`.
fn price(
    model: &str,
    field: &str,
    raw: &RawValue,
    strings: bool,
) -> Result<Option<Decimal>, PriceError> {
    let text = raw.get().trim();
    let bad = |reason: String| PriceError::InvalidPrice {
        model: model.into(),
        field: field.into(),
        reason,
    };
    if text == "null" {
        return Ok(None);
    }
    let number = if text.starts_with('"') && strings {
        serde_json::from_str::<String>(text).map_err(|e| bad(e.to_string()))?
    } else if text.starts_with('-') || text.starts_with(|c: char| c.is_ascii_digit()) {
        text.to_owned()
    } else {
        return Err(bad(format!(
            "expected a price in USD per token, found `{}`",
            short(text)
        )));
    };
    let d = parse_exact_decimal(&number).map_err(bad)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(bad(format!("negative price {d}")));
    }
    Ok(Some(d))
}

fn short(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Parses a JSON number's text (`-?digits[.digits][e[+-]digits]`) into the exact decimal it
/// names. Errors if it needs more than 28 significant digits or 28 decimal places.
///
/// ```
/// use perf_llm::pricing::parse_exact_decimal;
/// assert_eq!(parse_exact_decimal("5.0000000000000004e-08").unwrap().to_string(),
///            "0.000000050000000000000004");
/// assert_eq!(parse_exact_decimal("3.4375e-07").unwrap().to_string(), "0.00000034375");
/// ```
pub fn parse_exact_decimal(text: &str) -> Result<Decimal, String> {
    let err = || format!("`{}` is not a decimal number", short(text));
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa_text, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = rest[i + 1..].parse().map_err(|_| err())?;
            (&rest[..i], e)
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa_text.split_once('.').unwrap_or((mantissa_text, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    // Trailing zeros carry no value; dropping them keeps 1.000e-30-style texts in range.
    let trimmed = digits.trim_end_matches('0');
    let dropped = (digits.len() - trimmed.len()) as i64;
    if trimmed.is_empty() {
        return Ok(Decimal::ZERO);
    }
    if trimmed.len() > 28 {
        return Err(format!(
            "`{}` has more than 28 significant digits; a decimal cannot hold it exactly",
            short(text)
        ));
    }
    let mut m: i128 = trimmed.parse().map_err(|_| err())?;
    let mut scale = frac.len() as i64 - exp - dropped;
    while scale < 0 {
        m = m
            .checked_mul(10)
            .filter(|m| *m < 1i128 << 96)
            .ok_or_else(|| format!("`{}` is too large", short(text)))?;
        scale += 1;
    }
    if scale > 28 {
        return Err(format!(
            "`{}` is finer than 1e-28; a decimal cannot hold it exactly",
            short(text)
        ));
    }
    let d = Decimal::try_from_i128_with_scale(if neg { -m } else { m }, scale as u32)
        .map_err(|e| format!("`{}`: {e}", short(text)))?;
    Ok(d.normalize())
}

/// `gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-20250514` → `claude-sonnet-4`.
fn strip_date(model: &str) -> Option<&str> {
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
    fn exact_decimal_parsing() {
        let p = |s| parse_exact_decimal(s).unwrap().to_string();
        assert_eq!(p("5.0000000000000004e-08"), "0.000000050000000000000004");
        assert_eq!(p("3.4375e-07"), "0.00000034375");
        assert_eq!(p("8.75e-09"), "0.00000000875");
        assert_eq!(p("2.75e-08"), "0.0000000275");
        assert_eq!(p("0.0000025"), "0.0000025");
        assert_eq!(p("1E+2"), "100");
        assert_eq!(p("0"), "0");
        assert_eq!(p("0.0"), "0");
        assert_eq!(p("1.000e-28"), "0.0000000000000000000000000001");
        assert!(parse_exact_decimal("1e-30").unwrap_err().contains("finer"));
        assert!(parse_exact_decimal("12345678901234567890123456789").is_err());
        for bad in [
            "",
            ".",
            "e5",
            "1e",
            "1.2.3",
            "0x10",
            "NaN",
            "1e99999999999999999999",
        ] {
            assert!(parse_exact_decimal(bad).is_err(), "{bad}");
        }
        // 3.4375e-07 USD per token for a million tokens is exactly 0.34375 USD.
        let d = parse_exact_decimal("3.4375e-07").unwrap() * Decimal::from(1_000_000u32);
        assert_eq!(d.normalize().to_string(), "0.34375");
    }

    #[test]
    fn builtin_table_parses() {
        let t = PriceTable::from_json(BUILTIN_JSON).unwrap();
        assert!(t.len() >= 8);
        assert_eq!(t.taken(), Some(BUILTIN_PRICES_TAKEN));
    }

    #[test]
    fn lookup_falls_back_to_bare_and_undated_names() {
        let t = PriceTable::builtin();
        assert!(t.get("openai/gpt-4o").is_some());
        assert!(t.get("gpt-4o-2024-08-06").is_some());
        assert!(t.get("claude-sonnet-4-20250514").is_some());
        assert!(t.get("gpt-5-ultra").is_none());
        assert_eq!(strip_date("o3"), None);
    }

    #[test]
    fn unknown_model_suggests_and_counts() {
        let t = PriceTable::builtin();
        let e = t.cost("gpt-4o-mni", &TokenUsage::new(1, 1)).unwrap_err();
        match &e {
            PriceError::UnknownModel { suggestions, .. } => {
                assert_eq!(suggestions[0], "gpt-4o-mini")
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("did you mean: gpt-4o-mini"), "{e}");
        assert_eq!(t.unknown_model_lookups(), 1);
    }

    #[test]
    fn prepared_price_bills_as_rates_for_does() {
        let d = |s: &str| parse_exact_decimal(s).unwrap();
        let p = ModelPrice::new(d("3e-6"), d("1.5e-5"))
            .with_cache(d("3e-7"), d("3.75e-6"), d("6e-6"))
            .with_tier(
                200_000,
                Rates {
                    input: Some(d("6e-6")),
                    cache_read: Some(d("1e-25")),
                    ..Rates::default()
                },
            );
        let prepared = PreparedPrice::new(&p);
        for input in [0, 1, 200_000, 200_001, 1_000_000] {
            let u = TokenUsage {
                input,
                output: 77,
                cache_read: input / 2,
                ..TokenUsage::default()
            };
            let (cost, fixed) = prepared.bill(&u);
            assert_eq!(cost, Cost::compute(&p.rates_for(&u), &u), "input {input}");
            // The long-context tier's 10⁻²⁵ cache-read rate has no fixed-point form.
            assert_eq!(fixed.is_some(), input <= 200_000, "input {input}");
        }
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
