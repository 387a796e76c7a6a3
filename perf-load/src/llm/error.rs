//! What can go wrong: [`LlmError`] stops a benchmark before it starts (a bad URL, no
//! levels, a bad prompt file); [`RequestError`] is one failed request, counted in its level.

use std::time::Duration;

use perf_llm::sse::SseError;
use perf_llm::UsageError;
use thiserror::Error;

/// A benchmark that cannot run as configured. Nothing was sent.
#[derive(Debug, Error)]
pub enum LlmError {
    /// The URL does not parse, or lacks a host.
    #[error("bad URL {url:?}: {reason}; give one like http://127.0.0.1:8000/v1/chat/completions")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `https://` URL: this client speaks plain HTTP/1.1 only.
    #[error("{url:?} is https, which this benchmark does not speak; benchmark the server's plain http port (it measures the server, not TLS)")]
    HttpsUnsupported {
        /// The URL as given.
        url: String,
    },
    /// No concurrency levels or rates were given.
    #[error("no levels to run; give at least one concurrency (1,2,4) or request rate")]
    NoLevels,
    /// A concurrency of 0, or a rate that is not a positive finite number.
    #[error("bad level {0}: a concurrency must be at least 1 and a rate a positive number of requests per second")]
    BadLevel(String),
    /// Zero requests per level.
    #[error("zero requests per level; give --requests 1 or more")]
    NoRequests,
    /// `max_tokens` of zero: the server would stream nothing to time.
    #[error("max_tokens is 0; give 1 or more so there are tokens to time")]
    NoOutputTokens,
    /// A prompt file line that is not a prompt.
    #[error("prompt file line {line}: {reason}; each line is {{\"prompt\": \"…\"}} or {{\"messages\": [...]}}, with an optional \"max_tokens\"")]
    BadPrompt {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The prompt file holds no prompt.
    #[error("the prompt file holds no prompt; give one JSON object per line")]
    NoPrompts,
    /// A prompt file that cannot be read.
    #[error("cannot read the prompt file {path}: {source}")]
    PromptFile {
        /// The path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An SLO limit that does not parse as a duration, or is zero.
    #[error("bad SLO limit {0:?}: give a positive duration such as 500ms or 2s")]
    BadLimit(String),
    /// The async runtime could not start (`run_blocking`).
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// One request that failed. Counted in its level's `errors`, grouped by [`kind`](Self::kind).
#[derive(Debug, Error)]
pub enum RequestError {
    /// The TCP connection failed (refused, unreachable, name not resolved).
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port`.
        target: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP exchange failed (connection closed mid-response, not HTTP).
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    /// The server answered with a status other than 2xx.
    #[error("the server answered {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A 2xx answer that is not an event stream: the server ignored `stream: true`.
    #[error(
        "the answer is {content_type}, not text/event-stream (does the server stream?): {body}"
    )]
    NotEventStream {
        /// Its Content-Type.
        content_type: String,
        /// The start of the body.
        body: String,
    },
    /// No answer within the request timeout.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The body is not a server-sent event stream.
    #[error(transparent)]
    Sse(#[from] SseError),
    /// An event whose data is not a chat completion chunk.
    #[error("malformed stream chunk: {0}")]
    MalformedChunk(String),
    /// The server sent an `error` object in the stream.
    #[error("the server sent an error in the stream: {0}")]
    ErrorEvent(String),
    /// The usage chunk is malformed.
    #[error("malformed usage chunk: {0}")]
    BadUsage(#[from] UsageError),
    /// The stream ended without a single content chunk.
    #[error("the stream ended without content")]
    NoContent,
    /// The stream ended inside an event.
    #[error("the stream ended inside an event")]
    Cut,
}

impl RequestError {
    /// A short, stable name to group errors by in a report (`"status 500"`, `"connect"`, …).
    ///
    /// ```
    /// use perf_load::llm::RequestError;
    /// let e = RequestError::Status { status: 503, body: String::new() };
    /// assert_eq!(e.kind(), "status 503");
    /// ```
    pub fn kind(&self) -> String {
        match self {
            RequestError::Connect { source, .. } => match source.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                _ => "connect".into(),
            },
            RequestError::Http(_) => "http".into(),
            RequestError::Status { status, .. } => format!("status {status}"),
            RequestError::NotEventStream { .. } => "not an event stream".into(),
            RequestError::Timeout(_) => "timeout".into(),
            RequestError::Sse(_) => "bad event stream".into(),
            RequestError::MalformedChunk(_) => "malformed chunk".into(),
            RequestError::ErrorEvent(_) => "error event".into(),
            RequestError::BadUsage(_) => "bad usage".into(),
            RequestError::NoContent => "no content".into(),
            RequestError::Cut => "cut mid-event".into(),
        }
    }
}
