//! [`RequestTiming`]: the service a [`RequestTimingLayer`] wraps around another, which starts
//! the clock and looks up the request's series before calling it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use thread_local::ThreadLocal;

use super::future::{Pending, ResponseFuture};
use super::labels::method_index;
use super::layer::{RequestHead, RequestTimingLayer};
use super::routes::Shared;

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
    pub(super) shared: Arc<Shared>,
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
