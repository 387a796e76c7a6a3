//! What recording an `LlmCall` emits: OpenTelemetry GenAI histograms, the nano-USD cost
//! counter and the cost-without-cache counter (exact across calls), the unknown-model counter, one
//! `llm_call` tracing event, budget charges.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use perf_llm::{
    Budget, BudgetKey, Budgets, CallStatus, Decimal, LlmCall, LlmMeter, PriceTable, TokenUsage,
    Window,
};
use serde_json::json;

fn table() -> PriceTable {
    PriceTable::from_litellm_json(include_str!("fixtures/model_prices_sample.json")).unwrap()
}

type Row = (MetricKind, String, Vec<(String, String)>, DebugValue);

fn rows(s: &Snapshotter) -> Vec<Row> {
    s.snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, v)| {
            let (kind, key) = ck.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (kind, key.name().to_owned(), labels, v)
        })
        .collect()
}

fn find<'a>(rows: &'a [Row], name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    rows.iter()
        .find(|(_, n, l, _)| {
            n == name
                && labels.len() == l.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|r| &r.3)
}

fn hist(v: Option<&DebugValue>) -> Vec<f64> {
    match v {
        Some(DebugValue::Histogram(h)) => h.iter().map(|x| x.into_inner()).collect(),
        other => panic!("not a histogram: {other:?}"),
    }
}

const GPT4O: [(&str, &str); 3] = [
    ("gen_ai_operation_name", "chat"),
    ("gen_ai_provider_name", "openai"),
    ("gen_ai_request_model", "gpt-4o"),
];

#[test]
fn one_call_emits_genai_metrics_and_cost() {
    let rec = DebuggingRecorder::new();
    let snap = rec.snapshotter();
    let response = json!({"id": "chatcmpl-1", "model": "gpt-4o", "usage": {
        "prompt_tokens": 2000, "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1500}}});
    metrics::with_local_recorder(&rec, || {
        let meter = LlmMeter::with_prices(table());
        for _ in 0..2 {
            LlmCall::new("openai", "gpt-4o")
                .response(&response)
                .latency(Duration::from_millis(850))
                .time_to_first_chunk(Duration::from_millis(120))
                .record_with(&meter);
        }
    });
    let r = rows(&snap);
    assert_eq!(
        hist(find(&r, "gen_ai_client_operation_duration_seconds", &GPT4O)),
        vec![0.85, 0.85]
    );
    assert_eq!(
        hist(find(
            &r,
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            &GPT4O
        )),
        vec![0.12, 0.12]
    );
    let mut input = GPT4O.to_vec();
    input.push(("gen_ai_token_type", "input"));
    assert_eq!(
        hist(find(&r, "gen_ai_client_token_usage", &input)),
        vec![2000.0, 2000.0]
    );
    let mut output = GPT4O.to_vec();
    output.push(("gen_ai_token_type", "output"));
    assert_eq!(
        hist(find(&r, "gen_ai_client_token_usage", &output)),
        vec![300.0, 300.0]
    );
    // 2 × $0.006125 = $0.01225 = 12 250 000 n$.
    assert_eq!(
        find(&r, "gen_ai_client_cost_nano_usd_total", &GPT4O),
        Some(&DebugValue::Counter(12_250_000))
    );
    // 2 × $0.001875 saved: 2 × $0.008 without the cache.
    assert_eq!(
        find(
            &r,
            "gen_ai_client_cost_without_cache_nano_usd_total",
            &GPT4O
        ),
        Some(&DebugValue::Counter(16_000_000))
    );
}

#[test]
fn sub_nanodollar_costs_accumulate_exactly() {
    // 8.75e-09 $ per output token: flooring each call would count 8 n$ per call.
    let rec = DebuggingRecorder::new();
    let snap = rec.snapshotter();
    let model = "together_ai/some-model-with-float-noise";
    let meter = metrics::with_local_recorder(&rec, || {
        let meter = LlmMeter::with_prices(table());
        for _ in 0..4 {
            LlmCall::new("together", model)
                .usage(TokenUsage::new(0, 1))
                .record_with(&meter);
        }
        meter
    });
    let r = rows(&snap);
    let labels = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "together"),
        ("gen_ai_request_model", model),
    ];
    assert_eq!(
        find(&r, "gen_ai_client_cost_nano_usd_total", &labels),
        Some(&DebugValue::Counter(35))
    );
    let t = &meter.totals()[0];
    assert_eq!(t.cost.total, Decimal::from_str("0.000000035").unwrap());
}

#[test]
fn errors_unknown_models_and_missing_usage_are_labelled_and_counted() {
    let rec = DebuggingRecorder::new();
    let snap = rec.snapshotter();
    let meter = metrics::with_local_recorder(&rec, || {
        let meter = LlmMeter::with_prices(table());
        LlmCall::new("openai", "gpt-4o")
            .error("timeout")
            .latency(Duration::from_secs(30))
            .record_with(&meter);
        let c = LlmCall::new("openai", "gpt-9")
            .usage(TokenUsage::new(10, 10))
            .record_with(&meter);
        assert_eq!(c.cost, None);
        LlmCall::new("openai", "gpt-4o")
            .response(&json!({"choices": [], "usage": null}))
            .record_with(&meter);
        meter
    });
    let r = rows(&snap);
    let mut err = GPT4O.to_vec();
    err.push(("error_type", "timeout"));
    assert_eq!(
        hist(find(&r, "gen_ai_client_operation_duration_seconds", &err)),
        vec![30.0]
    );
    assert_eq!(
        find(
            &r,
            "gen_ai_client_unknown_model_total",
            &[("gen_ai_request_model", "gpt-9")]
        ),
        Some(&DebugValue::Counter(1))
    );
    let totals = meter.totals();
    let gpt4o = totals.iter().find(|t| t.model == "gpt-4o").unwrap();
    assert_eq!((gpt4o.calls, gpt4o.errors, gpt4o.usage_missing), (2, 1, 2));
    assert_eq!(gpt4o.cost.total, Decimal::ZERO);
    let gpt9 = totals.iter().find(|t| t.model == "gpt-9").unwrap();
    assert_eq!((gpt9.calls, gpt9.unpriced), (1, 1));
    assert_eq!(meter.prices().unknown_model_lookups(), 1);
}

#[test]
fn handles_follow_the_recorder_in_effect() {
    // The same meter used under two recorders records into each.
    let meter = LlmMeter::with_prices(table());
    let call = || {
        LlmCall::new("openai", "gpt-4o-mini")
            .usage(TokenUsage::new(1, 1))
            .latency(Duration::from_millis(1))
    };
    let (a, b) = (DebuggingRecorder::new(), DebuggingRecorder::new());
    let (sa, sb) = (a.snapshotter(), b.snapshotter());
    metrics::with_local_recorder(&a, || call().record_with(&meter));
    metrics::with_local_recorder(&b, || call().record_with(&meter));
    let labels = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "openai"),
        ("gen_ai_request_model", "gpt-4o-mini"),
    ];
    for s in [&sa, &sb] {
        let r = rows(s);
        assert_eq!(
            hist(find(
                &r,
                "gen_ai_client_operation_duration_seconds",
                &labels
            )),
            vec![0.001]
        );
    }
}

#[test]
fn budgets_are_charged_and_hard_limits_refuse() {
    let (clock, _hand) = perf_core::clock::Clock::manual();
    let budgets = Arc::new(Budgets::with_clock(clock));
    // $0.01 per hour for alice: two $0.006125 calls cross it.
    budgets.set(
        BudgetKey::user("alice"),
        Budget::new(Decimal::from_str("0.01").unwrap(), Window::Hour).hard(),
    );
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let a = alerts.clone();
    budgets.on_alert(move |al| a.lock().unwrap().push(al.spent));
    let meter = LlmMeter::with_prices(table());
    meter.set_budgets(budgets.clone());
    let usage = TokenUsage::from_openai_chat(&json!({"usage": {"prompt_tokens": 2000,
        "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1500}}}))
    .unwrap();
    let call = || LlmCall::new("openai", "gpt-4o").user("alice").usage(usage);
    assert!(meter.check_budget(&call()).is_ok());
    call().record_with(&meter);
    assert!(meter.check_budget(&call()).is_ok());
    assert!(alerts.lock().unwrap().is_empty());
    call().record_with(&meter);
    assert_eq!(
        *alerts.lock().unwrap(),
        vec![Decimal::from_str("0.01225").unwrap()]
    );
    let e = meter.check_budget(&call()).unwrap_err();
    assert_eq!(e.key, "user:alice");
    // Other users are not affected.
    assert!(meter
        .check_budget(&LlmCall::new("openai", "gpt-4o").user("bob"))
        .is_ok());
    assert_eq!(call().status, CallStatus::Ok);
}

#[test]
fn concurrent_charges_lose_nothing() {
    let budgets = Arc::new(Budgets::with_clock(perf_core::clock::Clock::manual().0));
    let key = BudgetKey::endpoint("/chat");
    budgets.set(
        key.clone(),
        Budget::new(Decimal::from(1_000_000), Window::Day),
    );
    let meter = Arc::new(LlmMeter::with_prices(table()));
    meter.set_budgets(budgets.clone());
    let per_call = Decimal::from_str("0.000000035").unwrap(); // 1 × 3.5e-08
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (b, m, key) = (budgets.clone(), meter.clone(), key.clone());
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    b.charge(std::slice::from_ref(&key), per_call);
                    LlmCall::new("bedrock", "bedrock/us.amazon.nova-micro-v1:0")
                        .endpoint("/chat")
                        .usage(TokenUsage::new(1, 0))
                        .record_with(&m);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 16 000 direct charges + 16 000 recorded calls, each 3.5e-08.
    assert_eq!(budgets.spent(&key), Some(per_call * Decimal::from(32_000)));
    let t = &meter.totals()[0];
    assert_eq!(t.calls, 16_000);
    assert_eq!(t.usage.input, 16_000);
    assert_eq!(t.cost.total, Decimal::from_str("0.00056").unwrap());
}

#[test]
fn a_series_is_found_by_its_names_whoever_owns_the_strings() {
    let rec = DebuggingRecorder::new();
    let snap = rec.snapshotter();
    let meter = LlmMeter::with_prices(table());
    let u = TokenUsage::new(100, 10);
    // The same names given as a literal, as owned strings, and as another slice with the
    // same bytes (a different address) are one series; an error type makes another.
    let other_slice: &'static str = &"xgpt-4o"[1..];
    metrics::with_local_recorder(&rec, || {
        LlmCall::new("openai", "gpt-4o")
            .usage(u)
            .record_with(&meter);
        LlmCall::new(String::from("openai"), String::from("gpt-4o"))
            .usage(u)
            .record_with(&meter);
        LlmCall::new("openai", other_slice)
            .operation(String::from("chat"))
            .usage(u)
            .record_with(&meter);
        LlmCall::new("openai", "gpt-4o")
            .usage(u)
            .error(String::from("timeout"))
            .record_with(&meter);
        LlmCall::new("openai", "gpt-4o-mini")
            .usage(u)
            .record_with(&meter);
    });
    // A name split into two series would show as two counters, each short of the three
    // calls' sum:
    // 3 × (100 × $2.50/M + 10 × $10/M) = 3 × $0.00035.
    assert_eq!(
        find(&rows(&snap), "gen_ai_client_cost_nano_usd_total", &GPT4O),
        Some(&DebugValue::Counter(1_050_000))
    );
    let totals = meter.totals();
    let by_model = |m: &str| totals.iter().find(|t| t.model == m).unwrap();
    assert_eq!(totals.len(), 2, "{totals:?}");
    assert_eq!(
        (by_model("gpt-4o").calls, by_model("gpt-4o").errors),
        (4, 1)
    );
    assert_eq!(by_model("gpt-4o").usage.input, 400);
    assert_eq!(by_model("gpt-4o-mini").calls, 1);
}
