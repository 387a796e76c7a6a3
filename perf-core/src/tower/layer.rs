//! [`RequestTimingLayer`]: what request timing is configured with (metric name, registry,
//! route extractor, clock), and the [`RequestHead`] a route extractor reads.

use std::borrow::Cow;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Request, Uri};

use crate::clock::{self, Clock};
use crate::error::{check_metric_name, NameError};
use crate::names::HTTP_SERVER_REQUEST_DURATION;
use crate::registry::Registry;

/// The default `route` label of a request the route extractor found no route for (with
/// axum: a request no route matched, answered by the fallback).
pub const UNMATCHED_ROUTE: &str = "unmatched";

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
/// * `method`: the request method, [`OTHER_METHOD`](super::OTHER_METHOD) for a non-standard one.
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
    pub(super) metric: Cow<'static, str>,
    pub(super) registry: &'static Registry,
    pub(super) route: Option<Arc<RouteFn>>,
    pub(super) unmatched: Cow<'static, str>,
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

impl RequestTimingLayer {
    /// Now, on the configured clock.
    pub(super) fn now(&self) -> u64 {
        match &self.clock {
            Some(c) => c.now_nanos(),
            None => clock::now_nanos(),
        }
    }
}
