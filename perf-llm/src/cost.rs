//! The bill of one call (or of many, summed): what each kind of token cost, exactly, and
//! what the prompt cache saved net of its write premium.

use std::ops::{Add, AddAssign};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::pricing::ResolvedRates;
use crate::usage::TokenUsage;

/// A bill in USD, exact. Each token is billed once: uncached input, cache reads and cache
/// writes are disjoint parts of the normalised input; reasoning is a part of output.
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
    /// Bills `usage` at `rates`.
    pub fn compute(rates: &ResolvedRates, usage: &TokenUsage) -> Cost {
        Self::compute_fixed(rates, usage).unwrap_or_else(|| Self::compute_decimal(rates, usage))
    }

    /// The same bill in `i128` fixed point at the rates' common scale (at most 10⁻²⁴ USD):
    /// exact, and several times faster than decimal multiplication. `None` when a rate is
    /// finer than 10⁻²⁴ or an amount would not fit; `compute_decimal` then does it.
    fn compute_fixed(rates: &ResolvedRates, usage: &TokenUsage) -> Option<Cost> {
        FixedRates::new(rates)?.bill(usage)?.to_cost()
    }

    /// The bill in decimal arithmetic (any rate, any size).
    pub(crate) fn compute_decimal(rates: &ResolvedRates, usage: &TokenUsage) -> Cost {
        let n = Decimal::from;
        let input = n(usage.uncached_input()) * rates.input;
        let cached_input = n(usage.cache_read) * rates.cache_read;
        let cache_write = n(usage.cache_write_5m()) * rates.cache_write_5m
            + n(usage.cache_write_1h) * rates.cache_write_1h;
        let reasoning = n(usage.reasoning) * rates.reasoning;
        let output = n(usage.output.saturating_sub(usage.reasoning)) * rates.output;
        let out_total = output + reasoning;
        // Not normalised here: it costs more than the arithmetic, and the recording path
        // does not print. `PriceTable::cost` returns `normalized()` amounts.
        Cost {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
            total: input + cached_input + cache_write + out_total,
            without_cache: n(usage.input) * rates.input + out_total,
        }
    }

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
    /// exceeded what reads saved (a cache written but not yet read).
    pub fn cache_savings(&self) -> Decimal {
        self.without_cache - self.total
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

/// The finest scale of [`Cost::compute`]'s fixed-point arithmetic: 10⁻²⁴ USD, fine enough
/// for every price in LiteLLM's list (the finest, e.g. `5.0000000000000004e-08`, needs it).
const FIXED_SCALE: u32 = 24;

/// `d` in units of 10^−`scale`; `d` has at most `scale` decimal places.
fn fixed(d: Decimal, scale: u32) -> Option<i128> {
    let shift = scale.checked_sub(d.scale())?;
    d.mantissa().checked_mul(*POW10.get(shift as usize)?)
}

/// 10⁰ … 10²⁴: a table, because `i128::pow` loops and this runs six times a call.
const POW10: [i128; FIXED_SCALE as usize + 1] = {
    let mut t = [1i128; FIXED_SCALE as usize + 1];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Rates in `i128` units of 10^−`scale` USD per token, `scale` ≤ 24 being the rates' common
/// scale (not always 24: amounts then carry no more trailing zeros than decimal
/// multiplication would give). Made once per model by the meter, so a call is billed with
/// seven integer multiplications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedRates {
    scale: u32,
    input: i128,
    output: i128,
    cache_read: i128,
    cache_write_5m: i128,
    cache_write_1h: i128,
    reasoning: i128,
}

impl FixedRates {
    /// `None` when a rate is finer than 10⁻²⁴ USD (the decimal path bills those).
    pub(crate) fn new(rates: &ResolvedRates) -> Option<FixedRates> {
        let scale = [
            rates.input,
            rates.output,
            rates.cache_read,
            rates.cache_write_5m,
            rates.cache_write_1h,
            rates.reasoning,
        ]
        .iter()
        .map(Decimal::scale)
        .max()
        .unwrap_or(0);
        if scale > FIXED_SCALE {
            return None;
        }
        let r = |d: Decimal| fixed(d, scale);
        Some(FixedRates {
            scale,
            input: r(rates.input)?,
            output: r(rates.output)?,
            cache_read: r(rates.cache_read)?,
            cache_write_5m: r(rates.cache_write_5m)?,
            cache_write_1h: r(rates.cache_write_1h)?,
            reasoning: r(rates.reasoning)?,
        })
    }

    /// The bill of `usage`; `None` if an amount does not fit in an `i128`.
    pub(crate) fn bill(&self, usage: &TokenUsage) -> Option<FixedCost> {
        let mul = |tokens: u64, rate: i128| i128::from(tokens).checked_mul(rate);
        let input = mul(usage.uncached_input(), self.input)?;
        let cached_input = mul(usage.cache_read, self.cache_read)?;
        let cache_write = mul(usage.cache_write_5m(), self.cache_write_5m)?
            .checked_add(mul(usage.cache_write_1h, self.cache_write_1h)?)?;
        let reasoning = mul(usage.reasoning, self.reasoning)?;
        let output = mul(usage.output.saturating_sub(usage.reasoning), self.output)?;
        let out_total = output.checked_add(reasoning)?;
        let total = input
            .checked_add(cached_input)?
            .checked_add(cache_write)?
            .checked_add(out_total)?;
        let without_cache = mul(usage.input, self.input)?.checked_add(out_total)?;
        Some(FixedCost {
            scale: self.scale,
            parts: [
                input,
                cached_input,
                cache_write,
                output,
                reasoning,
                total,
                without_cache,
            ],
        })
    }
}

/// A bill in `i128` units of 10^−`scale` USD, parts in [`Cost`]'s field order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedCost {
    scale: u32,
    parts: [i128; 7],
}

impl FixedCost {
    /// As decimals; `None` if a part needs more than 96 bits of mantissa.
    pub(crate) fn to_cost(&self) -> Option<Cost> {
        let d = |x: i128| Decimal::try_from_i128_with_scale(x, self.scale).ok();
        let p = &self.parts;
        Some(Cost {
            input: d(p[0])?,
            cached_input: d(p[1])?,
            cache_write: d(p[2])?,
            output: d(p[3])?,
            reasoning: d(p[4])?,
            total: d(p[5])?,
            without_cache: d(p[6])?,
        })
    }
}

/// A running sum of bills, exact: `i128` units of 10⁻²⁴ USD (room for $1.7 × 10¹⁴), so a
/// call adds seven integers instead of seven decimals. A bill that does not fit (a rate finer
/// than 10⁻²⁴, or the sum would overflow) is added to `spill` as decimals instead.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CostSum {
    fixed: [i128; 7],
    spill: Option<Cost>,
}

impl CostSum {
    /// Adds a fixed-point bill.
    pub(crate) fn add_fixed(&mut self, c: &FixedCost) {
        if let Some(next) = self.try_add(c.scale, &c.parts) {
            self.fixed = next;
        } else if let Some(cost) = c.to_cost() {
            self.add_spill(cost);
        } else {
            // A part needs more than 96 bits: add it through decimal arithmetic, which
            // rounds only past 28 significant digits, as summing `Cost`s would.
            let d = |x: i128| fixed_to_decimal(x, c.scale);
            let p = &c.parts;
            self.add_spill(Cost {
                input: d(p[0]),
                cached_input: d(p[1]),
                cache_write: d(p[2]),
                output: d(p[3]),
                reasoning: d(p[4]),
                total: d(p[5]),
                without_cache: d(p[6]),
            });
        }
    }

    /// Adds a bill given as decimals.
    pub(crate) fn add(&mut self, c: &Cost) {
        let f = |d: Decimal| fixed(d, FIXED_SCALE);
        let parts = (|| {
            Some([
                f(c.input)?,
                f(c.cached_input)?,
                f(c.cache_write)?,
                f(c.output)?,
                f(c.reasoning)?,
                f(c.total)?,
                f(c.without_cache)?,
            ])
        })();
        match parts.and_then(|p| self.try_add(FIXED_SCALE, &p)) {
            Some(next) => self.fixed = next,
            None => self.add_spill(*c),
        }
    }

    fn try_add(&self, scale: u32, parts: &[i128; 7]) -> Option<[i128; 7]> {
        let k = *POW10.get(FIXED_SCALE.checked_sub(scale)? as usize)?;
        let mut next = self.fixed;
        for (n, p) in next.iter_mut().zip(parts) {
            *n = n.checked_add(p.checked_mul(k)?)?;
        }
        Some(next)
    }

    fn add_spill(&mut self, c: Cost) {
        *self.spill.get_or_insert_with(Cost::default) += c;
    }

    /// The sum, exact (to 28 significant digits, as decimals are, past $79 228).
    pub(crate) fn cost(&self) -> Cost {
        let d = |x: i128| fixed_to_decimal(x, FIXED_SCALE);
        let p = &self.fixed;
        let c = Cost {
            input: d(p[0]),
            cached_input: d(p[1]),
            cache_write: d(p[2]),
            output: d(p[3]),
            reasoning: d(p[4]),
            total: d(p[5]),
            without_cache: d(p[6]),
        };
        match self.spill {
            Some(s) => c + s,
            None => c,
        }
    }

    /// `⌊total × 10⁹⌋` clamped to `0..=u64::MAX`: the cost counter's value.
    pub(crate) fn total_nanos(&self) -> u64 {
        match self.spill {
            None => {
                let n = self.fixed[5].div_euclid(POW10[(FIXED_SCALE - 9) as usize]);
                u64::try_from(n.max(0)).unwrap_or(u64::MAX)
            }
            Some(_) => floor_nanos(self.cost().total),
        }
    }

    /// Net cache savings as `f64`, for a gauge (display only).
    pub(crate) fn savings_f64(&self) -> f64 {
        let fixed = (self.fixed[6] - self.fixed[5]) as f64 / 1e24;
        match self.spill {
            None => fixed,
            Some(s) => fixed + s.cache_savings_usd(),
        }
    }
}

/// `x` × 10^−`scale` as a decimal: exact when it fits in 96 bits after dropping trailing
/// zeros, else rounded to 28 significant digits by decimal addition.
fn fixed_to_decimal(x: i128, scale: u32) -> Decimal {
    if let Ok(d) = Decimal::try_from_i128_with_scale(x, scale) {
        return d;
    }
    let unit = POW10[scale as usize];
    let saturated = if x < 0 { Decimal::MIN } else { Decimal::MAX };
    let whole = Decimal::try_from_i128_with_scale(x / unit, 0).unwrap_or(saturated);
    // |x % unit| < 10²⁴ < 2⁹⁶: always fits.
    let frac = Decimal::try_from_i128_with_scale(x % unit, scale).unwrap_or_default();
    whole.checked_add(frac).unwrap_or(saturated)
}

/// `⌊usd × 10⁹⌋`, clamped to `0..=u64::MAX`. From the decimal's mantissa and scale (one
/// integer division), which costs a third of `(d × 1e9).floor()`.
pub(crate) fn floor_nanos(usd: Decimal) -> u64 {
    let (m, scale) = (usd.mantissa(), usd.scale());
    let n = if scale >= 9 {
        m.div_euclid(10i128.pow(scale - 9))
    } else {
        m.saturating_mul(10i128.pow(9 - scale))
    };
    u64::try_from(n.max(0)).unwrap_or(u64::MAX)
}

impl Add for Cost {
    type Output = Cost;
    fn add(mut self, o: Cost) -> Cost {
        self += o;
        self
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.input += o.input;
        self.cached_input += o.cached_input;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.reasoning += o.reasoning;
        self.total += o.total;
        self.without_cache += o.without_cache;
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
    fn parts_sum_to_total_and_reasoning_is_billed_once() {
        let rates = ResolvedRates {
            input: d("0.000002"),
            output: d("0.000008"),
            cache_read: d("0.0000005"),
            cache_write_5m: d("0.000002"),
            cache_write_1h: d("0.000002"),
            reasoning: d("0.000008"),
        };
        let u = TokenUsage {
            input: 1000,
            output: 500,
            cache_read: 200,
            cache_write: 0,
            cache_write_1h: 0,
            reasoning: 400,
        };
        let c = Cost::compute(&rates, &u);
        // output 100 × 8e-6 = 0.0008, reasoning 400 × 8e-6 = 0.0032
        assert_eq!(c.output, d("0.0008"));
        assert_eq!(c.reasoning, d("0.0032"));
        // input 800 × 2e-6 = 0.0016, cached 200 × 5e-7 = 0.0001
        assert_eq!(
            c.total,
            d("0.0016") + d("0.0001") + d("0.0008") + d("0.0032")
        );
        assert_eq!(c.cache_savings(), d("0.0003"));
    }

    #[test]
    fn fixed_and_decimal_paths_agree() {
        let rates = ResolvedRates {
            input: d("0.000000050000000000000004"),
            output: d("0.00000000875"),
            cache_read: d("0.00000034375"),
            cache_write_5m: d("0.00000375"),
            cache_write_1h: d("0.000006"),
            reasoning: d("0.0000000275"),
        };
        let u = TokenUsage {
            input: 1_000_000,
            output: 7_777,
            cache_read: 300_001,
            cache_write: 4_000,
            cache_write_1h: 1_234,
            reasoning: 999,
        };
        let fast = Cost::compute_fixed(&rates, &u).unwrap();
        assert_eq!(fast, Cost::compute_decimal(&rates, &u));
        assert_eq!(
            fast.input,
            d("0.000000050000000000000004") * Decimal::from(695_999u32)
        );
        // A rate finer than 10⁻²⁴ or a huge count takes the decimal path, same answer.
        let fine = ResolvedRates {
            input: d("0.0000000000000000000000001"),
            ..rates
        };
        assert!(Cost::compute_fixed(&fine, &u).is_none());
        assert_eq!(Cost::compute(&fine, &u), Cost::compute_decimal(&fine, &u));
        let big = TokenUsage::new(u64::MAX / 2, 0);
        assert!(Cost::compute_fixed(&rates, &big).is_none());
        assert_eq!(
            Cost::compute(&rates, &big),
            Cost::compute_decimal(&rates, &big)
        );
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
