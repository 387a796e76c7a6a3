//! The one `llm_call` tracing event and its fields. In a test binary of its own: tracing's
//! callsite interest is process-wide, and a call recorded concurrently by another test with
//! no subscriber could race this test's scoped subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_llm::{LlmCall, LlmMeter, PriceTable};
use serde_json::json;

fn table() -> PriceTable {
    PriceTable::from_litellm_json(include_str!("fixtures/model_prices_sample.json")).unwrap()
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn one_llm_call_event_with_fields_and_no_text() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let response = json!({"id": "msg_1", "type": "message", "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "SECRET COMPLETION"}],
        "usage": {"input_tokens": 100, "cache_read_input_tokens": 5000,
                  "cache_creation_input_tokens": 1000, "output_tokens": 200}});
    tracing::subscriber::with_default(subscriber, || {
        LlmCall::new("anthropic", "claude-sonnet-4-20250514")
            .response(&response)
            .user("alice")
            .latency(Duration::from_millis(1500))
            .record_with(&LlmMeter::with_prices(table()));
    });
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(out.matches("llm_call").count(), 1, "{out}");
    for field in [
        "request_id=\"msg_1\"",
        "gen_ai_provider_name=anthropic",
        "gen_ai_request_model=claude-sonnet-4-20250514",
        "usage=\"reported\"",
        "input_tokens=6100",
        "output_tokens=200",
        "cache_read_tokens=5000",
        "cache_write_tokens=1000",
        "cost_usd=0.00855",
        "cache_savings_usd=0.01275",
        "latency_ms=1500",
        "status=\"ok\"",
        "user=\"alice\"",
    ] {
        assert!(out.contains(field), "missing {field} in {out}");
    }
    assert!(!out.contains("SECRET"), "{out}");
}
