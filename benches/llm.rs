//! Cost of metering one LLM call, beside baselines measured in the same group so results read
//! as ratios on a noisy machine. Run: `cargo bench --bench llm`.
//!
//! * `llm_record`: building and recording one `LlmCall` (price lookup + exact cost + GenAI
//!   histograms + nano-USD cost and cost-without-cache counters + the `llm_call` event, no subscriber)
//!   into perf-core's Prometheus recorder, against the cost computation alone and one cached
//!   `metrics` histogram record into the same recorder.
//! * `llm_unknown_model`: recording a call of a model the price table does not know, with
//!   LiteLLM's whole price list loaded (the vendored snapshot), against a known model's call
//!   in the same table and against one `PriceTable::nearest` over that list (what every such
//!   call paid before misses were cached).
//! * `llm_parse`: reading usage from an already-parsed OpenAI chat response, against parsing
//!   the response body itself (which every client pays anyway).

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use perf::llm::providers::openai::ChatCompletion;
use perf::llm::{LlmCall, LlmMeter, PriceTable, TokenUsage};

const RESPONSE: &str = r#"{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-2024-08-06",
  "choices": [{"index": 0, "message": {"role": "assistant",
      "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
      "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 2019, "completion_tokens": 10, "total_tokens": 2029,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}"#;

fn usage() -> TokenUsage {
    TokenUsage {
        input: 2019,
        output: 10,
        cache_read: 1920,
        ..TokenUsage::default()
    }
}

/// A group with the short times every group here uses (their results read as ratios to a
/// baseline in the same group).
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    g
}

fn record(c: &mut Criterion) {
    let (recorder, _exporter) = perf::core::export::prometheus()
        .build()
        .expect("default exporter builds");
    let mut g = group(c, "llm_record");
    let table = PriceTable::builtin();
    let meter = LlmMeter::with_prices(PriceTable::builtin());
    let u = usage();

    g.bench_function("baseline/cost_only", |b| {
        b.iter(|| black_box(table.cost(black_box("gpt-4o"), black_box(&u))))
    });
    metrics::with_local_recorder(&recorder, || {
        let h = metrics::histogram!("bench_one_histogram_seconds", "model" => "gpt-4o");
        g.bench_function("baseline/one_cached_histogram_record", |b| {
            b.iter(|| h.record(black_box(0.85)))
        });
        g.bench_function("record_call/prometheus", |b| {
            b.iter(|| {
                black_box(
                    LlmCall::new("openai", "gpt-4o")
                        .usage(black_box(u))
                        .latency(Duration::from_millis(850))
                        .record_with(&meter),
                )
            })
        });
    });
    g.bench_function("record_call/no_recorder", |b| {
        b.iter(|| {
            black_box(
                LlmCall::new("openai", "gpt-4o")
                    .usage(black_box(u))
                    .latency(Duration::from_millis(850))
                    .record_with(&meter),
            )
        })
    });
    g.finish();
}

/// LiteLLM's whole price list. Loaded leniently: an entry this version cannot read is left
/// out rather than failing the bench.
fn full_litellm_list() -> PriceTable {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/perf-llm/tests/fixtures/litellm/model_prices_and_context_window.json"
    );
    let text = std::fs::read_to_string(path).expect("the vendored LiteLLM list");
    PriceTable::from_litellm_json(&text).unwrap_or_else(|_| {
        let all: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).expect("the list is a JSON object");
        let readable: serde_json::Map<String, serde_json::Value> = all
            .into_iter()
            .filter(|(k, v)| {
                let one = serde_json::json!({ k: v }).to_string();
                PriceTable::from_litellm_json(&one).is_ok()
            })
            .collect();
        PriceTable::from_litellm_json(&serde_json::Value::Object(readable).to_string())
            .expect("the readable entries load")
    })
}

fn unknown_model(c: &mut Criterion) {
    let (recorder, _exporter) = perf::core::export::prometheus()
        .build()
        .expect("default exporter builds");
    let mut g = group(c, "llm_unknown_model");
    let table = full_litellm_list();
    assert!(table.len() > 2000, "{} models", table.len());
    let unknown = "gpt-4o-typo-unknown";
    g.sample_size(10);
    g.bench_function("baseline/nearest_full_list", |b| {
        b.iter(|| black_box(table.nearest(black_box(unknown), 3)))
    });
    g.sample_size(100);
    let meter = LlmMeter::with_prices(table);
    let u = usage();
    metrics::with_local_recorder(&recorder, || {
        let mut record = |model: &'static str| {
            g.bench_function(format!("record_call/{model}"), |b| {
                b.iter(|| {
                    black_box(
                        LlmCall::new("openai", model)
                            .usage(black_box(u))
                            .latency(Duration::from_millis(850))
                            .record_with(&meter),
                    )
                })
            });
        };
        record("gpt-4o");
        record(unknown);
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let mut g = group(c, "llm_parse");
    let value: serde_json::Value = serde_json::from_str(RESPONSE).unwrap();
    assert_eq!(TokenUsage::from_openai_chat(&value).unwrap(), usage());

    g.bench_function("baseline/body_to_value", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(
                RESPONSE,
            )))
        })
    });
    g.bench_function("usage_from_value", |b| {
        b.iter(|| black_box(TokenUsage::from_openai_chat(black_box(&value))))
    });
    g.bench_function("typed_body_to_usage", |b| {
        b.iter(|| {
            let r: ChatCompletion = serde_json::from_str(black_box(RESPONSE)).unwrap();
            black_box(TokenUsage::try_from(r.usage.as_ref().unwrap()))
        })
    });
    g.finish();
}

criterion_group!(benches, record, unknown_model, parse);
criterion_main!(benches);
