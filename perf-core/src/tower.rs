//! Request timing for HTTP services: a [tower](https://docs.rs/tower) layer that times every
//! request a service answers and records it into perf's registry, labelled by `method`,
//! `route` and `status`, exported as `http_server_request_duration_seconds`.
//!
//! It is the request-timing middleware every web service starts with (the
//! `perf_counter()` around `call_next` of a FastAPI app), with the labels Prometheus users
//! query and bounded cardinality. It works with any `Service<http::Request<B>>` that answers
//! `http::Response<_>`: axum, hyper through `hyper-util`'s tower adapter, tonic.
//!
//! ```
//! use std::convert::Infallible;
//! use perf_core::tower::RequestTimingLayer;
//! use tower::{Layer, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let service = RequestTimingLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
//!     Ok::<_, Infallible>(http::Response::new("hello"))
//! }));
//! let request = http::Request::get("/hello").body(()).unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.into_body(), "hello");
//!
//! let s = perf_core::summary_with(
//!     "http_server_request_duration_seconds",
//!     &[("method", "GET"), ("route", "/hello"), ("status", "200")],
//! );
//! assert_eq!(s.unwrap().count, 1);
//! # });
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use http::{Extensions, HeaderMap, Method, Request, Response, Uri};
use pin_project::{pin_project, pinned_drop};
use thread_local::ThreadLocal;

use crate::cardinality::OVERFLOW;
use crate::clock::{self, Clock};
use crate::error::{check_metric_name, NameError};
use crate::histogram::LatencyHistogram;
use crate::names::{LABEL_METHOD, LABEL_ROUTE, LABEL_STATUS};
use crate::registry::Registry;

pub use crate::names::HTTP_SERVER_REQUEST_DURATION;

/// The default `route` label of a request the route extractor found no route for (with
/// axum: a request no route matched, answered by the fallback).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label of a method outside RFC 9110 and PATCH (OpenTelemetry's convention),
/// so a client sending made-up methods cannot grow the label without bound.
pub const OTHER_METHOD: &str = "_OTHER";

/// What a route extractor sees of a request: its head, borrowed, before the service runs.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request extensions (where routers leave the route they matched).
    pub extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// The head of `request`.
    ///
    /// ```
    /// use perf_core::tower::RequestHead;
    ///
    /// let request = http::Request::get("/users/7").body(()).unwrap();
    /// assert_eq!(RequestHead::of(&request).uri.path(), "/users/7");
    /// ```
    pub fn of<B>(request: &'a Request<B>) -> Self {
        RequestHead {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }
}

type RouteFn = dyn for<'a> Fn(RequestHead<'a>) -> Option<&'a str> + Send + Sync;

/// Configures request timing; [`layer`](tower::Layer::layer) it around a service.
///
/// * `method`: the request method, [`OTHER_METHOD`] for a non-standard one.
/// * `route`: by default the URI path. A path with ids in it (`/users/42`) makes one series
///   per id until the registry's cardinality limit (1000 values by default) folds further
///   paths into `__overflow__`; give the router's route template instead with
///   [`route_with`](Self::route_with) (for axum: `MatchedPath`, see there).
/// * `status`: the response's numeric status code; `error` when the service returned an
///   error instead of a response, `cancelled` when the response future was dropped before
///   it finished (the client went away, a timeout fired), `panic` when the service panicked.
///
/// The time is measured from the call of the service until its response future completes,
/// which is when the response head is ready: streaming the body afterwards is not included.
/// Histograms are looked up once per (method, route, status) and cached in the layer, so a
/// request takes no lock of the registry, only a shared read lock of that cache.
///
/// ```
/// use perf_core::tower::RequestTimingLayer;
///
/// // With axum, label requests by route template:
/// //     .route_with(|head| head.extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str()))
/// #[derive(Clone)]
/// struct MatchedRoute(&'static str);
///
/// let layer = RequestTimingLayer::new()
///     .route_with(|head| head.extensions.get::<MatchedRoute>().map(|r| r.0))
///     .unmatched_route("not_found");
/// ```
#[derive(Clone)]
pub struct RequestTimingLayer {
    metric: Cow<'static, str>,
    registry: &'static Registry,
    route: Option<Arc<RouteFn>>,
    unmatched: Cow<'static, str>,
    clock: Option<Clock>,
}

impl Default for RequestTimingLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RequestTimingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTimingLayer")
            .field("metric", &self.metric)
            .field("route_with", &self.route.is_some())
            .field("unmatched", &self.unmatched)
            .finish_non_exhaustive()
    }
}

impl RequestTimingLayer {
    /// Times requests into [`HTTP_SERVER_REQUEST_DURATION`] of the global registry, the
    /// route label being the URI path.
    pub fn new() -> Self {
        RequestTimingLayer {
            metric: Cow::Borrowed(HTTP_SERVER_REQUEST_DURATION),
            registry: Registry::global(),
            route: None,
            unmatched: Cow::Borrowed(UNMATCHED_ROUTE),
            clock: None,
        }
    }

    /// Reads the `route` label from the request head with `extract`; a request it returns
    /// `None` for is labelled with the [`unmatched_route`](Self::unmatched_route) value.
    ///
    /// ```
    /// use perf_core::tower::RequestTimingLayer;
    ///
    /// // Only the first path segment: `/users/42` and `/users/43` share `/users`.
    /// let layer = RequestTimingLayer::new().route_with(|head| {
    ///     let path = head.uri.path();
    ///     let end = path[1..].find('/').map_or(path.len(), |i| i + 1);
    ///     Some(&path[..end])
    /// });
    /// ```
    pub fn route_with<F>(mut self, extract: F) -> Self
    where
        F: for<'a> Fn(RequestHead<'a>) -> Option<&'a str> + Send + Sync + 'static,
    {
        self.route = Some(Arc::new(extract));
        self
    }

    /// The `route` label of requests the extractor found no route for (default
    /// [`UNMATCHED_ROUTE`]).
    ///
    /// ```
    /// let layer = perf_core::tower::RequestTimingLayer::new().unmatched_route("fallback");
    /// ```
    pub fn unmatched_route(mut self, label: impl Into<Cow<'static, str>>) -> Self {
        self.unmatched = label.into();
        self
    }

    /// Records under `name` instead of [`HTTP_SERVER_REQUEST_DURATION`].
    ///
    /// ```
    /// use perf_core::tower::RequestTimingLayer;
    ///
    /// let layer = RequestTimingLayer::new().metric_name("admin_request_duration_seconds").unwrap();
    /// assert!(RequestTimingLayer::new().metric_name("admin requests").is_err());
    /// ```
    pub fn metric_name(mut self, name: impl Into<Cow<'static, str>>) -> Result<Self, NameError> {
        let name = name.into();
        check_metric_name(&name)?;
        self.metric = name;
        Ok(self)
    }

    /// Records into `registry` instead of the global one (what the exporter serves).
    ///
    /// ```
    /// use perf_core::{tower::RequestTimingLayer, Registry};
    ///
    /// static REGISTRY: Registry = Registry::new();
    /// let layer = RequestTimingLayer::new().registry(&REGISTRY);
    /// ```
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Reads time from `clock` instead of perf's global clock (a manual clock in tests).
    ///
    /// ```
    /// use perf_core::{clock::Clock, tower::RequestTimingLayer};
    ///
    /// let (clock, _hand) = Clock::manual();
    /// let layer = RequestTimingLayer::new().clock(clock);
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }
}

impl<S> ::tower::Layer<S> for RequestTimingLayer {
    type Service = RequestTiming<S>;

    fn layer(&self, inner: S) -> RequestTiming<S> {
        RequestTiming {
            inner,
            shared: Arc::new(Shared {
                layer: self.clone(),
                routes: ThreadLocal::new(),
            }),
        }
    }
}

/// The service [`RequestTimingLayer`] wraps around `S`: calls `S` and times each request.
#[derive(Clone)]
pub struct RequestTiming<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for RequestTiming<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTiming")
            .field("layer", &self.shared.layer)
            .finish_non_exhaustive()
    }
}

impl<S> RequestTiming<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B, ResBody> ::tower::Service<Request<B>> for RequestTiming<S>
where
    S: ::tower::Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let start = self.shared.layer.now();
        let head = RequestHead::of(&request);
        let method = method_index(head.method);
        let route = self.shared.route_series(head);
        ResponseFuture {
            inner: self.inner.call(request),
            pending: Some(Pending {
                route,
                method,
                start,
            }),
        }
    }
}

/// The response future of [`RequestTiming`]: records the request when it completes, or
/// when it is dropped unfinished.
#[pin_project(PinnedDrop)]
pub struct ResponseFuture<F> {
    #[pin]
    inner: F,
    pending: Option<Pending>,
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("finished", &self.pending.is_none())
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(pending) = this.pending.take() {
            let status = match &result {
                Ok(response) => Status::Code(response.status().as_u16()),
                Err(_) => Status::Error,
            };
            pending.record(status);
        }
        Poll::Ready(result)
    }
}

#[pinned_drop]
impl<F> PinnedDrop for ResponseFuture<F> {
    fn drop(self: Pin<&mut Self>) {
        if let Some(pending) = self.project().pending.take() {
            let status = if std::thread::panicking() {
                Status::Panic
            } else {
                Status::Cancelled
            };
            pending.record(status);
        }
    }
}

/// A request under way: where it will be recorded, and when it started.
struct Pending {
    route: Arc<RouteSeries>,
    method: u8,
    start: u64,
}

impl Pending {
    fn record(self, status: Status) {
        let nanos = self.route.layer.now().saturating_sub(self.start);
        self.route.record(self.method, status, nanos);
    }
}

/// How a request ended: the `status` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Code(u16),
    Error,
    Cancelled,
    Panic,
}

impl Status {
    fn label(self) -> Cow<'static, str> {
        match self {
            Status::Code(code) => Cow::Owned(code.to_string()),
            Status::Error => Cow::Borrowed("error"),
            Status::Cancelled => Cow::Borrowed("cancelled"),
            Status::Panic => Cow::Borrowed("panic"),
        }
    }
}

const METHODS: [&str; 10] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    OTHER_METHOD,
];

fn method_index(method: &Method) -> u8 {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

/// What every clone of one layered service shares: the configuration and the cache of
/// histograms by route.
struct Shared {
    layer: RequestTimingLayer,
    /// One cache per thread, keyed by the route as extracted (so the hot path looks up a
    /// borrowed `&str`). Per thread so that a request writes nothing another thread reads:
    /// a shared map's lock word and a shared entry's reference count would bounce between
    /// cores on every request (with a shared map the layer added ~100 ns of wall time per
    /// request on two threads, ~60 ns with these; BENCHMARKS.md). A route past the
    /// cardinality limit is not inserted, so each map stays bounded; the histograms behind
    /// the entries are the registry's, one per series.
    routes: ThreadLocal<RefCell<HashMap<Box<str>, Arc<RouteSeries>>>>,
}

impl RequestTimingLayer {
    fn now(&self) -> u64 {
        match &self.clock {
            Some(c) => c.now_nanos(),
            None => clock::now_nanos(),
        }
    }
}

impl Shared {
    fn route_series(&self, head: RequestHead<'_>) -> Arc<RouteSeries> {
        let route = match &self.layer.route {
            Some(extract) => extract(head).unwrap_or(&self.layer.unmatched),
            None => head.uri.path(),
        };
        let cache = self.routes.get_or_default();
        if let Some(series) = cache.borrow().get(route) {
            return series.clone();
        }
        self.route_series_slow(cache, route)
    }

    #[cold]
    fn route_series_slow(
        &self,
        cache: &RefCell<HashMap<Box<str>, Arc<RouteSeries>>>,
        route: &str,
    ) -> Arc<RouteSeries> {
        // Idempotent: a route another thread admitted is admitted again here.
        let admitted =
            self.layer
                .registry
                .label_guard()
                .admit(&self.layer.metric, LABEL_ROUTE, route);
        // Past the limit, every new route shares the `__overflow__` entry, cached under that
        // name only: caching each raw route would grow the map without bound.
        let key = if admitted == OVERFLOW {
            OVERFLOW
        } else {
            route
        };
        cache
            .borrow_mut()
            .entry(key.into())
            .or_insert_with(|| {
                Arc::new(RouteSeries {
                    layer: self.layer.clone(),
                    route: admitted.into(),
                    histograms: RwLock::new(Vec::new()),
                })
            })
            .clone()
    }
}

/// The histograms of one route, by (method, status): a handful per route, so a short list.
/// One per route and thread (see [`Shared::routes`]); the histograms are shared.
struct RouteSeries {
    /// The configuration, so a request under way needs only its route's entry.
    layer: RequestTimingLayer,
    route: Box<str>,
    histograms: RwLock<Vec<(u8, Status, Arc<LatencyHistogram>)>>,
}

impl RouteSeries {
    /// Records one request; under the read lock, so no reference count is touched.
    fn record(&self, method: u8, status: Status, nanos: u64) {
        {
            let histograms = self.histograms.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, _, h)) = histograms
                .iter()
                .find(|(m, s, _)| *m == method && *s == status)
            {
                h.record_nanos(nanos);
                return;
            }
        }
        self.histogram_slow(method, status).record_nanos(nanos);
    }

    #[cold]
    fn histogram_slow(&self, method: u8, status: Status) -> Arc<LatencyHistogram> {
        let mut histograms = self.histograms.write().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, h)) = histograms
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            return h.clone();
        }
        let status_label = status.label();
        let labels = [
            (LABEL_METHOD, METHODS[usize::from(method)]),
            (LABEL_ROUTE, &*self.route),
            (LABEL_STATUS, &*status_label),
        ];
        // The name was checked when the layer was configured and the keys are constants,
        // so this cannot fail; a detached histogram keeps the request path panic-free anyway.
        let h = self
            .layer
            .registry
            .histogram(&self.layer.metric, &labels)
            .unwrap_or_else(|_| Arc::new(LatencyHistogram::new()));
        histograms.push((method, status, h.clone()));
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::time::Duration;

    use ::tower::{service_fn, Layer, Service, ServiceExt};

    use crate::clock::ManualClock;

    fn leak() -> &'static Registry {
        Box::leak(Box::new(Registry::new()))
    }

    fn manual() -> (Clock, ManualClock) {
        Clock::manual()
    }

    fn get(path: &str) -> Request<()> {
        Request::get(path).body(()).unwrap()
    }

    fn count(r: &Registry, labels: &[(&str, &str)]) -> u64 {
        r.summary_with(HTTP_SERVER_REQUEST_DURATION, labels)
            .map_or(0, |s| s.count)
    }

    #[tokio::test]
    async fn times_until_the_response_is_ready_with_method_route_status() {
        let registry = leak();
        let (clock, hand) = manual();
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .clock(clock)
            .layer(service_fn(move |req: Request<()>| {
                let hand = hand.clone();
                async move {
                    hand.advance(Duration::from_millis(7));
                    let mut resp = Response::new(());
                    if req.uri().path() == "/missing" {
                        *resp.status_mut() = http::StatusCode::NOT_FOUND;
                    }
                    Ok::<_, Infallible>(resp)
                }
            }));
        svc.clone().oneshot(get("/items")).await.unwrap();
        svc.clone().oneshot(get("/items")).await.unwrap();
        svc.clone().oneshot(get("/missing")).await.unwrap();
        svc.oneshot(Request::post("/items").body(()).unwrap())
            .await
            .unwrap();

        let ok = registry
            .summary_with(
                HTTP_SERVER_REQUEST_DURATION,
                &[("method", "GET"), ("route", "/items"), ("status", "200")],
            )
            .unwrap();
        assert_eq!(ok.count, 2);
        assert_eq!(ok.min, Duration::from_millis(7));
        assert_eq!(ok.max, Duration::from_millis(7));
        assert_eq!(
            count(registry, &[("route", "/missing"), ("status", "404")]),
            1
        );
        assert_eq!(count(registry, &[("method", "POST"), ("status", "200")]), 1);
        assert_eq!(count(registry, &[]), 4);
        // One series per (method, route, status), found again from the cache.
        assert_eq!(registry.series().len(), 3);
    }

    #[tokio::test]
    async fn a_service_error_is_status_error() {
        let registry = leak();
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .layer(service_fn(|_req: Request<()>| async {
                Err::<Response<()>, _>("backend down")
            }));
        assert_eq!(svc.oneshot(get("/x")).await.unwrap_err(), "backend down");
        assert_eq!(count(registry, &[("status", "error")]), 1);
    }

    #[test]
    fn a_dropped_request_is_cancelled_and_timed_until_the_drop() {
        let registry = leak();
        let (clock, hand) = manual();
        let mut svc = RequestTimingLayer::new()
            .registry(registry)
            .clock(clock)
            .layer(service_fn(|_req: Request<()>| {
                std::future::pending::<Result<Response<()>, Infallible>>()
            }));
        let mut fut = Box::pin(svc.call(get("/slow")));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        hand.advance(Duration::from_secs(3));
        drop(fut);
        let s = registry
            .summary_with(
                HTTP_SERVER_REQUEST_DURATION,
                &[("route", "/slow"), ("status", "cancelled")],
            )
            .unwrap();
        assert_eq!((s.count, s.max), (1, Duration::from_secs(3)));
    }

    #[test]
    fn a_panicking_service_is_status_panic() {
        let registry = leak();
        let mut svc = RequestTimingLayer::new()
            .registry(registry)
            .layer(service_fn(|_req: Request<()>| async {
                if true {
                    panic!("handler bug");
                }
                Ok::<Response<()>, Infallible>(Response::new(()))
            }));
        let fut = svc.call(get("/boom"));
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let mut fut = Box::pin(fut);
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = fut.as_mut().poll(&mut cx);
        }));
        assert!(unwound.is_err());
        assert_eq!(
            count(registry, &[("route", "/boom"), ("status", "panic")]),
            1
        );
    }

    #[derive(Clone)]
    struct Matched(&'static str);

    #[tokio::test]
    async fn route_comes_from_the_extractor_and_unmatched_requests_share_a_label() {
        let registry = leak();
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .route_with(|head| head.extensions.get::<Matched>().map(|m| m.0))
            .unmatched_route("fallback")
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        for id in 0..5 {
            let mut req = get(&format!("/users/{id}"));
            req.extensions_mut().insert(Matched("/users/{id}"));
            svc.clone().oneshot(req).await.unwrap();
        }
        svc.clone().oneshot(get("/wp-admin")).await.unwrap();
        svc.oneshot(get("/.env")).await.unwrap();
        assert_eq!(count(registry, &[("route", "/users/{id}")]), 5);
        assert_eq!(count(registry, &[("route", "fallback")]), 2);
        assert_eq!(registry.series().len(), 2);
    }

    #[tokio::test]
    async fn made_up_methods_are_folded_into_other() {
        let registry = leak();
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        for m in ["BREW", "PROPFIND", "DELETE"] {
            let req = Request::builder().method(m).uri("/pot").body(()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
        assert_eq!(count(registry, &[("method", OTHER_METHOD)]), 2);
        assert_eq!(count(registry, &[("method", "DELETE")]), 1);
    }

    #[tokio::test]
    async fn raw_paths_past_the_cardinality_limit_overflow_and_the_cache_stays_bounded() {
        let registry = leak();
        registry.label_guard().set_max(3);
        let layer = RequestTimingLayer::new().registry(registry);
        let svc = layer.layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(()))
        }));
        for i in 0..50 {
            svc.clone()
                .oneshot(get(&format!("/item/{i}")))
                .await
                .unwrap();
        }
        assert_eq!(count(registry, &[("route", "/item/0")]), 1);
        assert_eq!(count(registry, &[("route", "/item/2")]), 1);
        assert_eq!(count(registry, &[("route", OVERFLOW)]), 47);
        // A current-thread runtime: every request went through this thread's cache.
        let cached = svc.shared.routes.get().map(|c| c.borrow().len());
        assert_eq!(cached, Some(4));
    }

    #[test]
    fn threads_with_their_own_caches_record_into_the_same_series() {
        let registry = leak();
        registry.label_guard().set_max(2);
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let svc = svc.clone();
                scope.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        for _ in 0..100 {
                            svc.clone().oneshot(get("/a")).await.unwrap();
                            svc.clone().oneshot(get("/b")).await.unwrap();
                            // Past the limit of 2 routes whichever thread asks.
                            svc.clone().oneshot(get(&format!("/c{t}"))).await.unwrap();
                        }
                    });
                });
            }
        });
        assert_eq!(count(registry, &[("route", "/a")]), 400);
        assert_eq!(count(registry, &[("route", "/b")]), 400);
        assert_eq!(count(registry, &[("route", OVERFLOW)]), 400);
        assert_eq!(registry.series().len(), 3);
    }

    #[test]
    fn a_bad_metric_name_is_refused_when_configured() {
        let err = RequestTimingLayer::new()
            .metric_name("http-latency")
            .unwrap_err();
        assert_eq!(err, NameError::InvalidName("http-latency".into()));
    }

    #[tokio::test]
    async fn a_renamed_metric_is_exported_under_its_name() {
        let registry = leak();
        let svc = RequestTimingLayer::new()
            .registry(registry)
            .metric_name("admin_request_duration_seconds")
            .unwrap()
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        svc.oneshot(get("/admin")).await.unwrap();
        let text = crate::export::render(registry, &Default::default());
        assert!(
            text.contains(
                "admin_request_duration_seconds_count{method=\"GET\",route=\"/admin\",status=\"200\"} 1"
            ),
            "{text}"
        );
    }
}
