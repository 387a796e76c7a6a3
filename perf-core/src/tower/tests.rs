use std::convert::Infallible;
use std::future::Future;
use std::task::Context;
use std::time::Duration;

use ::tower::{service_fn, Layer, Service, ServiceExt};
use http::{Request, Response};

use super::*;
use crate::cardinality::OVERFLOW;
use crate::clock::{Clock, ManualClock};
use crate::{NameError, Registry};

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
