#[perf_llm::llm_call(provider = "openai")]
async fn ask() -> Result<serde_json::Value, std::io::Error> {
    Ok(serde_json::Value::Null)
}

fn main() {}
