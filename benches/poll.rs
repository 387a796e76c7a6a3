//! The cost of `perf_async`'s wrapper against a bare future and tokio-metrics'
//! `TaskMonitor::instrument`, each case in one group (the machine is noisy: compare within
//! the run).
//!
//! `cargo bench --bench poll`
//!
//! * Group `poll`: each iteration polls a future that is always `Pending` (the wrapper's
//!   work is the same for every poll; only a slow poll takes the cold path).
//!   `detect_blocking+watchdog` runs with a `Watchdog` started, to show what publishing
//!   polls to it costs.
//! * Group `short_future`: each iteration is the whole life of a future that is ready at its
//!   first poll (wrapped, polled once by a current-thread runtime's `block_on`, completed,
//!   dropped), the shape of most futures in a service. What a wrapper adds is its time
//!   minus `bare`'s. `by_hand/*` does the same without the runtime (polled once with a
//!   no-op waker): the same added work, without `block_on`'s few hundred noisy nanoseconds.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use perf_async::FutureExt;

fn poll(c: &mut Criterion) {
    let mut g = c.benchmark_group("poll");
    let mut cx = Context::from_waker(Waker::noop());

    g.bench_function("bare", |b| {
        let mut f = pin!(std::future::pending::<()>());
        b.iter(|| black_box(f.as_mut().poll(&mut cx)));
    });

    g.bench_function("detect_blocking", |b| {
        let mut f = pin!(std::future::pending::<()>().detect_blocking());
        b.iter(|| black_box(f.as_mut().poll(&mut cx)));
    });

    g.bench_function("tokio_metrics_instrument", |b| {
        let monitor = tokio_metrics::TaskMonitor::new();
        let mut f = pin!(monitor.instrument(std::future::pending::<()>()));
        b.iter(|| black_box(f.as_mut().poll(&mut cx)));
    });

    g.bench_function("detect_blocking+watchdog", |b| {
        let watchdog = perf_async::Watchdog::start().expect("no other watchdog in this bench");
        let mut f = pin!(std::future::pending::<()>().detect_blocking());
        b.iter(|| black_box(f.as_mut().poll(&mut cx)));
        watchdog.stop();
    });

    g.finish();
}

fn short_future(c: &mut Criterion) {
    let mut g = c.benchmark_group("short_future");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");

    g.bench_function("bare", |b| {
        b.iter(|| rt.block_on(async { black_box(1u32) }));
    });

    g.bench_function("detect_blocking", |b| {
        b.iter(|| rt.block_on(async { black_box(1u32) }.detect_blocking()));
    });

    g.bench_function("tokio_metrics_instrument", |b| {
        let monitor = tokio_metrics::TaskMonitor::new();
        b.iter(|| rt.block_on(monitor.instrument(async { black_box(1u32) })));
    });

    let mut cx = Context::from_waker(Waker::noop());
    g.bench_function("by_hand/bare", |b| {
        b.iter(|| black_box(pin!(async { black_box(1u32) }).poll(&mut cx)));
    });

    g.bench_function("by_hand/detect_blocking", |b| {
        b.iter(|| black_box(pin!(async { black_box(1u32) }.detect_blocking()).poll(&mut cx)));
    });

    g.bench_function("by_hand/tokio_metrics_instrument", |b| {
        let monitor = tokio_metrics::TaskMonitor::new();
        b.iter(|| black_box(pin!(monitor.instrument(async { black_box(1u32) })).poll(&mut cx)));
    });

    g.finish();
}

criterion_group!(benches, poll, short_future);
criterion_main!(benches);
