//! The errors of perf-llm: what went wrong and what to do about it.

use rust_decimal::Decimal;

/// A provider's usage JSON could not be turned into a [`TokenUsage`](crate::TokenUsage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// The response has no usage object (a streamed chunk before the final one, or a stream
    /// started without `stream_options.include_usage`).
    #[error("no `usage` object in the {provider} response; for OpenAI streams set `stream_options: {{\"include_usage\": true}}` and read the final chunk")]
    Missing {
        /// Which parser was asked.
        provider: &'static str,
    },
    /// The usage object lacks a count that cannot be assumed zero.
    #[error("incomplete {provider} usage: no `{field}`; an Anthropic `message_delta` alone lacks input counts, merge the stream's events with `AnthropicStreamUsage`")]
    Incomplete {
        /// Which parser was asked.
        provider: &'static str,
        /// The JSON path of the missing count.
        field: &'static str,
    },
    /// The JSON is not an object where one is needed.
    #[error("malformed {provider} usage: `{field}` should be an object, found {found}")]
    NotAnObject {
        /// Which parser was asked.
        provider: &'static str,
        /// The JSON path of the value.
        field: &'static str,
        /// What was there instead.
        found: String,
    },
    /// A count is negative, fractional, too large for `u64`, or not a number.
    #[error("malformed {provider} usage: `{field}` = {value} is not a token count (a non-negative integer below 2^64)")]
    InvalidCount {
        /// Which parser was asked.
        provider: &'static str,
        /// The JSON path of the count.
        field: &'static str,
        /// The JSON text found.
        value: String,
    },
    /// A count that must be a part of another is larger than it (e.g. cached > input).
    #[error("impossible usage: {part} ({part_count}) is larger than {whole} ({whole_count}); the provider's counts are inconsistent, do not bill them")]
    PartExceedsWhole {
        /// The name of the part (e.g. `cache_read`).
        part: &'static str,
        /// Its count.
        part_count: u64,
        /// The name of the whole (e.g. `input`).
        whole: &'static str,
        /// Its count.
        whole_count: u64,
    },
    /// Adding the counts overflows `u64`.
    #[error("token counts overflow u64 while adding {what}; the usage is corrupt")]
    Overflow {
        /// What was being added.
        what: &'static str,
    },
}

/// A price table could not be read, or has no price for a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The table has no entry for the model.
    #[error("no price for model `{model}`{}; add it to the price table (PriceTable::insert or a price file)", suggest(.suggestions))]
    UnknownModel {
        /// The model asked for.
        model: String,
        /// The nearest names in the table, closest first.
        suggestions: Vec<String>,
    },
    /// The file is not JSON of the expected shape.
    #[error("price file is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// One price field of one model is malformed.
    #[error("price file: model `{model}`, field `{field}`: {reason}")]
    InvalidPrice {
        /// The model whose entry is wrong.
        model: String,
        /// The field that is wrong.
        field: String,
        /// Why.
        reason: String,
    },
    /// A key appears twice in one object of a price file. JSON readers disagree on which of
    /// the two wins, so perf-llm takes neither.
    #[error("price file: key `{key}` appears twice in {}; remove one of them", within(.model))]
    DuplicateKey {
        /// The model whose entry repeats the key, or `*` when the key is a model name
        /// repeated at the top of the file (LiteLLM's list) or in `models` (perf-llm's own).
        model: String,
        /// The repeated key (`tiers.input` for a field of a tier).
        key: String,
    },
    /// A bill does not fit in a decimal (about 7.9 × 10²⁸ USD): only a price far above the
    /// loaders' $1-per-token cap, set through [`PriceTable::insert`](crate::PriceTable::insert)
    /// or [`ModelPrice::new`](crate::ModelPrice::new), can cause it.
    #[error("the bill for model `{model}` does not fit in a decimal (above 7.9e28 USD); its price is surely wrong: prices are USD per token, not per million")]
    CostOverflow {
        /// The model billed.
        model: String,
    },
    /// Entries of the price file are malformed and none could be loaded (a lenient load;
    /// a strict one fails on the first).
    #[error(
        "price file: no model could be loaded, {invalid} malformed entries; the first: {first}"
    )]
    NoValidEntry {
        /// How many entries are malformed.
        invalid: usize,
        /// The first malformed entry's error, in file order.
        first: Box<PriceError>,
    },
    /// Prices are given in a currency other than USD.
    #[error("price file: model `{model}` is priced in `{currency}`, but perf-llm accounts in USD only; convert the prices to USD")]
    UnknownCurrency {
        /// The model (or `*` for the whole file).
        model: String,
        /// The currency named.
        currency: String,
    },
}

fn within(model: &str) -> String {
    if model == "*" {
        "the list of models".into()
    } else {
        format!("the entry of model `{model}`")
    }
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {}?)", s.join(", "))
    }
}

/// A hard budget limit refused a call before it was sent.
///
/// Its message says which bound the budget keeps: a call that gives the most it may cost
/// (a ceiling) is admitted only if that fits under the limit beside what is spent and what
/// the calls in flight have reserved; a call of unknown cost only while the limit is not
/// reached and no other call of unknown cost is in flight, so the overspend is at most
/// that one call's cost.
///
/// ```
/// use perf_llm::budget::{Budget, BudgetKey, Budgets, Window};
/// use perf_llm::{Decimal, Refusal};
///
/// let budgets = Budgets::new();
/// let keys = [BudgetKey::user("alice")];
/// budgets.set(keys[0].clone(), Budget::new(Decimal::ONE, Window::Day).hard());
/// let held = budgets.reserve(&keys, Decimal::new(8, 1)).unwrap(); // $0.80 in flight
/// let refusal = budgets.reserve(&keys, Decimal::new(3, 1)).unwrap_err();
/// assert_eq!(refusal.reason, Refusal::WouldExceed { ceiling: Decimal::new(3, 1) });
/// assert_eq!(refusal.reserved, Decimal::new(8, 1));
/// drop(held);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetExceeded {
    /// The budget's key, e.g. `user:alice`.
    pub key: String,
    /// The window, e.g. `hour`.
    pub window: &'static str,
    /// The hard limit in USD.
    pub limit: Decimal,
    /// What was already spent in this window, in USD.
    pub spent: Decimal,
    /// What the calls in flight on this budget have reserved (their ceilings), in USD.
    pub reserved: Decimal,
    /// Why the call was refused.
    pub reason: Refusal,
}

/// Why a hard budget refused a call: which admission rule it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The call's ceiling, added to what is spent and reserved, would pass the limit.
    WouldExceed {
        /// The most the call said it may cost, USD.
        ceiling: Decimal,
    },
    /// The call gave no ceiling, and what is spent and reserved has reached the limit.
    Spent,
    /// The call gave no ceiling, and another call of unknown cost is in flight on this
    /// budget: admitting both could overspend by more than one call.
    UnknownCostInFlight,
}

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (key, window, limit) = (&self.key, self.window, self.limit);
        let (spent, reserved) = (self.spent, self.reserved);
        match self.reason {
            Refusal::WouldExceed { ceiling } => write!(
                f,
                "budget `{key}` would be exceeded: spent ${spent} + reserved by calls in flight ${reserved} + this call's ceiling ${ceiling} is over the limit of ${limit} this {window}; the call was not sent (a hard budget admits a call only if its ceiling fits; lower the ceiling, raise the limit, or wait for the calls in flight or the next window)"
            ),
            Refusal::Spent => write!(
                f,
                "budget `{key}` exhausted: spent ${spent} + reserved by calls in flight ${reserved} of ${limit} this {window}; the call was not sent (raise the limit or wait for the next window)"
            ),
            Refusal::UnknownCostInFlight => write!(
                f,
                "budget `{key}`: another call of unknown cost is in flight (spent ${spent} of ${limit} this {window}); the call was not sent, because a call that gives no ceiling is admitted only alone, which bounds the overspend to one call's cost (give calls a ceiling with `Budgets::reserve` or `Budget::per_call` to run them concurrently)"
            ),
        }
    }
}

impl std::error::Error for BudgetExceeded {}
