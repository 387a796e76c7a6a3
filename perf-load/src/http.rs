//! [`HttpTarget`]: the HTTP/1.1 request a load run sends, on a bounded pool of kept-alive
//! connections (`connections`). A status of 400 or more is an error, counted by its status.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;

use crate::connections::{Connections, HttpError};
use crate::error::ConfigError;
use crate::target::Target;

/// Connections an [`HttpTarget`] opens at most, unless [`HttpTarget::connections`] says
/// otherwise: enough that a pool this size is not what limits a run (Little's law: 20,000
/// req/s at 50 ms each is 1,000 in flight), few enough that a stall cannot make the generator
/// open connections without end.
pub const DEFAULT_CONNECTIONS: usize = 1_024;

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
    request: Arc<RequestSpec>,
    connections: Arc<Connections>,
}

/// What each request repeats. `path` is the URL's origin form (`/p?q`), what HTTP/1.1 sends
/// on a connection to the host; the `Host` header carries the rest.
#[derive(Clone, Debug)]
struct RequestSpec {
    uri: Uri,
    path: Uri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

impl HttpTarget {
    /// A `GET` of `url` (`http://host:port/path`; HTTPS is not supported), on at most
    /// [`DEFAULT_CONNECTIONS`] connections.
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
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(bad("the URL has no host"));
        };
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| bad("the host is not a valid Host header"))?;
        let path: Uri = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, host_header);
        Ok(HttpTarget {
            request: Arc::new(RequestSpec {
                uri,
                path,
                method: Method::GET,
                headers,
                body: Bytes::new(),
            }),
            connections: Arc::new(Connections::new(addr, DEFAULT_CONNECTIONS)),
        })
    }

    /// At most `n` connections at once (wrk2's and oha's `-c`; raised to 1 if 0). A request
    /// that finds all `n` busy waits for one, and that wait counts in its latency, which is
    /// measured from its intended start. Each connection is kept alive and reused.
    ///
    /// ```
    /// let t = perf_load::HttpTarget::new("http://127.0.0.1:8080/").unwrap().connections(64);
    /// assert_eq!(t.max_connections(), 64);
    /// ```
    pub fn connections(mut self, n: usize) -> Self {
        let addr = self.connections.addr().to_owned();
        self.connections = Arc::new(Connections::new(addr, n));
        self
    }

    /// The most connections this target opens at once.
    pub fn max_connections(&self) -> usize {
        self.connections.limit()
    }

    /// The method: `GET`, `POST`, …
    pub fn method(mut self, method: &str) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.request).method =
            Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| ConfigError::Header(format!("method {method}")))?;
        Ok(self)
    }

    /// Adds a header written `Name: value` (or `Name:value`). A `Host` header replaces the
    /// one taken from the URL.
    pub fn header(mut self, line: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError::Header(line.to_owned());
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        let headers = &mut Arc::make_mut(&mut self.request).headers;
        if name == HOST {
            headers.insert(name, value);
        } else {
            headers.append(name, value);
        }
        Ok(self)
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        Arc::make_mut(&mut self.request).body = body.into();
        self
    }

    /// The URL requested.
    pub fn url(&self) -> String {
        self.request.uri.to_string()
    }

    /// Sends the request once and reads the whole response; returns the status.
    pub async fn send(&self) -> Result<u16, HttpError> {
        let spec = &*self.request;
        let mut req = Request::new(Full::new(spec.body.clone()));
        *req.method_mut() = spec.method.clone();
        *req.uri_mut() = spec.path.clone();
        *req.headers_mut() = spec.headers.clone();
        self.connections.exchange(req).await
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
