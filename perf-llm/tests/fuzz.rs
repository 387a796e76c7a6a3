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

/// A seeded mutation fuzzer: valid inputs of every parser, mutated byte- and token-wise, plus
/// random text. Each input runs under `catch_unwind`; a panic fails the test naming the input.
/// `cargo test` builds in debug, so integer overflow panics here rather than wrapping.
mod mutation {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use perf_llm::pricing::{parse_exact_decimal, LoadMode};
    use perf_llm::providers::{anthropic, openai};
    use perf_llm::stream::{anthropic_usage, openai_chat_usage};
    use perf_llm::{LlmResponse, PriceTable, TokenUsage};
    use serde_json::Value;

    /// xorshift64*: deterministic, so a failure reproduces with the same seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    /// Pieces that reach the parsers' edges: number extremes, structure, repeated keys.
    const TOKENS: &[&str] = &[
        "1e-9223372036854775808",
        "1e9223372036854775807",
        "-0",
        "0.",
        ".5",
        "1e",
        "e5",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "1.5",
        "1e400",
        "79228162514264337593543950335",
        "0.0000000000000000000000000001",
        "null",
        "true",
        "\"x\"",
        "[1,2]",
        "[]",
        "{}",
        ",",
        ":",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "\\u0000",
        "é",
        "\"usage\":",
        "\"input_tokens\":",
        "\"output_tokens\":",
        "\"prompt_tokens\":",
        "\"input_cost_per_token\":",
        "\"input\":",
        "\"tiers\":",
        "\"above_input_tokens\":",
        "\"gpt-4o\":",
        "\"models\":",
        "\"currency\":\"EUR\"",
        "_above_200k_tokens",
        "_above_99999999999999999999k_tokens",
    ];

    fn mutate(rng: &mut Rng, seed: &str) -> String {
        let mut b = seed.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() + 1);
            match rng.below(6) {
                0 if !b.is_empty() => {
                    let i = at.min(b.len() - 1);
                    b[i] = rng.next() as u8;
                }
                1 => {
                    let end = (at + rng.below(8)).min(b.len());
                    b.drain(at..end);
                }
                2 | 3 => {
                    let t = rng.pick(TOKENS).as_bytes().to_vec();
                    b.splice(at..at, t);
                }
                4 => {
                    // Replace a number with an extreme one.
                    let end = (at..b.len())
                        .find(|&i| !b[i].is_ascii_digit())
                        .unwrap_or(b.len());
                    let t = rng.pick(&TOKENS[..13]).as_bytes().to_vec();
                    b.splice(at..end, t);
                }
                _ => {
                    let end = (at + rng.below(16)).min(b.len());
                    let copy = b[at..end].to_vec();
                    b.splice(at..at, copy);
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    fn random_text(rng: &mut Rng) -> String {
        (0..rng.below(24))
            .map(|_| rng.pick(TOKENS))
            .collect::<Vec<_>>()
            .join("")
    }

    /// Runs `f` on `n` inputs (mutated seeds, one in eight random), counting panics.
    fn feed(
        rng: &mut Rng,
        seeds: &[&str],
        n: usize,
        failures: &mut Vec<String>,
        mut f: impl FnMut(&str),
    ) {
        for i in 0..n {
            let input = if i % 8 == 7 {
                random_text(rng)
            } else {
                let seed = seeds[rng.below(seeds.len())];
                mutate(rng, seed)
            };
            if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
                failures.push(input);
            }
        }
    }

    const DECIMALS: &[&str] = &[
        "5.0000000000000004e-08",
        "3.4375e-07",
        "0.0000025",
        "1E+2",
        "1.000e-28",
        "12",
        "-0.5e3",
    ];
    const LITELLM: &[&str] = &[
        include_str!("fixtures/model_prices_sample.json"),
        r#"{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06}}"#,
        r#"{"c": {"input_cost_per_token": 3e-06, "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token": 1.5e-05, "cache_creation_input_token_cost_above_1hr": 6e-06}}"#,
    ];
    const OWN: &[&str] = &[
        include_str!("../src/pricing/builtin_prices.json"),
        r#"{"currency": "USD", "taken": "2025-07-01", "models": {"m": {"provider": "acme", "input": "0.075", "output": 0.3, "cache_read": "0.01875", "tiers": [{"above_input_tokens": 1000, "input": "0.15"}]}}}"#,
    ];
    const RESPONSES: &[&str] = &[
        r#"{"id": "c", "model": "gpt-4o", "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300, "prompt_tokens_details": {"cached_tokens": 1500}, "completion_tokens_details": {"reasoning_tokens": 100}}}"#,
        r#"{"type": "response.completed", "response": {"usage": {"input_tokens": 100, "output_tokens": 50, "input_tokens_details": {"cached_tokens": 64}, "output_tokens_details": {"reasoning_tokens": 30}}}}"#,
        r#"{"id": "m", "type": "message", "model": "claude", "usage": {"input_tokens": 100, "cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000, "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400}, "output_tokens": 200}}"#,
        r#"{"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}}"#,
        r#"{"type": "message_delta", "usage": {"output_tokens": 42}}"#,
        r#"{"choices": [{"delta": {"content": "hi"}}], "usage": null}"#,
    ];

    fn usage_parsers(text: &str) {
        // The typed structs read the text directly, valid JSON or not.
        let _ = serde_json::from_str::<openai::ChatCompletion>(text).map(|r| r.usage());
        let _ = serde_json::from_str::<openai::ChatUsage>(text).map(|u| TokenUsage::try_from(&u));
        let _ =
            serde_json::from_str::<openai::ResponsesUsage>(text).map(|u| TokenUsage::try_from(&u));
        let _ = serde_json::from_str::<anthropic::Message>(text).map(|m| m.usage());
        let _ = serde_json::from_str::<anthropic::Usage>(text).map(|u| TokenUsage::try_from(&u));
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let _ = TokenUsage::from_openai_chat(&v);
        let _ = TokenUsage::from_openai_responses(&v);
        let _ = TokenUsage::from_anthropic(&v);
        let _ = (v.usage(), v.model(), v.provider());
        if let Some(u) = v
            .get("usage")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("response"))
        {
            let _ = serde_json::from_value::<openai::ChatUsage>(u.clone());
            let _ = serde_json::from_value::<anthropic::Usage>(u.clone());
        }
    }

    fn stream_parsers(text: &str) {
        // A stream of events: the seed's events with the mutated one in the middle.
        let mutated = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        let start: Value = serde_json::from_str(RESPONSES[3]).unwrap();
        let mut anthropic = anthropic_usage();
        let mut acc = anthropic::AnthropicStreamUsage::default();
        for e in [&start, &mutated, &mutated] {
            let _ = anthropic(e);
            let _ = acc.update(e);
            let _ = acc.usage();
            let _ = openai_chat_usage(e);
        }
    }

    fn bill_all(t: &PriceTable, rng_bits: u64) {
        let n = rng_bits;
        let usages = [
            TokenUsage::new(u64::MAX, u64::MAX),
            TokenUsage {
                input: n,
                output: n >> 1,
                cache_read: n >> 2,
                cache_write: n >> 3,
                cache_write_1h: n >> 4,
                reasoning: n >> 5,
            },
            TokenUsage::new(1_000_000, 1),
        ];
        for model in [
            "gpt-4o",
            "c",
            "m",
            "claude-sonnet-4-20250514",
            "gemini-2.5-pro",
        ] {
            for u in &usages {
                let _ = t.cost(model, u);
            }
        }
    }

    /// Inputs per parser: 40,000 decimal texts; 12,000 LiteLLM files and 12,000 of perf-llm's
    /// own format (each read lenient and strict, and billed when it loads); 30,000 usage
    /// texts (the five typed structs and the three `TokenUsage::from_*` readers); 10,000
    /// stream events (Anthropic's accumulator and extractor, OpenAI's chunk reader).
    /// 104,000 inputs in all.
    #[test]
    fn mutated_inputs_never_panic_any_parser() {
        const COUNTS: [usize; 5] = [40_000, 12_000, 12_000, 30_000, 10_000];
        assert_eq!(COUNTS.iter().sum::<usize>(), 104_000);
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let mut failures = Vec::new();
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        feed(&mut rng, DECIMALS, COUNTS[0], &mut failures, |s| {
            let _ = parse_exact_decimal(s);
        });
        let mut bits = Rng(7);
        feed(&mut rng, LITELLM, COUNTS[1], &mut failures, |s| {
            let _ = PriceTable::load_litellm_json(s, LoadMode::Strict);
            if let Ok((t, _)) = PriceTable::load_litellm_json(s, LoadMode::Lenient) {
                bill_all(&t, bits.next());
            }
        });
        feed(&mut rng, OWN, COUNTS[2], &mut failures, |s| {
            let _ = PriceTable::load_json(s, LoadMode::Strict);
            if let Ok((t, _)) = PriceTable::load_json(s, LoadMode::Lenient) {
                bill_all(&t, 0x0123_4567_89ab_cdef);
            }
        });
        feed(&mut rng, RESPONSES, COUNTS[3], &mut failures, usage_parsers);
        feed(
            &mut rng,
            RESPONSES,
            COUNTS[4],
            &mut failures,
            stream_parsers,
        );
        std::panic::set_hook(quiet);
        assert!(
            failures.is_empty(),
            "{} inputs panicked; the first: {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
    }
}
