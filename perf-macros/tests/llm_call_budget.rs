//! `#[llm_call]` and hard budgets under concurrency, on a real multi-thread tokio runtime:
//! calls in flight together do not spend past what the budget promises, and a per-model
//! budget refuses even when the model is only known from the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use perf_llm::{llm_call, Budget, BudgetExceeded, BudgetKey, Budgets, Decimal, LlmMeter, Window};
use serde_json::{json, Value};

/// gpt-4o-mini: 1000 × $0.15/M + 100 × $0.60/M = $0.00021 a call.
const CALL_COST: Decimal = Decimal::from_parts(21, 0, 0, false, 5);

fn completion(model: &str) -> Value {
    json!({"id": "chatcmpl-1", "model": model,
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100}})
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(8)
        .enable_time()
        .build()
        .unwrap()
}

/// Runs `calls` of `f` on 8 tasks at once; returns (admitted, refused).
fn run_concurrently<F, Fut>(calls: u64, f: F) -> (u64, u64)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, BudgetExceeded>> + Send,
{
    let f = Arc::new(f);
    let (ok, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    runtime().block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (f, ok, refused) = (f.clone(), ok.clone(), refused.clone());
                tokio::spawn(async move {
                    for _ in 0..calls {
                        match f().await {
                            Ok(_) => ok.fetch_add(1, Ordering::SeqCst),
                            Err(_) => refused.fetch_add(1, Ordering::SeqCst),
                        };
                    }
                })
            })
            .collect();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .unwrap()
                .unwrap();
        }
    });
    (ok.load(Ordering::SeqCst), refused.load(Ordering::SeqCst))
}

static NO_CEILING_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);
static PER_CALL_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

/// A 1 ms call of `user` on gpt-4o-mini, recorded with `meter`.
#[llm_call(provider = "openai", model = "gpt-4o-mini", user = user, meter = meter)]
async fn ask(meter: &'static LlmMeter, user: &'static str) -> Result<Value, BudgetExceeded> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(completion("gpt-4o-mini"))
}

#[test]
fn concurrent_calls_of_unknown_cost_overspend_by_at_most_one_call() {
    let budgets = Arc::new(Budgets::new());
    let key = BudgetKey::user("dave");
    // Room for 20½ calls.
    let limit = CALL_COST * Decimal::new(205, 1);
    budgets.set(key.clone(), Budget::new(limit, Window::Day).hard());
    NO_CEILING_METER.set_budgets(budgets.clone());
    // A refusal because another call of unknown cost is in flight means "try again": with
    // it retried, how the tasks are scheduled cannot change how many calls get in.
    let (ok, refused) = run_concurrently(50, || async {
        loop {
            match ask(&NO_CEILING_METER, "dave").await {
                Err(e) if e.reason == perf_llm::Refusal::UnknownCostInFlight => {
                    tokio::task::yield_now().await
                }
                done => return done,
            }
        }
    });
    let spent = budgets.spent(&key).unwrap();
    // No ceiling is known, so the promise is the one a caller making one call at a time
    // gets: admitted while the limit is not reached, so at most one call's cost over.
    assert!(
        spent <= limit + CALL_COST,
        "spent ${spent}, limit ${limit}: {} calls over",
        (spent - limit) / CALL_COST
    );
    assert_eq!((ok, refused), (21, 379)); // every refusal after the 21st call: spent
    assert_eq!(spent, CALL_COST * Decimal::from(21));
    assert_eq!(budgets.reserved(&key), Some(Decimal::ZERO));
}

#[test]
fn a_per_call_reservation_admits_concurrently_and_never_passes_the_limit() {
    let budgets = Arc::new(Budgets::new());
    let key = BudgetKey::user("erin");
    let limit = CALL_COST * Decimal::from(100);
    // Each call holds what it can cost at most: here exactly what it costs.
    budgets.set(
        key.clone(),
        Budget::new(limit, Window::Day).hard().per_call(CALL_COST),
    );
    PER_CALL_METER.set_budgets(budgets.clone());
    let (ok, refused) = run_concurrently(50, || ask(&PER_CALL_METER, "erin"));
    assert_eq!((ok, refused), (100, 300));
    assert_eq!(budgets.spent(&key), Some(limit));
    assert_eq!(budgets.reserved(&key), Some(Decimal::ZERO));
    let refusal = runtime()
        .block_on(ask(&PER_CALL_METER, "erin"))
        .unwrap_err();
    assert_eq!(
        refusal.reason,
        perf_llm::Refusal::WouldExceed { ceiling: CALL_COST }
    );
}

static MODEL_BUDGET_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);

#[llm_call(provider = "openai", meter = &*MODEL_BUDGET_METER)]
async fn ask_model_from_response() -> Result<Value, BudgetExceeded> {
    Ok(completion("gpt-4o-mini"))
}

#[test]
fn a_per_model_hard_budget_refuses_without_the_model_option() {
    let budgets = Arc::new(Budgets::new());
    let key = BudgetKey::model("gpt-4o-mini");
    // Room for two calls.
    budgets.set(
        key.clone(),
        Budget::new(CALL_COST * Decimal::from(2), Window::Day).hard(),
    );
    MODEL_BUDGET_METER.set_budgets(budgets.clone());
    let rt = runtime();
    rt.block_on(ask_model_from_response()).unwrap();
    rt.block_on(ask_model_from_response()).unwrap();
    assert_eq!(budgets.spent(&key), Some(CALL_COST * Decimal::from(2)));
    let refusal = rt.block_on(ask_model_from_response()).unwrap_err();
    assert_eq!(refusal.key, "model:gpt-4o-mini");
    assert_eq!(budgets.spent(&key), Some(CALL_COST * Decimal::from(2)));
}
