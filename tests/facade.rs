//! The facade alone is enough: `#[perf::timed]` and `#[perf::llm_call]` expand to
//! `::perf::…` paths, and the re-exported names are where the docs say.

#[derive(Debug)]
struct AskError;

impl From<perf::llm::BudgetExceeded> for AskError {
    fn from(_: perf::llm::BudgetExceeded) -> Self {
        AskError
    }
}

#[perf::llm_call(provider = "openai", model = "gpt-4o-mini")]
async fn ask(prompt_tokens: u64) -> Result<serde_json::Value, AskError> {
    Ok(serde_json::json!({
        "model": "gpt-4o-mini",
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 10,
                  "prompt_tokens_details": {"cached_tokens": 0}}
    }))
}

#[perf::timed]
fn facade_timed_add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn macros_expand_through_the_facade() {
    assert_eq!(facade_timed_add(1, 2), 3);
    assert_eq!(perf::summary("facade_timed_add").unwrap().count, 1);

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(ask(1000)).unwrap();
    assert_eq!(perf::summary("ask").unwrap().count, 1);
    let totals = perf::llm::LlmMeter::global().totals();
    let mini = totals.iter().find(|t| t.model == "gpt-4o-mini").unwrap();
    assert_eq!((mini.usage.input, mini.usage.output), (1000, 10));
}
