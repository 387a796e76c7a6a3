//! What `#[timed]` costs per call, measured against its baselines in one group (the machine
//! is noisy, so only ratios within one run mean much):
//!
//! * `bare`: the fn without instrumentation;
//! * `timed`: the same fn under `#[timed]`;
//! * `instant_pair`: the fn between two `Instant::now()` reads, nothing recorded (the
//!   issue's yardstick: `#[timed]` may add at most this + 10 ns);
//! * `clock_pair`: the fn between two reads of perf's clock (quanta's TSC), which is what
//!   `#[timed]` reads: the rest of `timed` is the record;
//! * `instant_metrics`: the hand-written alternative, an `Instant` pair and a record into a
//!   cached `metrics::Histogram` handle of the Prometheus exporter;
//!
//! each sync and async (an `async fn` polled once to completion), on one thread and on two
//! threads at once (`2t`: per-call time of each thread while both run). The Prometheus
//! exporter is installed as the global `metrics` recorder throughout.
//!
//! `cargo bench --bench timed`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/two_threads.rs"]
mod two_threads;
use perf::timed;
use two_threads::two_threads;

#[inline(never)]
fn bare(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
}

#[timed]
#[inline(never)]
fn timed_sync(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
}

#[inline(never)]
fn instant_pair(x: u64) -> u64 {
    let t = Instant::now();
    let r = bare(x);
    black_box(t.elapsed());
    r
}

#[inline(never)]
fn clock_pair(x: u64) -> u64 {
    let t = perf_core::clock::now_nanos();
    let r = bare(x);
    black_box(perf_core::clock::now_nanos().wrapping_sub(t));
    r
}

fn hand_histogram() -> &'static metrics::Histogram {
    static H: OnceLock<metrics::Histogram> = OnceLock::new();
    H.get_or_init(|| metrics::histogram!("bench_hand_written_seconds"))
}

#[inline(never)]
fn instant_metrics(x: u64) -> u64 {
    let h = hand_histogram();
    let t = Instant::now();
    let r = bare(x);
    h.record(t.elapsed().as_secs_f64());
    r
}

#[inline(never)]
async fn bare_async(x: u64) -> u64 {
    bare(x)
}

#[timed]
#[inline(never)]
async fn timed_async(x: u64) -> u64 {
    bare(x)
}

#[inline(never)]
async fn instant_metrics_async(x: u64) -> u64 {
    let h = hand_histogram();
    let t = Instant::now();
    let r = bare(x);
    h.record(t.elapsed().as_secs_f64());
    r
}

/// One benched variant: its name and the call.
type Variant = (&'static str, fn(u64) -> u64);

/// Polls a future that completes at its first poll.
#[inline(always)]
fn run<F: Future<Output = u64>>(fut: F) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched futures never wait"),
    }
}

fn bench(c: &mut Criterion) {
    let exporter = perf_core::export::prometheus()
        .install()
        .expect("install the Prometheus recorder");
    let sync: [Variant; 5] = [
        ("bare", bare),
        ("timed", timed_sync),
        ("instant_pair", instant_pair),
        ("clock_pair", clock_pair),
        ("instant_metrics", instant_metrics),
    ];
    let asyncs: [Variant; 3] = [
        ("bare_async", |x| run(bare_async(x))),
        ("timed_async", |x| run(timed_async(x))),
        ("instant_metrics_async", |x| run(instant_metrics_async(x))),
    ];

    let mut g = c.benchmark_group("timed");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    for (name, f) in sync.iter().chain(asyncs.iter()) {
        let f = *f;
        let mut i = 0u64;
        g.bench_function(format!("{name}/1t"), |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                f(black_box(i))
            })
        });
        g.bench_function(format!("{name}/2t"), |b| {
            b.iter_custom(|iters| {
                two_threads(iters, move |i| {
                    black_box(f(black_box(i)));
                })
            })
        });
    }
    g.finish();

    // The timed fns really recorded, into their callsites (not through the facade).
    assert!(perf_core::summary("timed_sync").is_some_and(|s| s.count > 0));
    assert!(exporter.render().contains("bench_hand_written_seconds"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
