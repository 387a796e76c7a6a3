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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("budget `{key}` exhausted: spent ${spent} of ${limit} this {window}; the call was not sent (raise the limit or wait for the next window)")]
pub struct BudgetExceeded {
    /// The budget's key, e.g. `user:alice`.
    pub key: String,
    /// The window, e.g. `hour`.
    pub window: &'static str,
    /// The hard limit in USD.
    pub limit: Decimal,
    /// What was already spent in this window, in USD.
    pub spent: Decimal,
}
