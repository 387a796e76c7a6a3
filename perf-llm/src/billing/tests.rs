//! The fixed-point bill against the decimal one, and the running sum's exactness.

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
fn cost_sum_is_exact_across_scales_and_spills() {
    let rates = |input: &str, output: &str| ResolvedRates {
        input: d(input),
        output: d(output),
        cache_read: d(input),
        cache_write_5m: d(input),
        cache_write_1h: d(input),
        reasoning: d(output),
    };
    let coarse = rates("0.0000025", "0.00001");
    let fine = rates("0.000000050000000000000004", "0.00000000875");
    let finest = rates("0.0000000000000000000000001", "0.00001");
    let u = TokenUsage {
        input: 2019,
        output: 10,
        cache_read: 1920,
        ..TokenUsage::default()
    };
    let mut sum = CostSum::default();
    let mut expected = Cost::default();
    for r in [&coarse, &fine, &coarse, &finest, &fine] {
        let c = Cost::compute(r, &u);
        match FixedRates::new(r).and_then(|f| f.bill(&u)) {
            Some(f) => {
                assert_eq!(f.to_cost(), Some(c));
                sum.add_fixed(&f);
            }
            None => sum.add(&c),
        }
        expected += c;
    }
    assert!(
        sum.spill.is_some(),
        "the 10⁻²⁵ rate goes to the decimal spill"
    );
    assert_eq!(sum.cost(), expected);
    assert_eq!(sum.total_nanos(), floor_nanos(expected.total));
    assert_eq!(
        sum.without_cache_nanos(),
        floor_nanos(expected.without_cache)
    );
    // Overflowing the i128 sum spills instead of wrapping.
    let mut big = CostSum::default();
    let huge = FixedCost {
        scale: 0,
        parts: [i128::MAX / 2; 7],
    };
    big.add_fixed(&huge);
    big.add_fixed(&huge);
    big.add_fixed(&huge);
    assert!(big.spill.is_some());
    assert_eq!(big.total_nanos(), u64::MAX);
}

#[test]
fn narrow_and_wide_fixed_paths_agree() {
    let r = ResolvedRates {
        input: d("0.0000025"),
        output: d("-0.00001"),
        ..ResolvedRates::default()
    };
    let wide = FixedRates::new(&r).unwrap();
    assert!(!wide.narrow, "a negative rate takes the checked i128 path");
    let narrow = FixedRates {
        rates: [wide.rates[0], 7, 3, 5, 11, 13],
        narrow: true,
        ..wide
    };
    let checked = FixedRates {
        narrow: false,
        ..narrow
    };
    let u = TokenUsage {
        input: 6100,
        output: 200,
        cache_read: 5000,
        cache_write: 1000,
        cache_write_1h: 400,
        reasoning: 50,
    };
    assert_eq!(narrow.bill(&u), checked.bill(&u));
    assert_eq!(
        wide.bill(&u).unwrap().to_cost(),
        Some(Cost::compute_decimal(&r, &u))
    );
    let huge = TokenUsage::new(u64::MAX, u64::MAX);
    assert_eq!(narrow.bill(&huge), checked.bill(&huge));
}

#[test]
fn floor_nanos_is_exact_floor() {
    assert_eq!(floor_nanos(d("0.000000035")), 35);
    assert_eq!(floor_nanos(d("0.0000000359999")), 35);
    assert_eq!(floor_nanos(d("0.00612500")), 6_125_000);
    assert_eq!(floor_nanos(d("12")), 12_000_000_000);
    assert_eq!(floor_nanos(d("-1")), 0);
    assert_eq!(floor_nanos(Decimal::MAX), u64::MAX);
}

/// Rates no loader accepts (above its $1-per-token cap) reach `Cost::compute` through
/// `ModelPrice::new` and `PriceTable::insert`; decimal `*` and `+` panicked on them.
#[test]
fn bills_past_the_decimal_range_saturate_and_checked_bills_refuse() {
    let huge = ResolvedRates {
        input: Decimal::MAX,
        output: Decimal::MAX,
        cache_read: Decimal::MAX,
        cache_write_5m: Decimal::MAX,
        cache_write_1h: Decimal::MAX,
        reasoning: Decimal::MAX,
    };
    let u = TokenUsage {
        input: 10,
        output: 3,
        cache_read: 2,
        cache_write: 2,
        cache_write_1h: 1,
        reasoning: 1,
    };
    assert_eq!(Cost::checked_compute(&huge, &u), None);
    let c = Cost::compute(&huge, &u);
    assert_eq!(c.total, Decimal::MAX);
    assert_eq!(c.without_cache, Decimal::MAX);
    assert_eq!(c.input, Decimal::MAX);
    assert_eq!(c.cache_savings(), Decimal::ZERO);
    // Negative rates (a hand-made price) saturate the other way, and savings stay defined.
    let neg = ResolvedRates {
        input: Decimal::MIN,
        ..ResolvedRates::default()
    };
    let c = Cost::compute(&neg, &u);
    assert_eq!(
        (c.input, c.total, c.without_cache),
        (Decimal::MIN, Decimal::MIN, Decimal::MIN)
    );
    let apart = Cost {
        without_cache: Decimal::MIN,
        total: Decimal::MAX,
        ..Cost::default()
    };
    assert_eq!(apart.cache_savings(), Decimal::MIN);
    // Sums saturate too, where `+` panicked.
    let mut sum = Cost::compute(&huge, &u);
    sum += Cost::compute(&huge, &u);
    assert_eq!(sum.total, Decimal::MAX);
    assert_eq!((sum + c).output, Decimal::MAX);
    // A bill that fits is the same either way.
    let small = ResolvedRates {
        input: d("0.000002"),
        ..ResolvedRates::default()
    };
    assert_eq!(
        Cost::checked_compute(&small, &u),
        Some(Cost::compute(&small, &u))
    );
}
