//! The bill of one call (or of many, summed): what each kind of token cost, exactly, and
//! what the prompt cache saved net of its write premium; and the resolved rates a bill is
//! computed at (`billing.rs` computes it).

use std::ops::{Add, AddAssign};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

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

/// A bill in USD, exact. Each token is billed once: uncached input, cache reads and cache
/// writes are disjoint parts of the normalised input; reasoning is a part of output.
/// Arithmetic on bills never panics: an amount past the decimal range (about 7.9 × 10²⁸ USD,
/// only reachable with a hand-set price far above $1 per token) saturates at ±`Decimal::MAX`
/// in [`Cost::compute`], `+` and [`Cost::cache_savings`], and is
/// [`PriceError::CostOverflow`](crate::PriceError::CostOverflow) from
/// [`PriceTable::cost`](crate::PriceTable::cost).
///
/// ```
/// use perf_llm::{PriceTable, TokenUsage};
///
/// let usage = TokenUsage::from_openai_chat(&serde_json::json!({"usage": {
///     "prompt_tokens": 2000, "completion_tokens": 300,
///     "prompt_tokens_details": {"cached_tokens": 1500}}})).unwrap();
/// let cost = PriceTable::builtin().cost("gpt-4o", &usage).unwrap();
/// // 500 × $2.50/M + 1500 × $1.25/M + 300 × $10/M = 0.00125 + 0.001875 + 0.003
/// assert_eq!(cost.total.normalize().to_string(), "0.006125");
/// // Uncached it would have been 2000 × $2.50/M + 0.003 = 0.008
/// assert_eq!(cost.cache_savings().normalize().to_string(), "0.001875");
/// assert!((cost.total_usd() - 0.006125).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
// A decimal is four `u32`s (align 4), so a plain `Cost` is copied a word at a time, and
// reading those words back as 16-byte vectors stalls on store forwarding. Aligned to 16, each
// amount moves as one vector: recording an `LlmCall` got ~25% faster (BENCHMARKS.md).
#[repr(align(16))]
pub struct Cost {
    /// Uncached input tokens.
    pub input: Decimal,
    /// Input tokens read from the prompt cache.
    pub cached_input: Decimal,
    /// Input tokens written to the prompt cache (5-minute and 1-hour).
    pub cache_write: Decimal,
    /// Output tokens other than reasoning.
    pub output: Decimal,
    /// Reasoning tokens.
    pub reasoning: Decimal,
    /// The sum of the five parts above.
    pub total: Decimal,
    /// What the same call would have cost with nothing read from or written to the cache:
    /// every input token at the (same tier's) input rate.
    pub without_cache: Decimal,
}

impl Cost {
    /// The same amounts without trailing zeros, so they print as `0.006125`, not
    /// `0.00612500` (equal as numbers either way).
    pub fn normalized(&self) -> Cost {
        Cost {
            input: self.input.normalize(),
            cached_input: self.cached_input.normalize(),
            cache_write: self.cache_write.normalize(),
            output: self.output.normalize(),
            reasoning: self.reasoning.normalize(),
            total: self.total.normalize(),
            without_cache: self.without_cache.normalize(),
        }
    }

    /// Prompt-cache savings: `without_cache − total`. Negative when the write premium
    /// exceeded what reads saved (a cache written but not yet read). Saturates at
    /// ±`Decimal::MAX` rather than panicking (only saturated amounts can get there).
    pub fn cache_savings(&self) -> Decimal {
        self.without_cache.saturating_sub(self.total)
    }

    /// The total as `f64`, for display only; sum [`Cost`]s, not these.
    pub fn total_usd(&self) -> f64 {
        self.total.to_f64().unwrap_or(f64::NAN)
    }

    /// The cache savings as `f64`, for display only.
    pub fn cache_savings_usd(&self) -> f64 {
        self.cache_savings().to_f64().unwrap_or(f64::NAN)
    }
}

impl Cost {
    /// Applies `f` to each amount of `self` with the same amount of `o`.
    fn zip_amounts(&mut self, o: &Cost, mut f: impl FnMut(&mut Decimal, Decimal)) {
        f(&mut self.input, o.input);
        f(&mut self.cached_input, o.cached_input);
        f(&mut self.cache_write, o.cache_write);
        f(&mut self.output, o.output);
        f(&mut self.reasoning, o.reasoning);
        f(&mut self.total, o.total);
        f(&mut self.without_cache, o.without_cache);
    }
}

/// `a += b`, each amount saturating at ±`Decimal::MAX` (about 7.9 × 10²⁸ USD) rather than
/// panicking as decimal `+` does.
pub(crate) fn saturating_add(a: &mut Cost, b: &Cost) {
    a.zip_amounts(b, |x, y| *x = x.saturating_add(y));
}

impl Add for Cost {
    type Output = Cost;
    fn add(mut self, o: Cost) -> Cost {
        self += o;
        self
    }
}

/// Each amount saturates at ±`Decimal::MAX` (about 7.9 × 10²⁸ USD) instead of panicking:
/// no real sum of bills gets there, and a saturated total is plainly wrong on a dashboard.
impl AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        saturating_add(self, &o);
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::default(), Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn sums_are_exact_where_f64_drifts() {
        let one = Cost {
            total: d("0.1"),
            ..Cost::default()
        };
        let sum: Cost = std::iter::repeat_n(one, 10).sum();
        assert_eq!(sum.total, d("1"));
        let f: f64 = std::iter::repeat_n(0.1f64, 10).sum();
        assert_ne!(f, 1.0);
    }
}
