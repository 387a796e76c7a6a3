//! A local mock of an OpenAI-compatible and an Anthropic-like API for the examples, on
//! 127.0.0.1 with a port the OS picks: realistic usage JSON (cached prompt tokens, cache
//! writes, reasoning tokens), a server-sent-events stream, and the client calls that talk
//! to it, metered by perf-llm.

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
use perf::llm::sse::SseDecoder;
use perf::llm::stream::{openai_chat_usage, MeteredStream};
use perf::llm::{LlmCall, LlmMeter, TokenUsage};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// What the examples' clients return on failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The long system prompt every support question shares: the part the providers cache.
pub const SUPPORT_PROMPT: &str =
    "You are the support assistant of ACME. Policies: … (a long shared prompt)";

// ---------------------------------------------------------------- the mock provider

/// (model, system prompt) pairs the mock has seen: a second call with the same pair is
/// served from its "prompt cache", as the real providers do.
#[derive(Default, Clone)]
struct Mock {
    seen: Arc<Mutex<HashSet<String>>>,
}

impl Mock {
    fn first_time(&self, system: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(system.to_owned())
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

/// Starts the mock on 127.0.0.1 (port chosen by the OS) and returns its address; it serves
/// until the runtime shuts down.
pub async fn start_mock() -> Result<SocketAddr, BoxError> {
    let app = Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/messages", post(anthropic_messages))
        .with_state(Mock::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

// ---------------------------------------------------------------- the client side

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

/// One non-streamed support question to the mock at `addr` in the wire format of
/// `provider` (`"anthropic"`, else OpenAI's): the provider's JSON answer, usage included.
pub async fn complete(
    addr: SocketAddr,
    provider: &str,
    model: &str,
    question: &str,
) -> Result<Value, BoxError> {
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
    let resp = post_json(addr, path, &body).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

/// One streamed OpenAI-style call, metered chunk by chunk with `meter`: the call recorded
/// (time to first chunk, gaps between chunks, decode speed, usage) and the streamed text.
pub async fn chat_stream(
    addr: SocketAddr,
    meter: Arc<LlmMeter>,
    model: &str,
    question: &str,
) -> Result<(LlmCall, String), BoxError> {
    let body = json!({"model": model, "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": SUPPORT_PROMPT},
                     {"role": "user", "content": question}]});
    let call = LlmCall::new("openai", model.to_owned()).endpoint("/support/stream");
    let resp = post_json(addr, "/v1/chat/completions", &body).await?;
    // SSE events may be split across frames: perf-llm's decoder keeps the partial event.
    let mut sse = SseDecoder::new();
    let usage_of = move |chunk: &Result<Bytes, hyper::Error>| -> Option<TokenUsage> {
        let Ok(bytes) = chunk else { return None };
        let events = sse.feed(bytes).ok()?;
        // The last usage in the frame wins, as MeteredStream keeps the last one it is given.
        events
            .iter()
            .rev()
            .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
            .find_map(|v| openai_chat_usage(&v))
    };
    let metered =
        MeteredStream::new(resp.into_body().into_data_stream(), call, usage_of).meter(meter);
    let report = metered.report();
    let mut metered = std::pin::pin!(metered);
    let mut text = String::new();
    while let Some(chunk) = std::future::poll_fn(|cx| metered.as_mut().poll_next(cx)).await {
        text.push_str(&String::from_utf8_lossy(&chunk?));
    }
    let call = report.get().ok_or("stream ended without a report")?;
    Ok((call.clone(), text))
}
