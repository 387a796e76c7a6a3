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

mod future;
mod labels;
mod layer;
mod routes;
mod service;
#[cfg(test)]
mod tests;

pub use future::ResponseFuture;
pub use labels::OTHER_METHOD;
pub use layer::{RequestHead, RequestTimingLayer, UNMATCHED_ROUTE};
pub use service::RequestTiming;

pub use crate::names::HTTP_SERVER_REQUEST_DURATION;
