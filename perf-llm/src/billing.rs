//! How a bill is computed, exactly: in `i128` fixed point at the rates' common scale (several
//! times faster than decimals), with decimal arithmetic for what does not fit; and the running
//! sum of bills that the meter keeps per series.

use rust_decimal::Decimal;

use crate::cost::{saturating_add, Cost, ResolvedRates};
use crate::usage::TokenUsage;

impl Cost {
    /// Bills `usage` at `rates`. Never panics: an amount past the decimal range (about
    /// 7.9 × 10²⁸ USD, reachable only with a price far above the loaders' $1-per-token cap)
    /// saturates at `Decimal::MAX` (or `Decimal::MIN` for a negative rate), and so does every
    /// sum that includes it. Use [`checked_compute`](Self::checked_compute) to refuse instead.
    ///
    /// ```
    /// use perf_llm::{pricing::ResolvedRates, Cost, Decimal, TokenUsage};
    /// let rates = ResolvedRates { input: Decimal::new(25, 7), ..ResolvedRates::default() };
    /// assert_eq!(Cost::compute(&rates, &TokenUsage::new(1000, 0)).total, Decimal::new(25, 4));
    /// let absurd = ResolvedRates { input: Decimal::MAX, ..rates };
    /// assert_eq!(Cost::compute(&absurd, &TokenUsage::new(2, 0)).total, Decimal::MAX);
    /// ```
    pub fn compute(rates: &ResolvedRates, usage: &TokenUsage) -> Cost {
        Self::compute_fixed(rates, usage).unwrap_or_else(|| Self::compute_decimal(rates, usage))
    }

    /// Bills `usage` at `rates`, or `None` if an amount does not fit in a decimal (about
    /// 7.9 × 10²⁸ USD). [`PriceTable::cost`](crate::PriceTable::cost) turns `None` into
    /// [`PriceError::CostOverflow`](crate::PriceError::CostOverflow).
    ///
    /// ```
    /// use perf_llm::{pricing::ResolvedRates, Cost, Decimal, TokenUsage};
    /// let absurd = ResolvedRates { input: Decimal::MAX, ..ResolvedRates::default() };
    /// assert_eq!(Cost::checked_compute(&absurd, &TokenUsage::new(2, 0)), None);
    /// ```
    pub fn checked_compute(rates: &ResolvedRates, usage: &TokenUsage) -> Option<Cost> {
        Self::compute_fixed(rates, usage).or_else(|| Self::decimal_with(rates, usage, &CHECKED))
    }

    /// The same bill in `i128` fixed point at the rates' common scale (at most 10⁻²⁴ USD):
    /// exact, and several times faster than decimal multiplication. `None` when a rate is
    /// finer than 10⁻²⁴ or an amount would not fit; `compute_decimal` then does it.
    fn compute_fixed(rates: &ResolvedRates, usage: &TokenUsage) -> Option<Cost> {
        FixedRates::new(rates)?.bill(usage)?.to_cost()
    }

    /// The bill in decimal arithmetic (any rate, any size), saturating as [`Cost::compute`]
    /// documents.
    pub(crate) fn compute_decimal(rates: &ResolvedRates, usage: &TokenUsage) -> Cost {
        Self::decimal_with(rates, usage, &SATURATING).unwrap_or_default()
    }

    /// The decimal bill with `ops`' multiplication and addition; `None` when one refuses.
    fn decimal_with(rates: &ResolvedRates, usage: &TokenUsage, ops: &Ops) -> Option<Cost> {
        let (mul, add) = (ops.mul, ops.add);
        let n = Decimal::from;
        let input = mul(n(usage.uncached_input()), rates.input)?;
        let cached_input = mul(n(usage.cache_read), rates.cache_read)?;
        let cache_write = add(
            mul(n(usage.cache_write_5m()), rates.cache_write_5m)?,
            mul(n(usage.cache_write_1h), rates.cache_write_1h)?,
        )?;
        let reasoning = mul(n(usage.reasoning), rates.reasoning)?;
        let output = mul(
            n(usage.output.saturating_sub(usage.reasoning)),
            rates.output,
        )?;
        let out_total = add(output, reasoning)?;
        // Not normalised here: it costs more than the arithmetic, and the recording path
        // does not print. `PriceTable::cost` returns `normalized()` amounts.
        Some(Cost {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
            total: add(add(add(input, cached_input)?, cache_write)?, out_total)?,
            without_cache: add(mul(n(usage.input), rates.input)?, out_total)?,
        })
    }
}

/// Decimal multiplication and addition, checked or saturating: one bill formula for both.
struct Ops {
    mul: fn(Decimal, Decimal) -> Option<Decimal>,
    add: fn(Decimal, Decimal) -> Option<Decimal>,
}

const CHECKED: Ops = Ops {
    mul: Decimal::checked_mul,
    add: Decimal::checked_add,
};

const SATURATING: Ops = Ops {
    mul: |a, b| Some(a.saturating_mul(b)),
    add: |a, b| Some(a.saturating_add(b)),
};

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
    /// input, output, cache read, 5-minute write, 1-hour write, reasoning.
    rates: [i128; 6],
    /// Every rate is in `0..=u64::MAX`, so `u64 × u64 → u128` products cannot overflow
    /// (one machine multiplication instead of an overflow-checked `i128` one).
    narrow: bool,
}

impl FixedRates {
    /// `None` when a rate is finer than 10⁻²⁴ USD (the decimal path bills those).
    pub(crate) fn new(rates: &ResolvedRates) -> Option<FixedRates> {
        let all = [
            rates.input,
            rates.output,
            rates.cache_read,
            rates.cache_write_5m,
            rates.cache_write_1h,
            rates.reasoning,
        ];
        let scale = all.iter().map(Decimal::scale).max().unwrap_or(0);
        if scale > FIXED_SCALE {
            return None;
        }
        let mut fixed_rates = [0i128; 6];
        for (f, d) in fixed_rates.iter_mut().zip(all) {
            *f = fixed(d, scale)?;
        }
        Some(FixedRates {
            scale,
            rates: fixed_rates,
            narrow: fixed_rates.iter().all(|r| u64::try_from(*r).is_ok()),
        })
    }

    /// The bill of `usage`; `None` if an amount does not fit in an `i128`.
    #[inline]
    pub(crate) fn bill(&self, usage: &TokenUsage) -> Option<FixedCost> {
        let [r_in, r_out, r_read, r_5m, r_1h, r_reason] = self.rates;
        let tokens = [
            usage.uncached_input(),
            usage.cache_read,
            usage.cache_write_5m(),
            usage.cache_write_1h,
            usage.output.saturating_sub(usage.reasoning),
            usage.reasoning,
            usage.input,
        ];
        let parts = if self.narrow {
            // Non-negative parts each at most the total (or the uncached total), so checking
            // those two against i128 covers every part.
            let m = |t: u64, r: i128| u128::from(t) * r as u128;
            let input = m(tokens[0], r_in);
            let cached_input = m(tokens[1], r_read);
            let cache_write = m(tokens[2], r_5m).checked_add(m(tokens[3], r_1h))?;
            let output = m(tokens[4], r_out);
            let reasoning = m(tokens[5], r_reason);
            let out_total = output.checked_add(reasoning)?;
            let total = input
                .checked_add(cached_input)?
                .checked_add(cache_write)?
                .checked_add(out_total)?;
            let without_cache = m(tokens[6], r_in).checked_add(out_total)?;
            let total = i128::try_from(total).ok()?;
            let without_cache = i128::try_from(without_cache).ok()?;
            [
                input as i128,
                cached_input as i128,
                cache_write as i128,
                output as i128,
                reasoning as i128,
                total,
                without_cache,
            ]
        } else {
            let m = |t: u64, r: i128| i128::from(t).checked_mul(r);
            let input = m(tokens[0], r_in)?;
            let cached_input = m(tokens[1], r_read)?;
            let cache_write = m(tokens[2], r_5m)?.checked_add(m(tokens[3], r_1h)?)?;
            let output = m(tokens[4], r_out)?;
            let reasoning = m(tokens[5], r_reason)?;
            let out_total = output.checked_add(reasoning)?;
            let total = input
                .checked_add(cached_input)?
                .checked_add(cache_write)?
                .checked_add(out_total)?;
            let without_cache = m(tokens[6], r_in)?.checked_add(out_total)?;
            [
                input,
                cached_input,
                cache_write,
                output,
                reasoning,
                total,
                without_cache,
            ]
        };
        Some(FixedCost {
            scale: self.scale,
            parts,
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
    #[inline]
    pub(crate) fn to_cost(self) -> Option<Cost> {
        const LIMIT: i128 = 1 << 96;
        let p = &self.parts;
        let mut d = [Decimal::ZERO; 7];
        for (d, x) in d.iter_mut().zip(p) {
            *d = if (0..LIMIT).contains(x) {
                // In range and non-negative: the decimal's words are the integer's.
                let x = *x as u128;
                Decimal::from_parts(
                    x as u32,
                    (x >> 32) as u32,
                    (x >> 64) as u32,
                    false,
                    self.scale,
                )
            } else {
                Decimal::try_from_i128_with_scale(*x, self.scale).ok()?
            };
        }
        Some(Cost {
            input: d[0],
            cached_input: d[1],
            cache_write: d[2],
            output: d[3],
            reasoning: d[4],
            total: d[5],
            without_cache: d[6],
        })
    }
}

/// A running sum of bills, exact: `i128` units of 10^−`scale` USD, `scale` being the finest
/// of the bills added so far (so the bills of one model, all at one scale, add as seven
/// integers). A bill that does not fit (a rate finer than 10⁻²⁴, or the sum would overflow)
/// is added to `spill` as decimals instead.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CostSum {
    scale: u32,
    fixed: [i128; 7],
    spill: Option<Cost>,
}

impl CostSum {
    /// Adds a fixed-point bill.
    #[inline]
    pub(crate) fn add_fixed(&mut self, c: &FixedCost) {
        if !self.try_add(c.scale, &c.parts) {
            // A part needs more than 96 bits: add it through decimal arithmetic, which
            // rounds only past 28 significant digits, as summing `Cost`s would.
            self.add_spill(parts_to_cost(&c.parts, c.scale));
        }
    }

    /// Adds a bill given as decimals.
    pub(crate) fn add(&mut self, c: &Cost) {
        let all = [
            c.input,
            c.cached_input,
            c.cache_write,
            c.output,
            c.reasoning,
            c.total,
            c.without_cache,
        ];
        let scale = all.iter().map(Decimal::scale).max().unwrap_or(0);
        let mut parts = [0i128; 7];
        let converted = parts
            .iter_mut()
            .zip(all)
            .all(|(p, d)| fixed(d, scale).map(|x| *p = x).is_some());
        if !(converted && self.try_add(scale, &parts)) {
            self.add_spill(*c);
        }
    }

    /// Adds `parts` (units of 10^−`scale`) if the sum fits, rescaling to the finer scale.
    #[inline]
    fn try_add(&mut self, scale: u32, parts: &[i128; 7]) -> bool {
        let rescale = |v: &[i128; 7], by: u32| -> Option<[i128; 7]> {
            let k = *POW10.get(by as usize)?;
            let mut out = [0i128; 7];
            for (o, x) in out.iter_mut().zip(v) {
                *o = x.checked_mul(k)?;
            }
            Some(out)
        };
        if scale == self.scale {
            // The common case (every bill of a model has its rates' scale): no rescaling.
            let mut next = self.fixed;
            let mut ok = true;
            for (n, a) in next.iter_mut().zip(parts) {
                let (v, overflow) = n.overflowing_add(*a);
                *n = v;
                ok &= !overflow;
            }
            if ok {
                self.fixed = next;
            }
            return ok;
        }
        let (base, add, to_scale) = if scale > self.scale {
            match rescale(&self.fixed, scale - self.scale) {
                Some(b) => (b, *parts, scale),
                None => return false,
            }
        } else {
            match rescale(parts, self.scale - scale) {
                Some(a) => (self.fixed, a, self.scale),
                None => return false,
            }
        };
        let mut next = base;
        for (n, a) in next.iter_mut().zip(add) {
            match n.checked_add(a) {
                Some(v) => *n = v,
                None => return false,
            }
        }
        self.fixed = next;
        self.scale = to_scale;
        true
    }

    fn add_spill(&mut self, c: Cost) {
        saturating_add(self.spill.get_or_insert_with(Cost::default), &c);
    }

    /// The sum, exact (to 28 significant digits, as decimals are, past 2⁹⁶ units).
    pub(crate) fn cost(&self) -> Cost {
        let mut c = parts_to_cost(&self.fixed, self.scale);
        if let Some(s) = &self.spill {
            saturating_add(&mut c, s);
        }
        c
    }

    /// `⌊total × 10⁹⌋` clamped to `0..=u64::MAX`: what the cost counter has been sent.
    pub(crate) fn total_nanos(&self) -> u64 {
        self.nanos(5, |c| c.total)
    }

    /// `⌊without_cache × 10⁹⌋` clamped to `0..=u64::MAX`: what the cost-without-cache
    /// counter has been sent.
    pub(crate) fn without_cache_nanos(&self) -> u64 {
        self.nanos(6, |c| c.without_cache)
    }

    /// `⌊amount × 10⁹⌋` of fixed part `part` (with the spill's `amount`), clamped to
    /// `0..=u64::MAX`.
    #[inline]
    fn nanos(&self, part: usize, amount: fn(&Cost) -> Decimal) -> u64 {
        if self.spill.is_some() {
            return floor_nanos(amount(&self.cost()));
        }
        let total = self.fixed[part];
        let n = if self.scale <= 9 {
            let k = POW10[(9 - self.scale) as usize];
            // 64-bit arithmetic where it fits: `i128` multiplication is a library call.
            match (u64::try_from(total), u64::try_from(k)) {
                (Ok(t), Ok(k)) => t.checked_mul(k).map_or(i128::MAX, i128::from),
                _ => total.saturating_mul(k),
            }
        } else {
            let unit = POW10[(self.scale - 9) as usize];
            // A 64-bit division where it fits: a fraction of the cost of an i128 one.
            match (u64::try_from(total), u64::try_from(unit)) {
                (Ok(t), Ok(u)) => i128::from(t / u),
                _ => total.div_euclid(unit),
            }
        };
        u64::try_from(n.max(0)).unwrap_or(u64::MAX)
    }
}

/// The seven fixed-point parts (in `Cost`'s field order) as decimals, each saturating.
fn parts_to_cost(p: &[i128; 7], scale: u32) -> Cost {
    let d = |x: i128| fixed_to_decimal(x, scale);
    Cost {
        input: d(p[0]),
        cached_input: d(p[1]),
        cache_write: d(p[2]),
        output: d(p[3]),
        reasoning: d(p[4]),
        total: d(p[5]),
        without_cache: d(p[6]),
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

#[cfg(test)]
mod tests;
