//! A mock OpenAI-compatible streaming server on 127.0.0.1, for tests and demos: the first
//! token after a set time, then one chunk per set gap, the usage chunk if asked, and the
//! failures a real server shows (5xx, malformed events, cut connections, a capacity limit).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

/// How the mock fails, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MockFailure {
    /// It does not.
    #[default]
    None,
    /// Every request is answered with this status and a JSON error body.
    Status(u16),
    /// After the first content chunk, an event whose data is not JSON.
    MalformedEvent,
    /// After the first content chunk, the connection is closed mid-response.
    CutConnection,
    /// An `{"error": …}` event after the first content chunk, as vLLM sends on failure.
    ErrorEvent,
    /// A `200` with a plain JSON body, not an event stream.
    NotStreaming,
}

/// What the mock streams.
///
/// ```
/// use std::time::Duration;
/// let c = perf_load::llm::MockConfig::default();
/// assert_eq!((c.ttft, c.gap, c.chunks), (Duration::from_millis(50), Duration::from_millis(20), 10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// From the request to the first content chunk.
    pub ttft: Duration,
    /// Between content chunks.
    pub gap: Duration,
    /// Content chunks (one token each), fewer if the request's `max_tokens` is smaller.
    pub chunks: u32,
    /// Whether to send the usage chunk (when the request asks for it).
    pub usage: bool,
    /// How it fails.
    pub failure: MockFailure,
    /// Requests it serves at once; more wait for a free slot, so TTFT grows past it.
    pub capacity: Option<usize>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            ttft: Duration::from_millis(50),
            gap: Duration::from_millis(20),
            chunks: 10,
            usage: true,
            failure: MockFailure::None,
            capacity: None,
        }
    }
}

/// The running mock; it stops accepting when dropped.
///
/// ```
/// use perf_load::llm::{LlmBenchmark, MockConfig, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mock = MockServer::start(MockConfig { chunks: 3, ..MockConfig::default() }).await.unwrap();
/// let report = LlmBenchmark::new(&mock.url(), "mock").unwrap()
///     .concurrency([1]).requests(2).run(|_| {}).await.unwrap();
/// assert_eq!(report.levels[0].total_output_tokens, 6);
/// assert_eq!(mock.requests(), 2);
/// # }
/// ```
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    served: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    config: MockConfig,
    slots: Option<Arc<Semaphore>>,
    served: Arc<AtomicU64>,
}

impl MockServer {
    /// Starts the mock on 127.0.0.1, on a port the OS picks, on the current tokio runtime.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        Self::start_on_port(0, config).await
    }

    /// Starts the mock on 127.0.0.1:`port` (0: the OS picks), on the current tokio runtime.
    pub async fn start_on_port(port: u16, config: MockConfig) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let served = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            slots: config.capacity.map(|n| Arc::new(Semaphore::new(n))),
            config,
            served: served.clone(),
        });
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    // Out of file descriptors, say: wait rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        Ok(MockServer {
            addr,
            served,
            accept,
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/v1/chat/completions`.
    pub fn url(&self) -> String {
        format!("http://{}/v1/chat/completions", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

type Body = http_body_util::Either<Full<Bytes>, ChannelBody>;

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    shared.served.fetch_add(1, Ordering::Relaxed);
    let c = &shared.config;
    let body = match Limited::new(req.into_body(), 16 << 20).collect().await {
        Ok(b) => serde_json::from_slice::<Value>(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    match c.failure {
        MockFailure::Status(code) => {
            let status = hyper::StatusCode::from_u16(code)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            return plain(
                status,
                json!({"error": {"message": "mock failure", "code": code}}),
            );
        }
        MockFailure::NotStreaming => {
            return plain(
                hyper::StatusCode::OK,
                json!({"model": model, "choices": []}),
            );
        }
        _ => {}
    }
    let chunks = body["max_tokens"].as_u64().map_or(c.chunks, |m| {
        c.chunks.min(u32::try_from(m).unwrap_or(u32::MAX))
    });
    let usage = c.usage && body["stream_options"]["include_usage"] == json!(true);
    let prompt_words = body["messages"].as_array().map_or(0, |m| {
        m.iter()
            .map(|x| {
                x["content"]
                    .as_str()
                    .map_or(0, |s| s.split_whitespace().count())
            })
            .sum::<usize>()
    });
    let (tx, rx) = mpsc::channel(4);
    let plan = Plan {
        model,
        chunks,
        usage,
        prompt_tokens: prompt_words as u64,
        ttft: c.ttft,
        gap: c.gap,
        failure: c.failure,
    };
    let slots = shared.slots.clone();
    tokio::spawn(async move {
        // A request waits for a free slot, as on a server at capacity; headers are already out.
        let _slot = match &slots {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        plan.stream(tx).await;
    });
    let mut r = Response::new(http_body_util::Either::Right(ChannelBody(rx)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r
}

fn plain(status: hyper::StatusCode, v: Value) -> Response<Body> {
    let mut r = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(
        v.to_string(),
    ))));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// One response's stream.
struct Plan {
    model: String,
    chunks: u32,
    usage: bool,
    prompt_tokens: u64,
    ttft: Duration,
    gap: Duration,
    failure: MockFailure,
}

impl Plan {
    async fn stream(self, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) {
        let start = tokio::time::Instant::now();
        let event = |v: Value| Ok(Bytes::from(format!("data: {v}\n\n")));
        let chunk = |delta: Value, finish: Value| {
            event(
                json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                "model": self.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
            )
        };
        for i in 0..self.chunks {
            // Each chunk is due at an absolute time, so timer lateness never accumulates.
            tokio::time::sleep_until(start + self.ttft + self.gap * i).await;
            if i == 0
                && tx
                    .send(chunk(
                        json!({"role": "assistant", "content": ""}),
                        Value::Null,
                    ))
                    .await
                    .is_err()
            {
                return;
            }
            if tx
                .send(chunk(json!({"content": format!("tok{i} ")}), Value::Null))
                .await
                .is_err()
            {
                return;
            }
            let bad = match self.failure {
                MockFailure::MalformedEvent => {
                    Some(Ok(Bytes::from_static(b"data: {\"choices\": [\n\n")))
                }
                MockFailure::ErrorEvent => Some(event(
                    json!({"error": {"message": "mock ran out of memory", "code": 500}}),
                )),
                MockFailure::CutConnection => {
                    Some(Err(std::io::Error::other("mock cut the connection")))
                }
                _ => None,
            };
            if let Some(bad) = bad {
                let _ = tx.send(bad).await;
                return;
            }
        }
        let _ = tx.send(chunk(json!({}), json!("stop"))).await;
        if self.usage {
            let u = json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": self.chunks,
                "total_tokens": self.prompt_tokens + u64::from(self.chunks)});
            let _ = tx
                .send(event(
                    json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                "model": self.model, "choices": [], "usage": u}),
                ))
                .await;
        }
        let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
    }
}

/// A response body fed through a channel, frame by frame; an `Err` aborts the connection.
#[derive(Debug)]
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| b.map(Frame::data)))
    }
}
