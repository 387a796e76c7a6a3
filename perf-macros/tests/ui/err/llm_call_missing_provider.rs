#[perf_llm::llm_call]
async fn ask() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

#[perf_llm::llm_call(operation = "chat")]
async fn ask_again() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

fn main() {}
