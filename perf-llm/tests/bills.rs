//! Hand-computed bills: cached tokens are billed once, at the cache rate, for both
//! conventions (OpenAI's `prompt_tokens` include cached tokens, Anthropic's `input_tokens`
//! do not). Prices come from the LiteLLM-format fixture.

use std::str::FromStr;

use perf_llm::{Decimal, PriceTable, TokenUsage};
use serde_json::json;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn table() -> PriceTable {
    PriceTable::from_litellm_json(include_str!("fixtures/model_prices_sample.json")).unwrap()
}

#[test]
fn openai_call_with_cached_tokens_is_billed_once() {
    // gpt-4o: input $2.50/M = 2.5e-06, cached input $1.25/M = 1.25e-06, output 1e-05.
    let response = json!({
        "id": "chatcmpl-abc", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"}}],
        "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
                  "prompt_tokens_details": {"cached_tokens": 1500, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}}
    });
    let usage = TokenUsage::from_openai_chat(&response).unwrap();
    assert_eq!(
        (usage.input, usage.cache_read, usage.output),
        (2000, 1500, 300)
    );
    let cost = table().cost("gpt-4o", &usage).unwrap();
    // uncached input:   500 × 2.5e-06  = 0.00125
    // cached input:    1500 × 1.25e-06 = 0.001875
    // output:           300 × 1e-05    = 0.003
    // total                             = 0.006125
    assert_eq!(cost.input, d("0.00125"));
    assert_eq!(cost.cached_input, d("0.001875"));
    assert_eq!(cost.cache_write, Decimal::ZERO);
    assert_eq!(cost.output, d("0.003"));
    assert_eq!(cost.total, d("0.006125"));
    // Billing the 1500 cached tokens twice (at the input and the cache rate) would give
    // 2000 × 2.5e-06 + 1500 × 1.25e-06 + 0.003 = 0.009875.
    assert_ne!(cost.total, d("0.009875"));
    // Without the cache: 2000 × 2.5e-06 + 0.003 = 0.008; saved 0.008 − 0.006125 = 0.001875.
    assert_eq!(cost.without_cache, d("0.008"));
    assert_eq!(cost.cache_savings(), d("0.001875"));
    assert_eq!(cost.total_usd(), 0.006125);
    assert_eq!(cost.cache_savings_usd(), 0.001875);
}

#[test]
fn anthropic_call_with_cache_reads_and_writes_is_billed_once() {
    // claude-sonnet-4: input 3e-06, output 1.5e-05, cache read 3e-07, 5-min write 3.75e-06.
    let response = json!({
        "id": "msg_01", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "…"}],
        "usage": {"input_tokens": 100, "cache_read_input_tokens": 5000,
                  "cache_creation_input_tokens": 1000, "output_tokens": 200}
    });
    let usage = TokenUsage::from_anthropic(&response).unwrap();
    // Normalised input: 100 + 5000 + 1000 = 6100.
    assert_eq!(usage.input, 6100);
    assert_eq!(usage.uncached_input(), 100);
    let cost = table().cost("claude-sonnet-4-20250514", &usage).unwrap();
    // uncached input:  100 × 3e-06    = 0.0003
    // cache read:     5000 × 3e-07    = 0.0015
    // cache write:    1000 × 3.75e-06 = 0.00375
    // output:          200 × 1.5e-05  = 0.003
    // total                            = 0.00855
    assert_eq!(cost.input, d("0.0003"));
    assert_eq!(cost.cached_input, d("0.0015"));
    assert_eq!(cost.cache_write, d("0.00375"));
    assert_eq!(cost.output, d("0.003"));
    assert_eq!(cost.total, d("0.00855"));
    // Without the cache: 6100 × 3e-06 + 0.003 = 0.0213; saved 0.0213 − 0.00855 = 0.01275
    // (reads saved 5000 × 2.7e-06 = 0.0135, the write premium cost 1000 × 7.5e-07 = 0.00075).
    assert_eq!(cost.without_cache, d("0.0213"));
    assert_eq!(cost.cache_savings(), d("0.01275"));
}

#[test]
fn anthropic_one_hour_writes_use_their_own_rate() {
    let usage = TokenUsage::from_anthropic(&json!({"usage": {
        "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400}}}))
    .unwrap();
    let cost = table().cost("claude-sonnet-4-20250514", &usage).unwrap();
    // 600 × 3.75e-06 = 0.00225; 400 × 6e-06 = 0.0024
    assert_eq!(cost.cache_write, d("0.00465"));
    // A write alone saves nothing: savings are negative by the premium,
    // 1000 × 3e-06 − 0.00465 = −0.00165.
    assert_eq!(cost.cache_savings(), d("-0.00165"));
}

#[test]
fn long_context_tier_bills_the_whole_call() {
    // 150 000 uncached + 60 000 cache-read = 210 000 input tokens > 200 000.
    let usage = TokenUsage::from_anthropic(&json!({"usage": {
        "input_tokens": 150000, "cache_read_input_tokens": 60000, "output_tokens": 1000}}))
    .unwrap();
    let cost = table().cost("claude-sonnet-4-20250514", &usage).unwrap();
    // 150000 × 6e-06 = 0.9; 60000 × 6e-07 = 0.036; 1000 × 2.25e-05 = 0.0225
    assert_eq!(cost.total, d("0.9585"));
    // At exactly 200 000 the base rates apply: 200000 × 3e-06 = 0.6
    let at = TokenUsage::new(200_000, 0);
    assert_eq!(
        table().cost("claude-sonnet-4-20250514", &at).unwrap().total,
        d("0.6")
    );
}

#[test]
fn reasoning_tokens_are_part_of_output_not_extra() {
    let usage = TokenUsage::from_openai_chat(&json!({"usage": {
        "prompt_tokens": 1000, "completion_tokens": 500,
        "completion_tokens_details": {"reasoning_tokens": 400}}}))
    .unwrap();
    let cost = table().cost("o4-mini", &usage).unwrap();
    // input 1000 × 1.1e-06 = 0.0011; output 100 × 4.4e-06 = 0.00044; reasoning 400 × 4.4e-06 = 0.00176
    assert_eq!(cost.output, d("0.00044"));
    assert_eq!(cost.reasoning, d("0.00176"));
    assert_eq!(cost.total, d("0.0033"));
}

#[test]
fn tiny_and_noisy_prices_stay_exact() {
    let t = table();
    let m = TokenUsage::new(1_000_000, 1_000_000);
    // 3.4375e-07 × 1 000 000 = 0.34375 exactly; 2.75e-08 × 1 000 000 = 0.0275
    let c = t.cost("fireworks_ai/tiny-price", &m).unwrap();
    assert_eq!(c.input, d("0.34375"));
    assert_eq!(c.output, d("0.0275"));
    // The float-noise price keeps exactly the digits its text has, no more, no fewer:
    // 5.0000000000000004e-08 × 1 000 000 = 0.050000000000000004; 8.75e-09 × 10^6 = 0.00875
    let c = t
        .cost("together_ai/some-model-with-float-noise", &m)
        .unwrap();
    assert_eq!(c.input.normalize().to_string(), "0.050000000000000004");
    assert_eq!(c.output, d("0.00875"));
    // A million one-token calls at 8.75e-09 sum to exactly 0.00875; f64 does not.
    let one = t
        .cost(
            "together_ai/some-model-with-float-noise",
            &TokenUsage::new(0, 1),
        )
        .unwrap();
    let mut exact = perf_llm::Cost::default();
    let mut float = 0.0f64;
    for _ in 0..1_000_000 {
        exact += one;
        float += 8.75e-09;
    }
    assert_eq!(exact.total, d("0.00875"));
    assert_ne!(float, 0.00875);
}
