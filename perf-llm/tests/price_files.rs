//! Loading price files: the LiteLLM list's quirks load, bad files give errors that name the
//! model and field.

use perf_llm::pricing::{LoadMode, SkipReason};
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

/// The strict loader's error; the lenient one skips the entry (`lenient_load_skips_…`).
fn invalid(json: &str) -> (String, String, String) {
    match PriceTable::load_litellm_json(json, LoadMode::Strict) {
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
    let e = PriceTable::load_litellm_json(
        r#"{"gpt-x": {"input_cost_per_token": 1e-6, "currency": "EUR"}}"#,
        LoadMode::Strict,
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
    let e = PriceTable::load_json(
        r#"{"models": {"m": {"input": 1, "output": 2, "currency": "GBP"}}}"#,
        LoadMode::Strict,
    )
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
        match PriceTable::load_json(bad, LoadMode::Strict) {
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

/// JSON parsers disagree on which of two equal keys wins; serde kept the later silently.
#[test]
fn duplicate_keys_are_refused_naming_the_key() {
    let dup = |model: &str, key: &str| PriceError::DuplicateKey {
        model: model.into(),
        key: key.into(),
    };
    let strict = |json: &str| PriceTable::load_litellm_json(json, LoadMode::Strict).unwrap_err();
    let own = |json: &str| PriceTable::load_json(json, LoadMode::Strict).unwrap_err();
    let twice = r#"{"gpt-x": {"input_cost_per_token": 1e-6}, "gpt-y": {"input_cost_per_token": 1e-6},
        "gpt-x": {"input_cost_per_token": 2e-6}}"#;
    let e = strict(twice);
    assert_eq!(e, dup("*", "gpt-x"));
    assert!(e.to_string().contains("`gpt-x` appears twice"), "{e}");
    // Lenient: neither occurrence is loaded, each is listed.
    let (t, report) = PriceTable::load_litellm_json(twice, LoadMode::Lenient).unwrap();
    assert_eq!((t.len(), report.loaded), (1, 1));
    assert!(t.get("gpt-x").is_none());
    let skipped = SkipReason::Invalid(dup("*", "gpt-x"));
    assert_eq!(
        report.skipped,
        [("gpt-x".into(), skipped.clone()), ("gpt-x".into(), skipped)]
    );
    assert_eq!(
        strict(r#"{"gpt-x": {"input_cost_per_token": 1e-6, "input_cost_per_token": 2e-6}}"#),
        dup("gpt-x", "input_cost_per_token")
    );
    assert_eq!(
        own(r#"{"models": {"m": {"input": 1, "output": 2}, "m": {"input": 3, "output": 4}}}"#),
        dup("*", "m")
    );
    assert_eq!(
        own(r#"{"models": {"m": {"input": 1, "output": 2, "input": 3}}}"#),
        dup("m", "input")
    );
    assert_eq!(
        own(
            r#"{"models": {"m": {"input": 1, "tiers": [{"above_input_tokens": 5, "input": 2, "input": 3}]}}}"#
        ),
        dup("m", "tiers.input")
    );
    // The file's own fields: serde refuses a repeated `taken` itself.
    assert!(matches!(
        PriceTable::from_json(r#"{"taken": "a", "taken": "b", "models": {}}"#),
        Err(PriceError::Json(_))
    ));
}

#[test]
fn lenient_load_skips_bad_entries_and_strict_refuses_them() {
    let json = r#"{
        "sample_spec": {"input_cost_per_token": "prose"},
        "gpt-good": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
        "gpt-neg": {"input_cost_per_token": -1e-6},
        "gpt-eur": {"input_cost_per_token": 1e-6, "currency": "EUR"},
        "gpt-list": [1, 2],
        "dall-e-3": {"output_cost_per_image": 0.04}
    }"#;
    let (t, report) = PriceTable::load_litellm_json(json, LoadMode::Lenient).unwrap();
    assert_eq!((t.len(), report.loaded), (1, 1));
    let reasons: Vec<(&str, String)> = report
        .skipped
        .iter()
        .map(|(k, r)| {
            let why = match r {
                SkipReason::Invalid(PriceError::InvalidPrice { field, .. }) => field.clone(),
                SkipReason::Invalid(e) => format!("{e}"),
                other => format!("{other:?}"),
            };
            (k.as_str(), why)
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("sample_spec", "SampleSpec".to_string()),
            ("gpt-neg", "input_cost_per_token".to_string()),
            (
                "gpt-eur",
                PriceError::UnknownCurrency {
                    model: "gpt-eur".into(),
                    currency: "EUR".into()
                }
                .to_string()
            ),
            ("gpt-list", "(entry)".to_string()),
            ("dall-e-3", "NotPerToken".to_string()),
        ]
    );
    assert_eq!(report.invalid().count(), 3);
    // The plain loader is the lenient one.
    assert_eq!(PriceTable::from_litellm_json(json).unwrap().len(), 1);
    // Strict: the first bad entry in file order (sample_spec and dall-e-3 are not errors).
    let e = PriceTable::load_litellm_json(json, LoadMode::Strict).unwrap_err();
    assert!(
        matches!(&e, PriceError::InvalidPrice { model, .. } if model == "gpt-neg"),
        "{e}"
    );

    // No valid entry at all is still an error, naming the first.
    let none = r#"{"a": {"input_cost_per_token": "x"}, "b": {"input_cost_per_token": -1}}"#;
    let e = PriceTable::from_litellm_json(none).unwrap_err();
    let PriceError::NoValidEntry { invalid, first } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*invalid, 2);
    assert!(matches!(&**first, PriceError::InvalidPrice { model, .. } if model == "a"));
    assert!(e.to_string().contains("2 malformed entries"), "{e}");
    // Nothing malformed and nothing to bill is an empty table, as before.
    let t = PriceTable::from_litellm_json(r#"{"dall-e-3": {"output_cost_per_image": 0.04}}"#);
    assert_eq!(t.unwrap().len(), 0);

    // perf-llm's own format, the same way; the file's own fields fail in both modes.
    let own = r#"{"models": {"m": {"input": 1, "output": 2}, "n": {"input": "x"}}}"#;
    let (t, report) = PriceTable::load_json(own, LoadMode::Lenient).unwrap();
    assert_eq!(
        (t.len(), report.skipped.len(), report.skipped[0].0.as_str()),
        (1, 1, "n")
    );
    assert!(PriceTable::load_json(own, LoadMode::Strict).is_err());
    assert!(matches!(
        PriceTable::from_json(r#"{"models": {"n": {"input": "x"}}}"#),
        Err(PriceError::NoValidEntry { invalid: 1, .. })
    ));
    assert!(matches!(
        PriceTable::load_json(r#"[null, null, {}]"#, LoadMode::Lenient),
        Err(PriceError::Json(_))
    ));
}

/// LiteLLM's whole list, vendored (fixtures/litellm/README.md says from where and when).
const LITELLM_LIST: &str = include_str!("fixtures/litellm/model_prices_and_context_window.json");

/// The list has 4,878 top-level entries: `sample_spec`, 932 priced per image, second,
/// character or not at all (no per-token input or output price), and 3,945 priced per token.
/// None is malformed. Every entry is accounted for: `loaded + skipped` is all 4,878.
#[test]
fn the_whole_litellm_list_loads() {
    let (t, report) = PriceTable::load_litellm_json(LITELLM_LIST, LoadMode::Strict).unwrap();
    assert_eq!((t.len(), report.loaded), (3945, 3945));
    assert_eq!(report.loaded + report.skipped.len(), 4878);
    assert_eq!(report.invalid().count(), 0);
    let count = |reason: SkipReason| report.skipped.iter().filter(|(_, r)| *r == reason).count();
    assert_eq!(count(SkipReason::SampleSpec), 1);
    assert_eq!(count(SkipReason::NotPerToken), 932);
    assert!(report
        .skipped
        .contains(&("sample_spec".into(), SkipReason::SampleSpec)));
    // Priced per audio second only.
    let realtime = "azure/gpt-realtime-translate-2026-05-06";
    assert!(report
        .skipped
        .contains(&(realtime.into(), SkipReason::NotPerToken)));
    // Lenient reads the same table.
    assert_eq!(
        PriceTable::from_litellm_json(LITELLM_LIST).unwrap().len(),
        3945
    );

    // By hand from the file: gpt-4o input 2.5e-06, output 1e-05, cached input 1.25e-06.
    let d = |s: &str| s.parse::<perf_llm::Decimal>().unwrap();
    let gpt4o = t.get("gpt-4o").unwrap();
    assert_eq!(gpt4o.base.input, Some(d("0.0000025")));
    assert_eq!(gpt4o.base.output, Some(d("0.00001")));
    assert_eq!(gpt4o.base.cache_read, Some(d("0.00000125")));
    assert_eq!(gpt4o.provider.as_deref(), Some("openai"));
    let c = t
        .cost("gpt-4o", &TokenUsage::new(1_000_000, 1_000_000))
        .unwrap();
    assert_eq!(c.total, d("12.5"));
    // gemini/gemini-2.5-pro, found by its bare name: $1.25 / $10 per million, and above
    // 200k input tokens $2.50 / $15 for the whole call.
    let c = t
        .cost("gemini-2.5-pro", &TokenUsage::new(100_000, 1_000))
        .unwrap();
    assert_eq!(c.total, d("0.135")); // 100k × 1.25e-6 + 1k × 1e-5
    let c = t
        .cost("gemini-2.5-pro", &TokenUsage::new(250_000, 1_000))
        .unwrap();
    assert_eq!(c.total, d("0.64")); // 250k × 2.5e-6 + 1k × 1.5e-5
}

/// One bad entry in the real list: the lenient loader skips it and loads the other 3,945,
/// the strict one refuses the file naming it.
#[test]
fn one_bad_entry_in_the_real_list_is_skipped_not_fatal() {
    let body = LITELLM_LIST.trim_start().strip_prefix('{').unwrap();
    let json = format!(r#"{{"broken-model": {{"input_cost_per_token": "cheap"}},{body}"#);
    let (t, report) = PriceTable::load_litellm_json(&json, LoadMode::Lenient).unwrap();
    assert_eq!(t.len(), 3945);
    assert_eq!(report.loaded + report.skipped.len(), 4879);
    let invalid: Vec<(&str, &PriceError)> = report.invalid().collect();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].0, "broken-model");
    assert!(
        invalid[0].1.to_string().contains("input_cost_per_token"),
        "{}",
        invalid[0].1
    );
    let e = PriceTable::load_litellm_json(&json, LoadMode::Strict).unwrap_err();
    assert!(
        matches!(&e, PriceError::InvalidPrice { model, field, .. }
            if model == "broken-model" && field == "input_cost_per_token"),
        "{e:?}"
    );
}
