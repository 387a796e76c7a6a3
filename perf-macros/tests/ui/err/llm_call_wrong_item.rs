struct Client;

#[perf_llm::llm_call(provider = "openai")]
impl Client {
    async fn ask(&self) -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
        Ok(serde_json::Value::Null)
    }
}

#[perf_llm::llm_call(provider = "openai", model = 42)]
async fn model_not_a_string() -> Result<serde_json::Value, perf_llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

fn main() {}
