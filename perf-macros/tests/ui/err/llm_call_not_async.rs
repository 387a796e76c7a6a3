#[perf_llm::llm_call(provider = "openai")]
fn ask() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

#[perf_llm::llm_call(provider = "openai")]
fn ready() -> impl std::future::Future<Output = Result<serde_json::Value, perf_llm::BudgetExceeded>> {
    std::future::ready(Ok(serde_json::Value::Null))
}

fn main() {}
