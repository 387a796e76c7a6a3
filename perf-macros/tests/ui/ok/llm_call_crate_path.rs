//! `crate = path` for a crate that reaches perf-llm only through a re-export (as
//! `crate = perf::llm` does with the `perf` facade): nothing names `::perf_llm` then.

mod facade {
    pub use perf_llm as llm;
}

use facade::llm::llm_call;

#[llm_call(crate = facade::llm, provider = "openai", model = "gpt-4o-mini")]
async fn ask() -> Result<serde_json::Value, facade::llm::BudgetExceeded> {
    Ok(serde_json::Value::Null)
}

fn main() {
    let _ = ask();
}
