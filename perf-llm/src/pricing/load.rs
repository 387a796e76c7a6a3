//! Reading price lists exactly: LiteLLM's public `model_prices_and_context_window.json`,
//! perf-llm's own small JSON format and the built-in table. Every amount is a [`Decimal`]
//! parsed from the number's text, never through `f64`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use serde::Deserialize;

use crate::error::PriceError;
use crate::pricing::table::{ModelPrice, Models, PriceTable, Rates};
use crate::providers::json::MapOnly;

/// The largest price accepted, in USD per token: anything above is surely a unit mistake
/// (a per-million price in a per-token field), and the bound keeps every bill exact.
const MAX_PRICE_PER_TOKEN: Decimal = Decimal::ONE;

/// The date the built-in table was taken from the providers' published price pages.
pub const BUILTIN_PRICES_TAKEN: &str = "2025-07-01";

const BUILTIN_JSON: &str = include_str!("builtin_prices.json");

/// What a loader does with an entry it cannot read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadMode {
    /// Skip the entry, list it in [`LoadReport::skipped`] and log one WARN for the file. A
    /// file in which entries are malformed and none loads is still an error
    /// ([`PriceError::NoValidEntry`]).
    #[default]
    Lenient,
    /// Fail on the first malformed entry, in file order, with its error.
    Strict,
}

/// Why an entry of a price file was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// LiteLLM's `sample_spec`: the list's description of its own fields, not a model.
    SampleSpec,
    /// No per-token input or output price: priced per image, second, character, query or
    /// not at all. perf-llm bills tokens only. Never an error, in either mode.
    NotPerToken,
    /// The entry is malformed (a bad price, a repeated key, another currency, …).
    Invalid(PriceError),
}

/// What a loader read: how many models it loaded and each entry it skipped, with why.
/// `loaded + skipped.len()` is the number of entries in the file.
///
/// ```
/// use perf_llm::pricing::{LoadMode, SkipReason};
/// use perf_llm::PriceTable;
///
/// let (table, report) = PriceTable::load_litellm_json(r#"{
///     "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
///     "gpt-typo": {"input_cost_per_token": "cheap"},
///     "dall-e-3": {"output_cost_per_image": 0.04}
/// }"#, LoadMode::Lenient).unwrap();
/// assert_eq!((table.len(), report.loaded), (1, 1));
/// assert_eq!(report.skipped[0].0, "gpt-typo");
/// assert!(matches!(report.skipped[0].1, SkipReason::Invalid(_)));
/// assert_eq!(report.skipped[1], ("dall-e-3".to_string(), SkipReason::NotPerToken));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// How many models the table got.
    pub loaded: usize,
    /// Each entry not loaded, in file order, with why. A key repeated in the file is listed
    /// once per occurrence.
    pub skipped: Vec<(String, SkipReason)>,
}

impl LoadReport {
    /// The entries skipped because they are malformed, with their errors.
    pub fn invalid(&self) -> impl Iterator<Item = (&str, &PriceError)> {
        self.skipped.iter().filter_map(|(k, r)| match r {
            SkipReason::Invalid(e) => Some((k.as_str(), e)),
            _ => None,
        })
    }
}

impl PriceTable {
    /// The built-in table: a handful of current OpenAI, Anthropic and Google models, taken
    /// on [`BUILTIN_PRICES_TAKEN`]. Prices change; load a current list for billing.
    ///
    /// ```
    /// let t = perf_llm::PriceTable::builtin();
    /// assert!(t.get("gpt-4o").is_some());
    /// assert_eq!(t.taken(), Some(perf_llm::pricing::BUILTIN_PRICES_TAKEN));
    /// ```
    pub fn builtin() -> Self {
        // The embedded file is checked by a unit test in strict mode; an error here cannot
        // happen at run time.
        Self::from_json(BUILTIN_JSON).unwrap_or_default()
    }

    /// Reads LiteLLM's `model_prices_and_context_window.json` (prices per token), skipping
    /// malformed entries with one WARN: [`load_litellm_json`](Self::load_litellm_json) in
    /// [`LoadMode::Lenient`], without the report.
    ///
    /// The `sample_spec` entry is skipped, as are entries priced per image, second or
    /// character (no per-token field). Fields perf-llm does not bill (objects such as
    /// `search_context_cost_per_query`, strings, lists) are ignored. An entry is malformed
    /// when a per-token price field is not a non-negative number of at most $1, a key
    /// repeats, or its `currency` is not USD.
    pub fn from_litellm_json(json: &str) -> Result<PriceTable, PriceError> {
        Ok(Self::load_litellm_json(json, LoadMode::Lenient)?.0)
    }

    /// Reads LiteLLM's list as [`from_litellm_json`](Self::from_litellm_json) does, and
    /// says which entries were skipped and why. In [`LoadMode::Strict`] the first malformed
    /// entry is the error. Errors in both modes: the text is not a JSON object
    /// ([`PriceError::Json`]), a model name repeats ([`PriceError::DuplicateKey`] in strict
    /// mode; in lenient mode each occurrence is skipped), or entries are malformed and none
    /// loads ([`PriceError::NoValidEntry`]).
    ///
    /// ```
    /// use perf_llm::pricing::LoadMode;
    /// let json = r#"{"gpt-4o": {"input_cost_per_token": 2.5e-06},
    ///                "gpt-bad": {"input_cost_per_token": -1}}"#;
    /// let (t, report) = perf_llm::PriceTable::load_litellm_json(json, LoadMode::Lenient)?;
    /// assert_eq!((t.len(), report.skipped.len()), (1, 1));
    /// let e = perf_llm::PriceTable::load_litellm_json(json, LoadMode::Strict).unwrap_err();
    /// assert!(e.to_string().contains("gpt-bad"), "{e}");
    /// # Ok::<(), perf_llm::PriceError>(())
    /// ```
    pub fn load_litellm_json(
        json: &str,
        mode: LoadMode,
    ) -> Result<(PriceTable, LoadReport), PriceError> {
        let top: Entries =
            serde_json::from_str(json).map_err(|e| PriceError::Json(e.to_string()))?;
        let (models, report) = load_entries(top.0, mode, |model, entry| {
            if model == "sample_spec" {
                return Ok(Err(SkipReason::SampleSpec));
            }
            let fields = object(model, entry, "(entry)", "")?;
            Ok(litellm_entry(model, &fields)?.ok_or(SkipReason::NotPerToken))
        })?;
        Ok((PriceTable::indexed(models, None), report))
    }

    /// Reads perf-llm's own format: prices in USD **per million tokens** (numbers or
    /// strings, both read exactly), optional 1-hour cache writes and long-context tiers.
    /// Malformed models are skipped with one WARN, as in
    /// [`load_json`](Self::load_json) with [`LoadMode::Lenient`].
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
        Ok(Self::load_json(json, LoadMode::Lenient)?.0)
    }

    /// Reads perf-llm's own format as [`from_json`](Self::from_json) does, and says which
    /// models were skipped and why; errors as
    /// [`load_litellm_json`](Self::load_litellm_json) does. The file's own fields (an
    /// unknown one, a currency other than USD) are errors in both modes.
    ///
    /// ```
    /// use perf_llm::pricing::LoadMode;
    /// let json = r#"{"models": {"m": {"input": 1, "output": 2}, "n": {"inptu": 1}}}"#;
    /// let (t, report) = perf_llm::PriceTable::load_json(json, LoadMode::Lenient)?;
    /// assert_eq!((t.len(), report.skipped[0].0.as_str()), (1, "n"));
    /// assert!(perf_llm::PriceTable::load_json(json, LoadMode::Strict).is_err());
    /// # Ok::<(), perf_llm::PriceError>(())
    /// ```
    pub fn load_json(json: &str, mode: LoadMode) -> Result<(PriceTable, LoadReport), PriceError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            currency: Option<String>,
            #[serde(default)]
            taken: Option<String>,
            models: Entries,
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let file = File::deserialize(MapOnly(&mut de))
            .and_then(|f| de.end().map(|()| f))
            .map_err(|e| PriceError::Json(e.to_string()))?;
        check_currency("*", file.currency.as_deref())?;
        let (models, report) = load_entries(file.models.0, mode, |model, entry| {
            own_entry(model, entry).map(Ok)
        })?;
        Ok((PriceTable::indexed(models, file.taken), report))
    }
}

/// One JSON object's entries in file order, a repeated key kept so that it can be named.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Entries, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(4096));
                while let Some(e) = m.next_entry()? {
                    v.push(e);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

type Fields = HashMap<String, Box<RawValue>>;

/// The object `raw` (a model's entry, or a tier: `field` names it in the error), its keys
/// checked unique (a repeat is named `{prefix}{key}`).
fn object(model: &str, raw: &RawValue, field: &str, prefix: &str) -> Result<Fields, PriceError> {
    let entries: Entries =
        serde_json::from_str(raw.get()).map_err(|_| PriceError::InvalidPrice {
            model: model.into(),
            field: field.into(),
            reason: "expected a JSON object".into(),
        })?;
    let mut fields = Fields::with_capacity(entries.0.len());
    for (k, v) in entries.0 {
        if fields.contains_key(&k) {
            return Err(PriceError::DuplicateKey {
                model: model.into(),
                key: format!("{prefix}{k}"),
            });
        }
        fields.insert(k, v);
    }
    Ok(fields)
}

/// Reads each model's entry with `read` (`Ok(Err(reason))`: skipped, not an error), in file
/// order, as `mode` says; see [`LoadMode`].
fn load_entries(
    entries: Vec<(String, Box<RawValue>)>,
    mode: LoadMode,
    read: impl Fn(&str, &RawValue) -> Result<Result<ModelPrice, SkipReason>, PriceError>,
) -> Result<(Models, LoadReport), PriceError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (k, _) in &entries {
        *seen.entry(k.as_str()).or_default() += 1;
    }
    let repeated: std::collections::HashSet<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k.to_owned())
        .collect();
    let mut models = Models::with_capacity_and_hasher(entries.len(), Default::default());
    let mut report = LoadReport::default();
    for (model, raw) in entries {
        let read = if repeated.contains(&model) {
            // Neither occurrence is more right than the other.
            Err(PriceError::DuplicateKey {
                model: "*".into(),
                key: model.clone(),
            })
        } else {
            read(&model, &raw)
        };
        match read {
            Ok(Ok(price)) => {
                models.insert(model, price);
                report.loaded += 1;
            }
            Ok(Err(reason)) => report.skipped.push((model, reason)),
            Err(e) if mode == LoadMode::Strict => return Err(e),
            Err(e) => report.skipped.push((model, SkipReason::Invalid(e))),
        }
    }
    let invalid: Vec<(&str, &PriceError)> = report.invalid().collect();
    if let Some((_, first)) = invalid.first() {
        if report.loaded == 0 {
            return Err(PriceError::NoValidEntry {
                invalid: invalid.len(),
                first: Box::new((*first).clone()),
            });
        }
        let examples: Vec<String> = invalid.iter().take(3).map(|(_, e)| e.to_string()).collect();
        tracing::warn!(target: "perf_llm", loaded = report.loaded, skipped_malformed = invalid.len(),
            "price file: skipped {} malformed entries ({}{}); LoadReport lists them all, LoadMode::Strict refuses the file",
            invalid.len(), examples.join("; "), if invalid.len() > 3 { "; …" } else { "" });
    }
    Ok((models, report))
}

/// One model of perf-llm's own format.
fn own_entry(model: &str, raw: &RawValue) -> Result<ModelPrice, PriceError> {
    let bad = |field: &str, reason: String| PriceError::InvalidPrice {
        model: model.into(),
        field: field.into(),
        reason,
    };
    let mut p = ModelPrice {
        provider: None,
        base: Rates::default(),
        tiers: Vec::new(),
    };
    let mut rates = Fields::new();
    for (field, raw) in object(model, raw, "(entry)", "")? {
        match field.as_str() {
            "provider" => {
                p.provider = Some(
                    serde_json::from_str(raw.get()).map_err(|e| bad("provider", e.to_string()))?,
                )
            }
            "currency" => {
                let c: String =
                    serde_json::from_str(raw.get()).map_err(|e| bad("currency", e.to_string()))?;
                check_currency(model, Some(&c))?;
            }
            "tiers" => {
                let tiers: Vec<Box<RawValue>> = serde_json::from_str(raw.get())
                    .map_err(|e| bad("tiers", format!("expected a list of objects: {e}")))?;
                for t in tiers {
                    let mut t = object(model, &t, "tiers", "tiers.")?;
                    let above = t
                        .remove("above_input_tokens")
                        .and_then(|a| serde_json::from_str::<u64>(a.get()).ok())
                        .ok_or_else(|| {
                            bad(
                                "tiers.above_input_tokens",
                                "each tier needs a non-negative integer above_input_tokens".into(),
                            )
                        })?;
                    p.tiers.push((above, own_rates(model, &t)?));
                }
            }
            _ => {
                rates.insert(field, raw);
            }
        }
    }
    p.base = own_rates(model, &rates)?;
    p.tiers.sort_by_key(|t| t.0);
    Ok(p)
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

/// Each rate's slot, with its name in perf-llm's own format and in LiteLLM's list.
type Slot = (
    &'static str,
    &'static str,
    fn(&mut Rates) -> &mut Option<Decimal>,
);

#[rustfmt::skip]
const SLOTS: [Slot; 6] = [
    ("input", "input_cost_per_token", |r| &mut r.input),
    ("output", "output_cost_per_token", |r| &mut r.output),
    ("cache_read", "cache_read_input_token_cost", |r| &mut r.cache_read),
    ("cache_write_5m", "cache_creation_input_token_cost", |r| &mut r.cache_write_5m),
    ("cache_write_1h", "cache_creation_input_token_cost_above_1hr", |r| &mut r.cache_write_1h),
    ("reasoning", "output_cost_per_reasoning_token", |r| &mut r.reasoning),
];

/// Rates of perf-llm's own format, given per million tokens.
fn own_rates(model: &str, raw: &Fields) -> Result<Rates, PriceError> {
    let per_million = Decimal::from(1_000_000u32);
    let mut r = Rates::default();
    for (field, v) in raw {
        let Some((_, _, slot)) = SLOTS.iter().find(|(own, _, _)| own == field) else {
            return Err(PriceError::InvalidPrice {
                model: model.into(),
                field: field.as_str().into(),
                reason: "unknown field; expected input, output, cache_read, cache_write_5m, cache_write_1h, reasoning, provider, currency or tiers".into(),
            });
        };
        *slot(&mut r) = price(model, field, v, true)?
            .map(|p| p / per_million)
            .map(|p| check_max(model, field, p))
            .transpose()?;
    }
    Ok(r)
}

/// The LiteLLM fields perf-llm bills, by the slot they fill.
fn litellm_slot<'r>(r: &'r mut Rates, base_name: &str) -> Option<&'r mut Option<Decimal>> {
    let (_, _, slot) = SLOTS.iter().find(|(_, litellm, _)| *litellm == base_name)?;
    Some(slot(r))
}

fn litellm_entry(model: &str, fields: &Fields) -> Result<Option<ModelPrice>, PriceError> {
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
        Some(i) => (&rest[..i], exponent(&rest[i + 1..]).ok_or_else(err)?),
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
    // In i128: with an exponent near i64::MIN or MAX, the i64 difference overflowed (a
    // panic in debug builds, a wrapped scale and the wrong error in release ones).
    let mut scale = frac.len() as i128 - i128::from(exp) - dropped as i128;
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

/// An exponent's text (`[+-]digits`), clamped to the `i64` range: any exponent past it
/// makes a nonzero number too large or too fine for a decimal all the same.
fn exponent(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(if text.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

#[cfg(test)]
mod tests;
