//! `#[llm_call]` end to end on a real tokio runtime: tokens and cost of an OpenAI-shaped
//! response, the error outcome, a budget refusal that skips the body, the model from an
//! argument or from the response, cancellation, and the `#[timed]` series beside it.
//! Each test records into its own meter, or under its own model and fn names, because the
//! global registry is shared by the tests of this binary.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Waker};

use perf_llm::{
    llm_call, Budget, BudgetExceeded, BudgetKey, Budgets, Decimal, LlmMeter, ModelTotals, Window,
};
use serde_json::{json, Value};

#[derive(Debug)]
enum AskError {
    Http(u16),
    Budget(BudgetExceeded),
}

impl From<BudgetExceeded> for AskError {
    fn from(e: BudgetExceeded) -> Self {
        AskError::Budget(e)
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn totals(meter: &LlmMeter, model: &str) -> ModelTotals {
    meter
        .totals()
        .into_iter()
        .find(|t| t.model == model)
        .unwrap_or_else(|| panic!("nothing recorded for {model}: {:?}", meter.totals()))
}

fn timed_count(function: &str, result: &str) -> u64 {
    perf_core::summary_with(function, &[("result", result)]).map_or(0, |s| s.count)
}

/// An OpenAI chat completion: 2000 input tokens of which 1500 cached, 300 output.
fn chat_completion(model: &str) -> Value {
    json!({"id": "chatcmpl-abc", "object": "chat.completion", "model": model,
        "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1500}}})
}

#[llm_call(provider = "openai", operation = "chat")]
async fn ask_global(prompt: &str) -> Result<Value, AskError> {
    assert_eq!(prompt, "hi");
    tokio::task::yield_now().await;
    Ok(chat_completion("gpt-4o-mini-2024-07-18"))
}

#[test]
fn ok_response_records_tokens_cost_and_timing_with_the_global_meter() {
    let r = block_on(ask_global("hi")).unwrap();
    assert_eq!(r["id"], "chatcmpl-abc");
    let t = totals(LlmMeter::global(), "gpt-4o-mini-2024-07-18");
    assert_eq!(
        (t.provider.as_str(), t.operation.as_str()),
        ("openai", "chat")
    );
    assert_eq!((t.calls, t.errors, t.usage_missing), (1, 0, 0));
    assert_eq!(
        (t.usage.input, t.usage.cache_read, t.usage.output),
        (2000, 1500, 300)
    );
    // gpt-4o-mini: 500 × $0.15/M + 1500 × $0.075/M + 300 × $0.60/M = $0.0003675,
    // of which the cache saved 1500 × ($0.15 − $0.075)/M = $0.0001125.
    assert_eq!(t.cost.total, Decimal::new(3675, 7));
    assert_eq!(t.cost.cache_savings(), Decimal::new(1125, 7));
    assert_eq!(timed_count("ask_global", "ok"), 1);
}

static ERR_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

#[llm_call(provider = "openai", model = "gpt-4o", meter = &*ERR_METER)]
async fn ask_failing(status: u16) -> Result<Value, AskError> {
    tokio::task::yield_now().await;
    let code = Err::<u16, _>(AskError::Http(status))?;
    Ok(json!({ "never": code }))
}

#[test]
fn err_outcome_records_an_error_call_without_usage() {
    let e = block_on(ask_failing(429)).unwrap_err();
    assert!(matches!(e, AskError::Http(429)), "{e:?}");
    let t = totals(&ERR_METER, "gpt-4o");
    assert_eq!((t.calls, t.errors, t.usage_missing), (1, 1, 1));
    assert_eq!(t.cost.total, Decimal::ZERO);
    assert_eq!(timed_count("ask_failing", "error"), 1);
    assert_eq!(timed_count("ask_failing", "ok"), 0);
}

static BUDGET_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);
static BODY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[llm_call(provider = "openai", model = "gpt-4o", user = user, meter = &*BUDGET_METER)]
async fn ask_with_budget(user: &str) -> Result<Value, AskError> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(chat_completion("gpt-4o"))
}

#[test]
fn a_spent_hard_budget_refuses_the_call_without_running_the_body() {
    let budgets = Arc::new(Budgets::new());
    // One call of `chat_completion` on gpt-4o costs 500 × $2.5/M + 1500 × $1.25/M +
    // 300 × $10/M = $0.006125: the first goes through,
    // the second finds the $0.001 budget spent.
    budgets.set(
        BudgetKey::user("bob"),
        Budget::new(Decimal::new(1, 3), Window::Day).hard(),
    );
    BUDGET_METER.set_budgets(budgets.clone());

    block_on(ask_with_budget("bob")).unwrap();
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(
        budgets.spent(&BudgetKey::user("bob")),
        Some(Decimal::new(6125, 6))
    );

    let refused = block_on(ask_with_budget("bob")).unwrap_err();
    let AskError::Budget(b) = refused else {
        panic!("expected a budget refusal, got {refused:?}")
    };
    assert_eq!(b.key, "user:bob");
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 1, "the body ran");
    // The refused call was not sent, so it is not an LLM call; the fn did return `Err`.
    assert_eq!(totals(&BUDGET_METER, "gpt-4o").calls, 1);
    assert_eq!(timed_count("ask_with_budget", "error"), 1);

    // Another user is not limited.
    block_on(ask_with_budget("carol")).unwrap();
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 2);
}

static MODEL_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

struct Request {
    model: String,
}

#[llm_call(provider = "openai", model = req.model.clone(), meter = &*MODEL_METER)]
async fn ask_model_from_argument(req: Request) -> Result<Value, AskError> {
    // The provider answers with a dated snapshot name.
    Ok(chat_completion(&format!("{}-2024-08-06", req.model)))
}

#[llm_call(provider = "openai", meter = &*MODEL_METER)]
async fn ask_model_from_response(model: &str) -> Result<Value, AskError> {
    Ok(chat_completion(model))
}

#[test]
fn the_model_comes_from_the_argument_expression_or_else_from_the_response() {
    let req = Request {
        model: "gpt-4.1".into(),
    };
    block_on(ask_model_from_argument(req)).unwrap();
    block_on(ask_model_from_response("o4-mini")).unwrap();
    let models: Vec<String> = MODEL_METER.totals().into_iter().map(|t| t.model).collect();
    assert!(models.contains(&"gpt-4.1".to_string()), "{models:?}");
    assert!(
        !models.contains(&"gpt-4.1-2024-08-06".to_string()),
        "{models:?}"
    );
    assert!(models.contains(&"o4-mini".to_string()), "{models:?}");
    // Priced under the name it was recorded with: 500 × $2/M + 1500 × $0.5/M + 300 × $8/M.
    assert_eq!(
        totals(&MODEL_METER, "gpt-4.1").cost.total,
        Decimal::new(415, 5)
    );
}

static CANCEL_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

#[llm_call(provider = "anthropic", model = "claude-3-5-haiku", meter = &*CANCEL_METER)]
async fn ask_forever() -> Result<Value, AskError> {
    std::future::pending::<()>().await;
    Ok(Value::Null)
}

#[test]
fn a_future_dropped_mid_call_records_a_cancelled_call() {
    let mut cx = Context::from_waker(Waker::noop());
    {
        let unpolled = ask_forever();
        drop(unpolled);
    }
    assert!(
        CANCEL_METER.totals().is_empty(),
        "an unpolled future did nothing"
    );
    {
        let mut fut = pin!(ask_forever());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    let t = totals(&CANCEL_METER, "claude-3-5-haiku");
    assert_eq!((t.calls, t.errors, t.usage_missing), (1, 1, 1));
    assert_eq!(timed_count("ask_forever", "cancelled"), 1);
}

static TRAIT_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

#[async_trait::async_trait]
trait Chat {
    async fn chat(&self, prompt: &str) -> Result<Value, AskError>;
}

struct Client {
    model: &'static str,
}

#[async_trait::async_trait]
impl Chat for Client {
    #[llm_call(provider = "openai", model = self.model, meter = &*TRAIT_METER)]
    async fn chat(&self, prompt: &str) -> Result<Value, AskError> {
        tokio::task::yield_now().await;
        Ok(
            json!({"model": "ignored", "usage": {"prompt_tokens": prompt.len(), "completion_tokens": 1}}),
        )
    }
}

#[test]
fn async_trait_methods_are_metered_inside_the_future() {
    let client: Box<dyn Chat + Send + Sync> = Box::new(Client {
        model: "gpt-4o-mini",
    });
    block_on(client.chat("four")).unwrap();
    let t = totals(&TRAIT_METER, "gpt-4o-mini");
    assert_eq!((t.calls, t.usage.input, t.usage.output), (1, 4, 1));
    assert_eq!(timed_count("Client::chat", "ok"), 1);
}

static OPTIONS_METER: LazyLock<LlmMeter> = LazyLock::new(|| {
    let meter = LlmMeter::new();
    let budgets = Budgets::new();
    // Spent from the start: every checked call on these keys is refused.
    for key in [
        BudgetKey::model("o3"),
        BudgetKey::endpoint("search"),
        BudgetKey::user("eve"),
    ] {
        budgets.set(key, Budget::new(Decimal::ZERO, Window::Hour).hard());
    }
    meter.set_budgets(Arc::new(budgets));
    meter
});
static UNCHECKED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[llm_call(provider = "openai", model = model, endpoint = endpoint, meter = &*OPTIONS_METER)]
async fn ask_on_endpoint(model: &str, endpoint: &str) -> Result<Value, AskError> {
    Ok(chat_completion(model))
}

#[llm_call(provider = "openai", model = "o3", user = "eve", budget = false, meter = &*OPTIONS_METER)]
async fn ask_unchecked() -> std::io::Result<Value> {
    UNCHECKED_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(chat_completion("o3"))
}

#[test]
fn model_and_endpoint_budgets_refuse_and_budget_false_skips_the_check() {
    let by_model = block_on(ask_on_endpoint("o3", "chat-ui")).unwrap_err();
    assert!(
        matches!(&by_model, AskError::Budget(b) if b.key == "model:o3"),
        "{by_model:?}"
    );
    let by_endpoint = block_on(ask_on_endpoint("o4-mini", "search")).unwrap_err();
    assert!(
        matches!(&by_endpoint, AskError::Budget(b) if b.key == "endpoint:search"),
        "{by_endpoint:?}"
    );
    assert!(
        OPTIONS_METER.totals().is_empty(),
        "refused calls were recorded"
    );
    block_on(ask_on_endpoint("o4-mini", "chat-ui")).unwrap();

    // The same spent budgets (model o3, user eve) do not stop an unchecked call.
    block_on(ask_unchecked()).unwrap();
    assert_eq!(UNCHECKED_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(totals(&OPTIONS_METER, "o3").calls, 1);
    assert_eq!(totals(&OPTIONS_METER, "o4-mini").calls, 1);
}

static PANIC_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

#[llm_call(provider = "openai", model = "gpt-4o", meter = &*PANIC_METER)]
async fn ask_panicking() -> Result<Value, AskError> {
    tokio::task::yield_now().await;
    panic!("the client library panicked");
}

#[test]
fn a_panicking_body_records_an_error_call_and_the_timed_panic_outcome() {
    let caught = std::panic::catch_unwind(|| block_on(ask_panicking()));
    assert!(caught.is_err());
    let t = totals(&PANIC_METER, "gpt-4o");
    assert_eq!((t.calls, t.errors, t.usage_missing), (1, 1, 1));
    assert_eq!(timed_count("ask_panicking", "panic"), 1);
}
