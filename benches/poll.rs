//! Per-poll cost of `perf_async`'s wrapper against a bare future and tokio-metrics'
//! `TaskMonitor::instrument`, in one group (the machine is noisy: compare within the run).
//!
//! `cargo bench --bench poll`
//!
//! Each iteration polls a future that is always `Pending` (the wrapper's work is the same
//! for every poll; only a slow poll takes the cold path). `detect_blocking+watchdog` runs
//! with a `Watchdog` started, to show what publishing polls to it costs.

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

criterion_group!(benches, poll);
criterion_main!(benches);
