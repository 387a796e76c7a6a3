//! What `#[llm_call]` adds to one call, measured against its baselines in one group (the
//! machine is noisy, so only ratios within one run mean much):
//!
//! * `bare`: the async fn without instrumentation, returning a response it already has;
//! * `hand_written`: the same fn with the metering written by hand
//!   (`LlmCall::start(..).response(&r).record_with(&meter)`), the peer;
//! * `llm_call/no_budget`: the fn under `#[llm_call(budget = false)]`;
//! * `llm_call/budget`: the fn under `#[llm_call]` with a budget on its model, so every
//!   call is checked and charged.
//!
//! Each future is polled once to completion with a no-op waker; no `metrics` recorder and
//! no `tracing` subscriber are installed, so what is measured is perf's own work.
//!
//! `cargo bench --bench llm_call`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use perf::llm::{Budget, BudgetExceeded, BudgetKey, Budgets, Decimal, LlmCall, LlmMeter, Window};
use serde_json::{json, Value};

static RESPONSE: LazyLock<Value> = LazyLock::new(|| {
    json!({"id": "chatcmpl-1", "model": "gpt-4o-mini", "usage": {
        "prompt_tokens": 2000, "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1500}}})
});

static HAND_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);
static MACRO_METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);
static BUDGET_METER: LazyLock<LlmMeter> = LazyLock::new(|| {
    let meter = LlmMeter::new();
    let budgets = Budgets::new();
    budgets.set(
        BudgetKey::model("gpt-4o-mini"),
        Budget::new(Decimal::from(1_000_000_000u64), Window::Day).hard(),
    );
    meter.set_budgets(Arc::new(budgets));
    meter
});

#[inline(never)]
async fn bare() -> Result<&'static Value, BudgetExceeded> {
    Ok(black_box(&*RESPONSE))
}

#[inline(never)]
async fn hand_written() -> Result<&'static Value, BudgetExceeded> {
    let call = LlmCall::start("openai", "gpt-4o-mini");
    let ret = Ok(black_box(&*RESPONSE));
    if let Ok(r) = &ret {
        call.response(r).record_with(&HAND_METER);
    }
    ret
}

#[perf::llm_call(provider = "openai", budget = false, meter = &*MACRO_METER)]
#[inline(never)]
async fn metered() -> Result<&'static Value, BudgetExceeded> {
    Ok(black_box(&*RESPONSE))
}

#[perf::llm_call(provider = "openai", model = "gpt-4o-mini", meter = &*BUDGET_METER)]
#[inline(never)]
async fn metered_with_budget() -> Result<&'static Value, BudgetExceeded> {
    Ok(black_box(&*RESPONSE))
}

fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("these futures never wait"),
    }
}

fn llm_call(c: &mut Criterion) {
    LazyLock::force(&RESPONSE);
    let mut g = c.benchmark_group("llm_call");
    g.bench_function("bare", |b| b.iter(|| run(bare()).unwrap()));
    g.bench_function("hand_written", |b| b.iter(|| run(hand_written()).unwrap()));
    g.bench_function("llm_call/no_budget", |b| b.iter(|| run(metered()).unwrap()));
    g.bench_function("llm_call/budget", |b| {
        b.iter(|| run(metered_with_budget()).unwrap())
    });
    g.finish();
    assert!(MACRO_METER.totals()[0].calls > 0);
    assert!(BUDGET_METER.totals()[0].calls > 0);
}

criterion_group!(benches, llm_call);
criterion_main!(benches);
