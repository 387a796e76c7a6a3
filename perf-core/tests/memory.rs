//! Memory the histograms really take, read from the process' resident set
//! (`/proc/self/statm`), not computed from a formula.

use std::sync::{Arc, Barrier};

use perf_core::LatencyHistogram;

/// Resident bytes of this process now.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * page_size()
}

/// The kernel's page size, from the first mapping's `KernelPageSize` in `/proc/self/smaps`.
fn page_size() -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let kb: u64 = smaps
        .lines()
        .find_map(|l| l.strip_prefix("KernelPageSize:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("smaps lists KernelPageSize in kB");
    kb * 1024
}

#[test]
fn an_empty_histogram_holds_no_shard() {
    let h = LatencyHistogram::new();
    assert!(h.memory_bytes() < 1024, "{}", h.memory_bytes());
}

/// A service whose 1,000-thread blocking pool calls 100 timed functions once each: every
/// thread stays alive until all have recorded, so no thread inherits another's shard.
#[test]
fn a_thousand_threads_recording_once_into_a_hundred_histograms_grow_rss_by_at_most_64_mib() {
    const THREADS: usize = 1_000;
    const BATCH: usize = 100;
    const HISTOGRAMS: usize = 100;
    let histograms: Arc<Vec<LatencyHistogram>> =
        Arc::new((0..HISTOGRAMS).map(|_| LatencyHistogram::new()).collect());
    let before = rss_bytes();

    let all_recorded = Arc::new(Barrier::new(THREADS + 1));
    let mut threads = Vec::with_capacity(THREADS);
    for batch in 0..THREADS / BATCH {
        // Spawning in batches bounds how many threads start at once.
        let batch_recorded = Arc::new(Barrier::new(BATCH + 1));
        for t in 0..BATCH {
            let (histograms, batch_recorded, all_recorded) = (
                histograms.clone(),
                batch_recorded.clone(),
                all_recorded.clone(),
            );
            let nanos = 50_000 + (batch * BATCH + t) as u64;
            let thread = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    for h in histograms.iter() {
                        h.record_nanos(nanos);
                    }
                    batch_recorded.wait();
                    all_recorded.wait();
                })
                .expect("spawn a recording thread");
            threads.push(thread);
        }
        batch_recorded.wait();
    }
    all_recorded.wait();
    for t in threads {
        t.join().unwrap();
    }

    let grown = rss_bytes().saturating_sub(before);
    eprintln!("RSS grew by {} KiB", grown >> 10);
    for h in histograms.iter() {
        assert_eq!(h.count(), THREADS as u64);
    }
    assert!(
        grown <= 64 << 20,
        "RSS grew by {:.1} MiB for {THREADS} threads x {HISTOGRAMS} histograms",
        grown as f64 / (1 << 20) as f64
    );
}
