//! Loading price files: the LiteLLM list's quirks load, bad files give errors that name the
//! model and field.

use perf_llm::{PriceError, PriceTable, TokenUsage};

const SAMPLE: &str = include_str!("fixtures/model_prices_sample.json");

#[test]
fn litellm_sample_with_quirks_loads() {
    let t = PriceTable::from_litellm_json(SAMPLE).unwrap();
    // sample_spec (prose) and dall-e-3 (per pixel) are skipped; the rest load, including
    // entries whose other cost fields are objects or lists.
    assert_eq!(t.len(), 11);
    assert!(t.get("sample_spec").is_none());
    assert!(t.get("dall-e-3").is_none());
    let p = t.get("openai/gpt-4o-search-preview").unwrap();
    assert_eq!(p.provider.as_deref(), Some("openai"));
    let claude = t.get("claude-sonnet-4-20250514").unwrap();
    assert_eq!(claude.tiers.len(), 1);
    assert_eq!(claude.tiers[0].0, 200_000);
    assert_eq!(claude.base.cache_write_1h.unwrap().to_string(), "0.000006");
    // Prefixed names are found by their bare name too.
    assert!(t.get("gemini-2.5-flash-lite").is_some());
}

#[test]
fn unknown_model_names_the_nearest() {
    let t = PriceTable::from_litellm_json(SAMPLE).unwrap();
    let e = t.cost("gpt4o-mini", &TokenUsage::new(1, 1)).unwrap_err();
    let PriceError::UnknownModel { model, suggestions } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(model, "gpt4o-mini");
    assert_eq!(suggestions.first().map(String::as_str), Some("gpt-4o-mini"));
    assert_eq!(t.unknown_model_lookups(), 1);
}

fn invalid(json: &str) -> (String, String, String) {
    match PriceTable::from_litellm_json(json) {
        Err(PriceError::InvalidPrice {
            model,
            field,
            reason,
        }) => (model, field, reason),
        other => panic!("expected InvalidPrice, got {other:?}"),
    }
}

#[test]
fn malformed_prices_name_model_and_field() {
    let (m, f, r) = invalid(r#"{"gpt-x": {"input_cost_per_token": "cheap"}}"#);
    assert_eq!((m.as_str(), f.as_str()), ("gpt-x", "input_cost_per_token"));
    assert!(r.contains("cheap"), "{r}");
    let (_, f, r) =
        invalid(r#"{"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": -2e-6}}"#);
    assert_eq!(f, "output_cost_per_token");
    assert!(r.contains("negative"), "{r}");
    let (_, _, r) = invalid(r#"{"gpt-x": {"input_cost_per_token": 2.5}}"#);
    assert!(r.contains("per-million"), "{r}");
    let (_, f, _) = invalid(
        r#"{"gpt-x": {"input_cost_per_token": 1e-6, "cache_read_input_token_cost": {"a": 1}}}"#,
    );
    assert_eq!(f, "cache_read_input_token_cost");
    let (_, f, _) = invalid(r#"{"gpt-x": {"input_cost_per_token_above_200k_tokens": [1]}}"#);
    assert_eq!(f, "input_cost_per_token_above_200k_tokens");
    let (m, f, _) = invalid(r#"{"gpt-x": 5}"#);
    assert_eq!((m.as_str(), f.as_str()), ("gpt-x", "(entry)"));
    let (_, _, r) = invalid(r#"{"gpt-x": {"input_cost_per_token": 1e-40}}"#);
    assert!(r.contains("finer"), "{r}");
    assert!(matches!(
        PriceTable::from_litellm_json("{not json"),
        Err(PriceError::Json(_))
    ));
    assert!(matches!(
        PriceTable::from_litellm_json("[1, 2]"),
        Err(PriceError::Json(_))
    ));
}

#[test]
fn unknown_currency_is_refused() {
    let e = PriceTable::from_litellm_json(
        r#"{"gpt-x": {"input_cost_per_token": 1e-6, "currency": "EUR"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e,
        PriceError::UnknownCurrency {
            model: "gpt-x".into(),
            currency: "EUR".into()
        }
    );
    assert!(e.to_string().contains("convert"), "{e}");
    let e = PriceTable::from_json(r#"{"currency": "JPY", "models": {}}"#).unwrap_err();
    assert!(matches!(e, PriceError::UnknownCurrency { .. }));
    let e =
        PriceTable::from_json(r#"{"models": {"m": {"input": 1, "output": 2, "currency": "GBP"}}}"#)
            .unwrap_err();
    assert!(matches!(e, PriceError::UnknownCurrency { ref model, .. } if model == "m"));
    assert!(PriceTable::from_json(r#"{"currency": "usd", "models": {}}"#).is_ok());
}

#[test]
fn own_format_is_per_million_and_exact() {
    let t = PriceTable::from_json(
        r#"{"currency": "USD", "taken": "2025-07-01", "models": {
            "m": {"provider": "acme", "input": "0.075", "output": 0.3, "cache_read": "0.01875",
                  "tiers": [{"above_input_tokens": 1000, "input": "0.15"}]}}}"#,
    )
    .unwrap();
    let c = t.cost("m", &TokenUsage::new(1000, 1000)).unwrap();
    // 1000 × 0.075e-6 + 1000 × 0.3e-6 = 0.000375
    assert_eq!(c.total.normalize().to_string(), "0.000375");
    let c = t.cost("m", &TokenUsage::new(1001, 0)).unwrap();
    // 1001 × 0.15e-6 = 0.00015015
    assert_eq!(c.total.normalize().to_string(), "0.00015015");
    for (bad, field) in [
        (r#"{"models": {"m": {"inptu": 1}}}"#, "inptu"),
        (r#"{"models": {"m": {"input": "x"}}}"#, "input"),
        (
            r#"{"models": {"m": {"tiers": [{"input": 1}]}}}"#,
            "tiers.above_input_tokens",
        ),
        (r#"{"models": {"m": {"tiers": 3}}}"#, "tiers"),
    ] {
        match PriceTable::from_json(bad) {
            Err(PriceError::InvalidPrice {
                model, field: f, ..
            }) => {
                assert_eq!((model.as_str(), f.as_str()), ("m", field), "{bad}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(
        PriceTable::from_json(r#"{"modles": {}}"#),
        Err(PriceError::Json(_))
    ));
}
