#[perf_llm::llm_call(provider = "openai")]
async fn not_a_result() -> serde_json::Value {
    serde_json::Value::Null
}

#[perf_llm::llm_call(provider = "openai")]
async fn not_a_response() -> Result<String, perf_llm::BudgetExceeded> {
    Ok(String::new())
}

/// Without the budget check, the same error comes from recording the result.
#[perf_llm::llm_call(provider = "openai", budget = false)]
async fn unchecked() -> std::io::Result<Vec<u8>> {
    Ok(Vec::new())
}

fn main() {}
