//! The JSON parsers never panic: arbitrary JSON values and arbitrary text go through every
//! usage parser and both price-file loaders; well-formed decimals parse to exactly their value.

use perf_llm::pricing::parse_exact_decimal;
use perf_llm::{Decimal, LlmResponse, PriceTable, TokenUsage};
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_0-9 .-]{0,12}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("usage".to_string()),
        Just("prompt_tokens".to_string()),
        Just("completion_tokens".to_string()),
        Just("input_tokens".to_string()),
        Just("output_tokens".to_string()),
        Just("cache_read_input_tokens".to_string()),
        Just("cache_creation_input_tokens".to_string()),
        Just("cache_creation".to_string()),
        Just("ephemeral_1h_input_tokens".to_string()),
        Just("prompt_tokens_details".to_string()),
        Just("cached_tokens".to_string()),
        Just("completion_tokens_details".to_string()),
        Just("reasoning_tokens".to_string()),
        Just("input_tokens_details".to_string()),
        Just("message".to_string()),
        Just("response".to_string()),
        Just("model".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn count() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..1_000_000).prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
        Just(json!(1e300)),
        Just(Value::Null),
        Just(json!("12")),
    ]
}

fn check_usage(r: Result<TokenUsage, perf_llm::UsageError>) {
    if let Ok(u) = r {
        // Whatever parsed is consistent: parts within wholes, nothing negative.
        assert!(u.cache_read + u.cache_write <= u.input);
        assert!(u.cache_write_1h <= u.cache_write);
        assert!(u.reasoning <= u.output);
        assert!(u.input.checked_add(u.output).is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn usage_parsers_never_panic(v in json_value()) {
        check_usage(TokenUsage::from_openai_chat(&v));
        check_usage(TokenUsage::from_openai_responses(&v));
        check_usage(TokenUsage::from_anthropic(&v));
        check_usage(v.usage());
        let _ = v.model();
        let _ = v.provider();
        let mut acc = perf_llm::providers::anthropic::AnthropicStreamUsage::default();
        let _ = acc.update(&v);
        if let Some(r) = acc.usage() { check_usage(r) }
    }

    #[test]
    fn usage_shaped_values_with_bad_counts(
        a in count(), b in count(), c in count(), d in count(), e in count()
    ) {
        let openai = json!({"usage": {"prompt_tokens": a, "completion_tokens": b,
            "prompt_tokens_details": {"cached_tokens": c},
            "completion_tokens_details": {"reasoning_tokens": d}}});
        check_usage(TokenUsage::from_openai_chat(&openai));
        let anthropic = json!({"usage": {"input_tokens": a, "output_tokens": b,
            "cache_read_input_tokens": c, "cache_creation_input_tokens": d,
            "cache_creation": {"ephemeral_1h_input_tokens": e}}});
        let r = TokenUsage::from_anthropic(&anthropic);
        check_usage(r.clone());
        // A count that is not a u64 can never parse.
        if [&a, &b, &c, &d, &e].iter().any(|v| !v.is_null() && v.as_u64().is_none()) {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn litellm_loader_never_panics_on_json(v in json_value()) {
        let text = v.to_string();
        let _ = PriceTable::from_litellm_json(&text);
        let _ = PriceTable::from_json(&text);
        let wrapped = json!({"m": v}).to_string();
        if let Ok(t) = PriceTable::from_litellm_json(&wrapped) {
            let _ = t.cost("m", &TokenUsage::new(1_000, 1_000));
        }
    }

    #[test]
    fn loaders_never_panic_on_text(s in "\\PC{0,200}") {
        let _ = PriceTable::from_litellm_json(&s);
        let _ = PriceTable::from_json(&s);
        let _ = parse_exact_decimal(&s);
    }

    #[test]
    fn price_fields_with_any_number_text(
        m in 0u64..=u64::MAX, frac in 0u32..30, exp in -40i32..10, neg in any::<bool>()
    ) {
        let digits = m.to_string();
        let split = (frac as usize).min(digits.len());
        let (int, f) = digits.split_at(digits.len() - split);
        let int = if int.is_empty() { "0" } else { int };
        let text = format!("{}{int}{}{f}e{exp}", if neg { "-" } else { "" }, if f.is_empty() { "" } else { "." });
        let json = format!(r#"{{"m": {{"input_cost_per_token": {text}, "output_cost_per_token": 0}}}}"#);
        let _ = PriceTable::from_litellm_json(&json);
        if let Ok(d) = parse_exact_decimal(&text) {
            // The value is exactly m × 10^(exp − split), sign included.
            let scale = split as i32 - exp;
            let expect = if scale >= 0 {
                Decimal::try_from_i128_with_scale(m as i128, scale as u32).ok()
            } else {
                Decimal::from(m).checked_mul(Decimal::from(10u64.pow((-scale) as u32)))
            };
            if let Some(expect) = expect {
                let expect = if neg { -expect } else { expect };
                prop_assert_eq!(d, expect.normalize());
            }
        }
    }
}
