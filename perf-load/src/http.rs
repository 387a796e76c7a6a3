//! [`HttpTarget`]: the HTTP/1.1 request a load run sends, on hyper's pooled client. A
//! status of 400 or more is an error, counted by its status.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::ConfigError;
use crate::target::Target;

/// Why one HTTP request failed. Its `Display` text is the kind the report groups by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server answered with a status of 400 or more.
    #[error("status {0}")]
    Status(u16),
    /// Nothing listens at the address (the target went away, or never came up).
    #[error("connection refused")]
    Refused,
    /// Connecting failed for another reason.
    #[error("connect: {0}")]
    Connect(String),
    /// The request or response broke off.
    #[error("{0}")]
    Transfer(String),
}

/// One HTTP request, sent again and again: method, URL, headers, body.
///
/// ```
/// use perf_load::HttpTarget;
///
/// let t = HttpTarget::new("http://127.0.0.1:8080/orders").unwrap()
///     .method("POST").unwrap()
///     .header("content-type: application/json").unwrap()
///     .body(r#"{"sku": 1}"#);
/// assert_eq!(t.url(), "http://127.0.0.1:8080/orders");
/// assert!(HttpTarget::new("ftp://example.invalid").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct HttpTarget {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

impl HttpTarget {
    /// A `GET` of `url` (`http://host:port/path`; HTTPS is not supported).
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Url {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported; use http://")),
            _ => return Err(bad("the URL must start with http://")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpTarget {
            client,
            uri,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    }

    /// The method: `GET`, `POST`, …
    pub fn method(mut self, method: &str) -> Result<Self, ConfigError> {
        self.method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| ConfigError::Header(format!("method {method}")))?;
        Ok(self)
    }

    /// Adds a header written `Name: value` (or `Name:value`).
    pub fn header(mut self, line: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError::Header(line.to_owned());
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The URL requested.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// Sends the request once and reads the whole response; returns the status.
    pub async fn send(&self) -> Result<u16, HttpError> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        let res = self.client.request(req).await.map_err(classify)?;
        let status = res.status().as_u16();
        // Reading the body to its end hands the connection back to the pool.
        res.into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Transfer(format!("reading the body: {e}")))?;
        if status >= 400 {
            Err(HttpError::Status(status))
        } else {
            Ok(status)
        }
    }
}

/// An `HttpTarget` is a [`Target`] itself: `OpenLoop::run(http_target)`.
impl Target for HttpTarget {
    type Output = u16;
    type Error = HttpError;
    type Call = Pin<Box<dyn Future<Output = Result<u16, HttpError>> + Send>>;

    fn call(&self) -> Self::Call {
        let this = self.clone();
        Box::pin(async move { this.send().await })
    }
}

fn classify(e: hyper_util::client::legacy::Error) -> HttpError {
    if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return HttpError::Refused;
                }
                return HttpError::Connect(io.kind().to_string());
            }
            source = s.source();
        }
        return HttpError::Connect(e.to_string());
    }
    let mut text = e.to_string();
    if let Some(s) = std::error::Error::source(&e) {
        text = format!("{text}: {s}");
    }
    HttpError::Transfer(text)
}
