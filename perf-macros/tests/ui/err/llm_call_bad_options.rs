#[perf_llm::llm_call(provider = "openai", modle = "gpt-4o")]
async fn unknown() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

#[perf_llm::llm_call(provider = "openai", budget = false, provider = "anthropic")]
async fn duplicate() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

#[perf_llm::llm_call(provider = openai, operation = "", budget = "no", crate = "perf")]
async fn wrong_types() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

fn main() {}
