//! Memory does not grow with run length: 10⁶ requests against an in-process target.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use perf_load::{OpenLoop, Schedule};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // The page size of Linux on x86-64 and aarch64 by default.
    pages * 4096
}

async fn run(n: u64, secs: u64) -> perf_load::Report {
    let i = Arc::new(AtomicU64::new(0));
    // One error in 7, each with its own message: the error tally must stay bounded too.
    let schedule = Schedule::constant((n / secs) as f64, Duration::from_secs(secs)).unwrap();
    OpenLoop::new(schedule)
        .run(move || {
            let k = i.fetch_add(1, Relaxed);
            async move {
                if k % 7 == 0 {
                    Err(format!("request {k} failed"))
                } else {
                    Ok(k)
                }
            }
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_requests_grow_rss_by_at_most_16_mib() {
    let warm = run(100_000, 1).await;
    assert_eq!(warm.requests + warm.dropped, 100_000);
    let before = rss_bytes();
    // 100,000 req/s: about what a debug build on a busy 2-core machine starts; requests it
    // cannot start in time are dropped at the in-flight cap, and counted.
    let report = run(1_000_000, 10).await;
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "{report}\nRSS grew by {:.1} MiB",
        grown as f64 / (1 << 20) as f64
    );
    assert_eq!(report.requests + report.dropped, 1_000_000);
    assert_eq!(report.latency.count, report.requests);
    assert_eq!(report.error_kinds.len(), perf_load::DEFAULT_TOP_ERRORS);
    assert_eq!(report.error_kinds[0].kind, perf_load::OTHER_KINDS);
    assert!(grown <= 16 << 20, "RSS grew by {grown} bytes");
}
