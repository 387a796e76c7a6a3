//! [`ResponseFuture`]: records a request when its response is ready, or as `cancelled` or
//! `panic` when it is dropped unfinished.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Response;
use pin_project::{pin_project, pinned_drop};

use super::labels::Status;
use super::routes::RouteSeries;

/// The response future of [`RequestTiming`](super::RequestTiming): records the request when
/// it completes, or when it is dropped unfinished.
#[pin_project(PinnedDrop)]
pub struct ResponseFuture<F> {
    #[pin]
    pub(super) inner: F,
    pub(super) pending: Option<Pending>,
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
pub(super) struct Pending {
    pub(super) route: Arc<RouteSeries>,
    pub(super) method: u8,
    pub(super) start: u64,
}

impl Pending {
    fn record(self, status: Status) {
        let nanos = self.route.layer.now().saturating_sub(self.start);
        self.route.record(self.method, status, nanos);
    }
}
