//! Prices per token for each model, read exactly: LiteLLM's public
//! `model_prices_and_context_window.json`, perf-llm's own small JSON format, or the built-in
//! table. Every amount is a [`Decimal`](rust_decimal::Decimal) parsed from the number's text,
//! never through `f64`.
//!
//! * `table`: [`PriceTable`], [`ModelPrice`], [`Rates`]; lookups and the meter's prepared price.
//! * `load`: the price-file readers (lenient, skipping a malformed entry with a
//!   [`LoadReport`], or strict: [`LoadMode`]), [`parse_exact_decimal`], the built-in table.

mod load;
mod table;
#[cfg(test)]
mod tests;

pub use crate::cost::ResolvedRates;
pub use load::{parse_exact_decimal, LoadMode, LoadReport, SkipReason, BUILTIN_PRICES_TAKEN};
pub(crate) use table::PreparedPrice;
pub use table::{ModelPrice, PriceTable, Rates};
