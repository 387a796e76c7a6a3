//! An LLM client metered by perf-llm, against a local mock of an OpenAI-compatible and an
//! Anthropic-like API (both on 127.0.0.1, port chosen by the OS). It sends chat calls with
//! prompt caching, one streamed call, repeated questions served by a response cache, and a
//! user who runs into a hard budget; then prints a cost table per model with cache savings.
//!
//! Run: `cargo run --example llm_client` (finishes by itself in about a second).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use perf::llm::budget::{Budget, BudgetKey, Budgets, Window};
use perf::llm::cache::{CacheKey, ResponseCache};
use perf::llm::{Decimal, LlmCall, LlmMeter, TokenUsage};
use serde_json::{json, Value};

#[path = "support/cost_table.rs"]
mod cost_table;
#[path = "support/mock_llm.rs"]
mod mock_llm;

use mock_llm::{BoxError, SUPPORT_PROMPT};

// ---------------------------------------------------------------- the metered client

struct Client {
    addr: SocketAddr,
    meter: Arc<LlmMeter>,
}

impl Client {
    /// One non-streamed call: admit on the budgets, send, meter the response (which settles
    /// the reservation to the call's exact cost, or frees it on an error).
    async fn chat(
        &self,
        provider: &'static str,
        model: &str,
        user: &str,
        question: &str,
    ) -> Result<Value, BoxError> {
        let pending = LlmCall::start(provider, model.to_owned())
            .user(user)
            .endpoint("/support");
        let held = self.meter.reserve_budget(&pending, None)?;
        match mock_llm::complete(self.addr, provider, model, question).await {
            Ok(v) => {
                self.meter.record_reserved(pending.response(&v), held);
                Ok(v)
            }
            Err(e) => {
                self.meter.record_reserved(pending.error("request"), held);
                Err(e)
            }
        }
    }

    /// One streamed call, metered chunk by chunk.
    async fn chat_stream(&self, model: &str, question: &str) -> Result<String, BoxError> {
        let (call, text) =
            mock_llm::chat_stream(self.addr, self.meter.clone(), model, question).await?;
        println!(
            "streamed {model}: time to first chunk {:?}, {} chunks, decode {:.0} tokens/s, usage {}",
            call.time_to_first_chunk.unwrap_or_default(),
            call.chunk_gaps.len() + 1,
            call.decode_tokens_per_second.unwrap_or(0.0),
            call.usage.as_str(),
        );
        Ok(text)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let exporter = perf::core::export::prometheus().install()?;
    let addr = mock_llm::start_mock().await?;
    println!("mock provider on http://{addr}");

    let meter = Arc::new(LlmMeter::new()); // built-in prices
    let budgets = Arc::new(Budgets::new());
    budgets.set(
        BudgetKey::user("trial-user"),
        Budget::new(Decimal::new(2, 2), Window::Day).hard(), // $0.02 a day
    );
    budgets.on_alert(|a| {
        println!(
            "budget alert: {} spent ${} of ${}",
            a.key,
            a.spent.normalize(),
            a.limit
        )
    });
    meter.set_budgets(budgets.clone());
    let client = Client {
        addr,
        meter: meter.clone(),
    };

    let questions = [
        "How do I reset my password?",
        "Where is my order 1234?",
        "Can I change the delivery address after ordering?",
    ];
    for q in questions {
        client.chat("openai", "gpt-4o", "alice", q).await?;
        client
            .chat("anthropic", "claude-sonnet-4", "bob", q)
            .await?;
    }
    client
        .chat(
            "openai",
            "o4-mini",
            "alice",
            "Plan a refund for a split shipment.",
        )
        .await?;
    client
        .chat("anthropic", "claude-3-5-haiku", "bob", "Say hello.")
        .await?;
    client
        .chat("anthropic", "claude-3-5-haiku", "bob", "Say goodbye.")
        .await?;
    client
        .chat_stream("gpt-4o", "Explain our return policy.")
        .await?;

    // The same FAQ asked again and again: answered once, then from the response cache.
    let cache: ResponseCache<Value> = ResponseCache::new(1000, Duration::from_secs(600));
    for _ in 0..5 {
        let q = "What are your opening hours?";
        let key = CacheKey::chat("gpt-4o-mini", &json!([SUPPORT_PROMPT, q]), &json!({}));
        if cache.get(&key).is_some() {
            continue;
        }
        let v = client.chat("openai", "gpt-4o-mini", "carol", q).await?;
        let cost = perf::llm::PriceTable::builtin()
            .cost("gpt-4o-mini", &TokenUsage::from_openai_chat(&v)?)?;
        cache.insert(key, v, cost.total);
    }
    let cs = cache.stats();
    println!(
        "response cache: {} hits, {} misses, saved ${}",
        cs.hits,
        cs.misses,
        cs.saved_usd.normalize()
    );

    // A trial user with a hard budget of $0.02 a day is refused before the call is sent.
    let mut sent = 0;
    loop {
        match client
            .chat("openai", "gpt-4o", "trial-user", "Write me a long essay.")
            .await
        {
            Ok(_) => sent += 1,
            Err(e) => {
                println!("trial-user refused after {sent} calls: {e}");
                break;
            }
        }
        if sent > 100 {
            return Err("the hard budget never refused".into());
        }
    }

    println!();
    cost_table::print_cost_table(&meter);
    println!("\nPrometheus (excerpt):");
    for line in exporter.render().lines() {
        if line.starts_with("gen_ai_client_cost_nano_usd_total") {
            println!("  {line}");
        }
    }
    Ok(())
}
