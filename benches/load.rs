//! perf-load's open loop against a no-op hyper server on loopback: can it sustain 20,000
//! req/s with a generator lag p99 ≤ 1 ms? Next to it, in the same run: the server's
//! closed-loop capacity (16 users, no pause), the open loop with tokio's millisecond timer as
//! its pacer, how late the OS wakes a sleeping thread meanwhile (the machine's own floor for
//! any generator's lag) and, when installed, `oha` at the same rate.
//!
//! `cargo bench --bench load` (a bench binary, not criterion: one long run per subject is
//! the measurement; criterion's repeated short samples would measure warm-up instead).
//! `PERF_LOAD_BENCH_RATE` and `PERF_LOAD_BENCH_SECS` change the rate and length.

use std::convert::Infallible;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use perf::core::{format_duration, LatencyHistogram, LatencySummary};
use perf::load::{ClosedLoop, HttpTarget, OpenLoop, Pacer, Report};

/// A no-op server on its own thread and one-worker runtime, so the generator under test
/// does not share a scheduler with it.
fn noop_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    addr
}

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn row(name: &str, r: &Report) {
    println!(
        "{name:<34} {:>10.0} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        r.achieved_rate,
        format_duration(r.latency.p50),
        format_duration(r.latency.p99),
        format_duration(r.service_time.p99),
        format_duration(r.lag.p50),
        format_duration(r.lag.p99),
        r.late,
        r.dropped + r.errors,
    );
}

/// How late a thread that sleeps 1 ms at a time wakes, while `f` runs: what the OS alone
/// adds to any pacer's wake on this machine right now.
async fn with_wake_lateness<T>(f: impl std::future::Future<Output = T>) -> (T, LatencySummary) {
    let stop = Arc::new(AtomicBool::new(false));
    let hist = Arc::new(LatencyHistogram::new());
    let sleeper = {
        let (stop, hist) = (Arc::clone(&stop), Arc::clone(&hist));
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                hist.record(t.elapsed().saturating_sub(Duration::from_millis(1)));
            }
        })
    };
    let out = f.await;
    stop.store(true, Relaxed);
    sleeper.join().unwrap();
    (out, hist.summary())
}

/// oha at `rate` for `secs`, with its own coordinated-omission correction; `None` when oha
/// is not installed.
fn oha(url: &str, rate: f64, secs: f64) -> Option<serde_json::Value> {
    let out = Command::new("oha")
        .args([
            url,
            "-z",
            &format!("{secs}s"),
            "-q",
            &format!("{rate}"),
            "-c",
            "64",
            "--latency-correction",
            "--no-tui",
            "--output-format",
            "json",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("oha failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches` ask; nothing to list.
    }
    let rate = env_or("PERF_LOAD_BENCH_RATE", 20_000.0);
    let secs = env_or("PERF_LOAD_BENCH_SECS", 10.0);
    let addr = noop_server();
    let url = format!("http://{addr}/");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // 64 connections, as oha's `-c 64` below.
    let target = HttpTarget::new(&url).unwrap().connections(64);
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "subject", "req/s", "p50", "p99", "svc p99", "lag p50", "lag p99", "late", "lost"
    );
    rt.block_on(async {
        // Warm the connection pool and the server.
        let _ = OpenLoop::constant(2_000.0, Duration::from_secs(1)).unwrap().run(target.clone()).await;
        let capacity = ClosedLoop::new(16, Duration::from_secs_f64(secs))
            .unwrap()
            .run(target.clone())
            .await;
        row("closed loop, 16 users (capacity)", &capacity);
        let run = |pacer| {
            let (open, target) = (
                OpenLoop::constant(rate, Duration::from_secs_f64(secs))
                    .unwrap()
                    .pacer(pacer),
                target.clone(),
            );
            async move { open.run(target).await }
        };
        let timer = run(Pacer::Timer).await;
        row(&format!("open loop {rate:.0}/s, timer pacer"), &timer);
        let (open, floor) = with_wake_lateness(run(Pacer::Precise)).await;
        row(&format!("perf-load open loop {rate:.0}/s"), &open);
        println!(
            "{:<34} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "OS: 1 ms sleep wakes late by",
            "",
            "",
            "",
            "",
            format_duration(floor.p50),
            format_duration(floor.p99),
        );
        println!(
            "\nopen loop: {:.0} of {rate:.0} req/s ({:.1}% of target, {:.2}× the closed-loop capacity), \
             generator lag p99 {} ({}), {} late of {}",
            open.achieved_rate,
            100.0 * open.achieved_rate / rate,
            open.achieved_rate / capacity.achieved_rate.max(1.0),
            format_duration(open.lag.p99),
            if open.lag.p99 <= Duration::from_millis(1) { "≤ 1 ms" } else { "> 1 ms" },
            open.late,
            open.requests
        );
    });
    match oha(&url, rate, secs) {
        None => println!("oha: not installed (cargo install oha); no peer run"),
        Some(v) => {
            let ms = |k: &str| v["latencyPercentiles"][k].as_f64().unwrap_or(f64::NAN) * 1e3;
            println!(
                "oha -q {rate:.0} -c 64 --latency-correction: {:.0} req/s, p50 {:.3}ms, p99 {:.3}ms, success rate {}",
                v["summary"]["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
                ms("p50"),
                ms("p99"),
                v["summary"]["successRate"]
            );
        }
    }
}
