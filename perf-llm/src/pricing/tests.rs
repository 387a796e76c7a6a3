//! Lookups of the built-in table and the prepared price against the table's rates.

use super::table::{strip_date, PreparedPrice};
use super::{parse_exact_decimal, ModelPrice, PriceTable, Rates};
use crate::cost::Cost;
use crate::error::PriceError;
use crate::usage::TokenUsage;

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
fn a_bill_past_the_decimal_range_is_an_error_not_a_panic() {
    let mut t = PriceTable::new();
    // `insert` and `ModelPrice::new` skip the loaders' $1-per-token cap.
    t.insert(
        "m",
        ModelPrice::new(rust_decimal::Decimal::MAX, rust_decimal::Decimal::MAX),
    );
    let e = t.cost("m", &TokenUsage::new(2, 2)).unwrap_err();
    assert_eq!(e, PriceError::CostOverflow { model: "m".into() });
    assert!(e.to_string().contains("per token"), "{e}");
}
