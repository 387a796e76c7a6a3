//! One streamed chat completion over HTTP/1.1: a new connection per request (as vLLM's
//! client opens one per request), the body decoded by perf-llm's server-sent-event decoder
//! and timed event by event.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use perf_core::clock::Clock;
use perf_llm::sse::SseDecoder;

use crate::llm::error::{LlmError, RequestError};
use crate::llm::timing::{Event, RequestMetrics, StreamTiming};

/// Where the chat completions are: host, port and path, parsed from a URL once.
///
/// A URL without a path, or ending in `/v1`, gets `/v1/chat/completions` added.
///
/// ```
/// use perf_load::llm::Endpoint;
/// let e = Endpoint::parse("http://localhost:8000").unwrap();
/// assert_eq!(e.to_string(), "http://localhost:8000/v1/chat/completions");
/// assert!(Endpoint::parse("https://api.openai.com/v1").is_err());
/// assert!(Endpoint::parse("localhost:8000").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
    path: String,
}

impl Endpoint {
    /// Parses `url`: `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, LlmError> {
        let bad = |reason: &str| LlmError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.trim().parse().map_err(|e| bad(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(LlmError::HttpsUnsupported {
                    url: url.to_owned(),
                })
            }
            Some(other) => return Err(bad(&format!("scheme {other:?} is not http"))),
            None => return Err(bad("no scheme")),
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let path = match uri.path_and_query().map_or("", |p| p.as_str()) {
            "" | "/" => "/v1/chat/completions".to_owned(),
            p if p.trim_end_matches('/').ends_with("/v1") => {
                format!("{}/chat/completions", p.trim_end_matches('/'))
            }
            p => p.to_owned(),
        };
        Ok(Endpoint {
            host,
            port: uri.port_u16().unwrap_or(80),
            path,
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// What a request needs besides its body.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    pub(crate) api_key: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) clock: Clock,
}

/// Sends `body` and times its stream; every failure is a [`RequestError`], within the
/// timeout.
pub(crate) async fn stream_once(
    target: &Target,
    body: Bytes,
) -> Result<RequestMetrics, RequestError> {
    let start = target.clock.now_nanos();
    match tokio::time::timeout(target.timeout, exchange(target, body, start)).await {
        Ok(r) => r,
        Err(_) => Err(RequestError::Timeout(target.timeout)),
    }
}

async fn exchange(
    target: &Target,
    body: Bytes,
    start: u64,
) -> Result<RequestMetrics, RequestError> {
    let ep = &target.endpoint;
    let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
        .await
        .map_err(|source| RequestError::Connect {
            target: ep.authority(),
            source,
        })?;
    // Each event is a small write; Nagle's delay would shift the times being measured.
    let _ = tcp.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    // The connection task ends with the response; a stalled one ends when the timeout drops
    // `sender` and the body.
    tokio::spawn(conn);
    let mut req = hyper::Request::post(ep.path.as_str())
        .header(HOST, ep.authority())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "text/event-stream");
    if let Some(key) = &target.api_key {
        req = req.header(AUTHORIZATION, format!("Bearer {key}"));
    }
    let req = req
        .body(Full::new(body))
        .map_err(|e| RequestError::MalformedChunk(format!("cannot build the request: {e}")))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(RequestError::Status {
            status: status.as_u16(),
            body: body_start(resp.into_body()).await,
        });
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(ct) = content_type.filter(|ct| !ct.starts_with("text/event-stream")) {
        return Err(RequestError::NotEventStream {
            content_type: ct,
            body: body_start(resp.into_body()).await,
        });
    }
    let mut body = resp.into_body();
    let mut sse = SseDecoder::new();
    let mut timing = StreamTiming::new(start);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        // One clock read per frame: the events in it arrived together.
        let now = target.clock.now_nanos();
        for event in sse.feed(&data)? {
            if timing.on_data(now, &event.data)? == Event::Done {
                return timing.finish(now, false);
            }
        }
    }
    timing.finish(target.clock.now_nanos(), sse.has_partial())
}

/// The first 200 characters of an error body, for the error message.
async fn body_start(mut body: Incoming) -> String {
    let mut text = Vec::new();
    while text.len() < 200 {
        match body.frame().await {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    text.extend_from_slice(&d);
                }
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&text);
    text.chars().take(200).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_completed_or_refused() {
        let p = |u: &str| Endpoint::parse(u).map(|e| e.to_string());
        assert_eq!(
            p("http://127.0.0.1:9/v1").unwrap(),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert_eq!(
            p("http://h/v1/").unwrap(),
            "http://h:80/v1/chat/completions"
        );
        assert_eq!(
            p("http://[::1]:8000/custom/path").unwrap(),
            "http://[::1]:8000/custom/path"
        );
        for bad in [
            "",
            "not a url",
            "ftp://x/",
            "http://",
            "localhost:8000",
            "http:// x",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(LlmError::BadUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            Endpoint::parse("https://x"),
            Err(LlmError::HttpsUnsupported { .. })
        ));
    }
}
