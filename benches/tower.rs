//! What `perf_core::tower::RequestTimingLayer` adds to one request: the same `service_fn`
//! called bare and behind the layer (histogram cached per method, route and status), on one
//! thread and on two threads calling the same layered service at once.
//!
//! `cargo bench --bench tower`

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use perf::core::tower::RequestTimingLayer;
use tower::{service_fn, Layer, Service};

/// Polls a future that is ready at once (the services here never wait).
fn ready<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched services answer at once"),
    }
}

fn handler(_req: Request<()>) -> std::future::Ready<Result<Response<()>, Infallible>> {
    std::future::ready(Ok(Response::new(())))
}

fn call<S>(svc: &mut S, path: &'static str) -> Response<()>
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    let req = Request::get(path).body(()).unwrap();
    ready(svc.call(black_box(req))).unwrap()
}

/// `iters` calls split over two threads, each with its own clone of `svc`; the wall time.
fn two_threads<S>(svc: &S, iters: u64) -> Duration
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible> + Clone + Send + 'static,
{
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let mut svc = svc.clone();
            scope.spawn(move || {
                for _ in 0..iters / 2 {
                    black_box(call(&mut svc, "/items"));
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tower_request");
    let mut bare = service_fn(handler);
    let mut timed = RequestTimingLayer::new().layer(service_fn(handler));
    call(&mut timed, "/items");
    g.bench_function("bare_service_fn", |b| b.iter(|| call(&mut bare, "/items")));
    g.bench_function("request_timing_layer", |b| {
        b.iter(|| call(&mut timed, "/items"))
    });
    g.bench_function("bare_service_fn_2_threads", |b| {
        b.iter_custom(|iters| two_threads(&bare, iters))
    });
    g.bench_function("request_timing_layer_2_threads", |b| {
        b.iter_custom(|iters| two_threads(&timed, iters))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
