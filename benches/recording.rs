//! Cost of recording into perf's histograms, beside a bare clock pair in the same group so
//! results read as ratios. Run: `cargo bench --bench recording`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_time;
use perf::core::{clock, export, LatencyHistogram, Registry};

/// Runs `per_thread(iters)` on `threads` threads at once; returns the slowest thread's own
/// CPU time, so the result is the per-call cost each thread pays while the others record
/// too. CPU time, not wall time: cache-line contention between the threads stalls them and
/// is counted, while time a thread spends preempted by another process is not (on a 2-core
/// machine, wall time of two busy threads measures the scheduler more than the code).
fn on_threads<F>(threads: usize, iters: u64, per_thread: F) -> Duration
where
    F: Fn(u64) + Send + Sync + 'static,
{
    let f = Arc::new(per_thread);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, barrier) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let t = thread_cpu_time();
                f(iters);
                thread_cpu_time() - t
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap()
}

fn recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("recording");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));

    g.bench_function("instant_now_pair", |b| {
        b.iter(|| {
            let t = Instant::now();
            black_box(t.elapsed())
        })
    });
    g.bench_function("perf_clock_pair", |b| {
        b.iter(|| {
            let t = clock::now_nanos();
            black_box(clock::now_nanos() - t)
        })
    });

    let h = Arc::new(LatencyHistogram::new());
    g.bench_function("record/1_thread", |b| {
        let mut v = 1u64;
        b.iter(|| {
            v = v.wrapping_mul(6364136223846793005).wrapping_add(1);
            h.record_nanos(black_box(v >> 44));
        })
    });
    for threads in [1usize, 2] {
        let h = h.clone();
        g.bench_with_input(
            BenchmarkId::new("record/same_histogram_threads", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let h = h.clone();
                    on_threads(threads, iters, move |n| {
                        let mut v = 1u64;
                        for _ in 0..n {
                            v = v.wrapping_mul(6364136223846793005).wrapping_add(1);
                            h.record_nanos(black_box(v >> 44));
                        }
                    })
                })
            },
        );
    }

    // The path perf avoids: a cached `metrics::Histogram` handle into
    // metrics-exporter-prometheus, per call.
    let (recorder, _exporter) = export::prometheus().build().unwrap();
    let recorder: &'static _ = Box::leak(Box::new(recorder));
    let handle =
        metrics::with_local_recorder(recorder, || metrics::histogram!("bench_facade_seconds"));
    for threads in [1usize, 2] {
        let handle = handle.clone();
        g.bench_with_input(
            BenchmarkId::new("metrics_facade_histogram/threads", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let handle = handle.clone();
                    on_threads(threads, iters, move |n| {
                        for i in 0..n {
                            handle.record(black_box(i as f64 * 1e-9));
                        }
                    })
                })
            },
        );
    }

    g.bench_function("scope_timer", |b| {
        b.iter(|| {
            let _t = perf::time("bench_scope");
        })
    });
    g.finish();

    let mut g = c.benchmark_group("render");
    g.measurement_time(Duration::from_secs(3));
    let registry = Registry::new();
    for i in 0..1000 {
        let h = registry
            .histogram("bench_render_seconds", &[("endpoint", &format!("e{i}"))])
            .unwrap();
        for v in 0..100u64 {
            h.record_nanos(1_000 + v * 997 * (i + 1));
        }
    }
    let opts = export::RenderOptions::default();
    g.bench_function("exposition/1000_histograms", |b| {
        b.iter(|| black_box(export::render(&registry, &opts)))
    });
    // The same histograms as a protobuf scrape gets them: classic and native buckets.
    let native = export::NativeOptions::default();
    g.bench_function("protobuf/1000_histograms", |b| {
        b.iter(|| black_box(export::render_protobuf(&registry, &opts, &native)))
    });

    // The facade's series as a scrape gets them: text from metrics-exporter-prometheus, and
    // for protobuf that text read back into families. 500 counters and 500 histograms (19
    // classic buckets and `+Inf` each, 20 samples), alone in the exporter.
    static EMPTY: Registry = Registry::new();
    let (recorder, exporter) = export::prometheus().registry(&EMPTY).build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..500u64 {
            let endpoint = format!("e{i}");
            metrics::counter!("bench_facade_total", "endpoint" => endpoint.clone()).increment(i);
            let h = metrics::histogram!("bench_facade_seconds", "endpoint" => endpoint);
            for v in 0..20u64 {
                h.record((v + 1) as f64 * 0.001 * (i + 1) as f64);
            }
        }
    });
    g.bench_function("facade_text/1000_series", |b| {
        b.iter(|| black_box(exporter.render()))
    });
    g.bench_function("facade_protobuf/1000_series", |b| {
        b.iter(|| black_box(exporter.render_protobuf()))
    });
    g.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
