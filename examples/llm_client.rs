//! An LLM client metered by perf-llm, against a local mock of an OpenAI-compatible and an
//! Anthropic-like API (both on 127.0.0.1, port chosen by the OS). It sends chat calls with
//! prompt caching, one streamed call, repeated questions served by a response cache, and a
//! user who runs into a hard budget; then prints a cost table per model with cache savings.
//!
//! Run: `cargo run --example llm_client` (finishes by itself in about a second).

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use axum::Router;
use futures_core::Stream;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use perf::llm::budget::{Budget, BudgetKey, Budgets, Window};
use perf::llm::cache::{CacheKey, ResponseCache};
use perf::llm::stream::{openai_chat_usage, MeteredStream};
use perf::llm::{Decimal, LlmCall, LlmMeter, TokenUsage};
use serde_json::{json, Value};
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------- the mock provider

/// (model, system prompt) pairs the mock has seen: a second call with the same pair is
/// served from its "prompt cache", as the real providers do.
#[derive(Default, Clone)]
struct Mock {
    seen: Arc<Mutex<HashSet<String>>>,
}

impl Mock {
    fn first_time(&self, system: &str) -> bool {
        self.seen.lock().unwrap().insert(system.to_owned())
    }
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// `POST /v1/chat/completions`, OpenAI's shape: `prompt_tokens` include `cached_tokens`.
async fn openai_chat(State(mock): State<Mock>, body: Bytes) -> axum::response::Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = req["model"].as_str().unwrap_or("gpt-4o").to_owned();
    let system = req["messages"][0]["content"].as_str().unwrap_or("");
    let user = req["messages"][1]["content"].as_str().unwrap_or("");
    // The long shared system prompt is 1,600 tokens; the first 1,536 are cacheable.
    let prompt = 1600 + 3 * words(user);
    let cached = if mock.first_time(&format!("{model}\n{system}")) {
        0
    } else {
        1536
    };
    let reasoning = if model.starts_with('o') { 400 } else { 0 };
    let completion = 150 + reasoning;
    let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning}});
    if req["stream"] == json!(true) {
        return stream_chat(model, usage);
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let resp = json!({"id": format!("chatcmpl-{}", prompt), "object": "chat.completion",
        "model": model, "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "A mock answer."}}],
        "usage": usage});
    json_response(resp)
}

/// A body whose frames arrive through a channel: the server side of a stream.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Server-sent events: the first token after 80 ms, then one every 15 ms, then the usage
/// chunk that `stream_options.include_usage` asks for.
fn stream_chat(model: String, usage: Value) -> axum::response::Response {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(80)).await;
        for i in 0..10 {
            let chunk = json!({"object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": {"content": format!("tok{i} ")}}], "usage": null});
            if tx
                .send(Bytes::from(format!("data: {chunk}\n\n")))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let last = json!({"object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage});
        let _ = tx
            .send(Bytes::from(format!("data: {last}\n\ndata: [DONE]\n\n")))
            .await;
    });
    axum::response::Response::builder()
        .header(CONTENT_TYPE, "text/event-stream")
        .body(Body::new(ChannelBody(rx)))
        .expect("static response parts")
}

/// `POST /v1/messages`, Anthropic's shape: `input_tokens` exclude cache reads and writes.
async fn anthropic_messages(State(mock): State<Mock>, body: Bytes) -> axum::response::Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = req["model"]
        .as_str()
        .unwrap_or("claude-sonnet-4")
        .to_owned();
    let system = req["system"].as_str().unwrap_or("");
    let user = req["messages"][0]["content"].as_str().unwrap_or("");
    let (write, read) = if mock.first_time(&format!("{model}\n{system}")) {
        (3000, 0)
    } else {
        (0, 3000)
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    json_response(
        json!({"id": "msg_mock", "type": "message", "role": "assistant",
        "model": model, "content": [{"type": "text", "text": "A mock answer."}],
        "usage": {"input_tokens": 40 + 3 * words(user), "cache_creation_input_tokens": write,
                  "cache_read_input_tokens": read, "output_tokens": 220}}),
    )
}

fn json_response(v: Value) -> axum::response::Response {
    axum::response::Response::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(v.to_string()))
        .expect("static response parts")
}

async fn start_mock() -> Result<SocketAddr, BoxError> {
    let app = Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/messages", post(anthropic_messages))
        .with_state(Mock::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

// ---------------------------------------------------------------- the metered client

async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &Value,
) -> Result<hyper::Response<hyper::body::Incoming>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header("host", addr.to_string())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    Ok(sender.send_request(req).await?)
}

struct Client {
    addr: SocketAddr,
    meter: Arc<LlmMeter>,
}

const SUPPORT_PROMPT: &str =
    "You are the support assistant of ACME. Policies: … (a long shared prompt)";

impl Client {
    /// One non-streamed call: budget check, send, meter the response.
    async fn chat(
        &self,
        provider: &'static str,
        model: &str,
        user: &str,
        question: &str,
    ) -> Result<Value, BoxError> {
        let pending = LlmCall::start(provider, model)
            .user(user)
            .endpoint("/support");
        self.meter.check_budget(&pending)?;
        let (path, body) = match provider {
            "anthropic" => (
                "/v1/messages",
                json!({"model": model, "max_tokens": 512,
                "system": SUPPORT_PROMPT, "messages": [{"role": "user", "content": question}]}),
            ),
            _ => (
                "/v1/chat/completions",
                json!({"model": model, "messages": [
                {"role": "system", "content": SUPPORT_PROMPT},
                {"role": "user", "content": question}]}),
            ),
        };
        let resp = post_json(self.addr, path, &body).await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                pending.error("connect").record_with(&self.meter);
                return Err(e);
            }
        };
        let bytes = resp.into_body().collect().await?.to_bytes();
        let v: Value = serde_json::from_slice(&bytes)?;
        pending.response(&v).record_with(&self.meter);
        Ok(v)
    }

    /// One streamed call, metered chunk by chunk.
    async fn chat_stream(&self, model: &str, question: &str) -> Result<String, BoxError> {
        let body = json!({"model": model, "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": SUPPORT_PROMPT},
                         {"role": "user", "content": question}]});
        let call = LlmCall::new("openai", model).endpoint("/support/stream");
        let resp = post_json(self.addr, "/v1/chat/completions", &body).await?;
        // SSE events may be split across frames: keep the partial line between chunks.
        let mut pending_line = String::new();
        let usage_of = move |chunk: &Result<Bytes, hyper::Error>| -> Option<TokenUsage> {
            let Ok(bytes) = chunk else { return None };
            pending_line.push_str(&String::from_utf8_lossy(bytes));
            let mut usage = None;
            while let Some(end) = pending_line.find('\n') {
                let line: String = pending_line.drain(..=end).collect();
                let Some(data) = line.trim().strip_prefix("data: ") else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<Value>(data) {
                    usage = openai_chat_usage(&v).or(usage);
                }
            }
            usage
        };
        let metered = MeteredStream::new(resp.into_body().into_data_stream(), call, usage_of)
            .meter(self.meter.clone());
        let report = metered.report();
        let mut metered = std::pin::pin!(metered);
        let mut text = String::new();
        while let Some(chunk) = std::future::poll_fn(|cx| metered.as_mut().poll_next(cx)).await {
            text.push_str(&String::from_utf8_lossy(&chunk?));
        }
        let call = report.get().ok_or("stream ended without a report")?;
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
    let addr = start_mock().await?;
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

    print_table(&meter);
    println!("\nPrometheus (excerpt):");
    for line in exporter.render().lines() {
        if line.starts_with("gen_ai_client_cost_nano_usd_total") {
            println!("  {line}");
        }
    }
    Ok(())
}

fn print_table(meter: &LlmMeter) {
    let totals = meter.totals();
    println!(
        "\n{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11} {:>11} {:>11}",
        "model", "calls", "input", "cached", "written", "output", "cost $", "uncached $", "saved $"
    );
    let mut sum = perf::llm::Cost::default();
    for t in &totals {
        println!(
            "{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11.6} {:>11.6} {:>11.6}",
            t.model,
            t.calls,
            t.usage.input,
            t.usage.cache_read,
            t.usage.cache_write,
            t.usage.output,
            t.cost.total_usd(),
            t.cost.without_cache.normalize(),
            t.cost.cache_savings_usd(),
        );
        sum += t.cost;
    }
    println!(
        "{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11.6} {:>11.6} {:>11.6}",
        "total",
        totals.iter().map(|t| t.calls).sum::<u64>(),
        "",
        "",
        "",
        "",
        sum.total_usd(),
        sum.without_cache.normalize(),
        sum.cache_savings_usd(),
    );
    println!(
        "(exact total: ${}; input counts include cached and written tokens)",
        sum.total.normalize()
    );
}
