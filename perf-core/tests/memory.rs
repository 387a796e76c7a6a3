//! Memory per histogram, as stated in the docs of `LatencyHistogram`.

use std::sync::Arc;

use perf_core::LatencyHistogram;

#[test]
fn an_empty_histogram_holds_no_shard() {
    let h = LatencyHistogram::new();
    assert!(h.memory_bytes() < 1024, "{}", h.memory_bytes());
}

#[test]
fn two_recording_threads_stay_under_32_kib() {
    const { assert!(LatencyHistogram::SHARD_BYTES <= 10 * 1024) };
    let h = Arc::new(LatencyHistogram::new());
    // Both threads alive at once, so each holds its own shard.
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (h, barrier) = (h.clone(), barrier.clone());
            std::thread::spawn(move || {
                h.record_nanos(1_000);
                barrier.wait();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let bytes = h.memory_bytes();
    assert!(bytes <= 32 * 1024, "two shards take {bytes} bytes");
    assert!(bytes >= 2 * LatencyHistogram::SHARD_BYTES, "{bytes}");
}

#[test]
fn memory_grows_by_one_shard_per_concurrent_thread() {
    let h = Arc::new(LatencyHistogram::new());
    let n = 4;
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (h, barrier) = (h.clone(), barrier.clone());
            std::thread::spawn(move || {
                h.record_nanos(1);
                // Keep every thread alive until all recorded, so none reuses another's shard.
                barrier.wait();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let bytes = h.memory_bytes();
    assert!(bytes >= n * LatencyHistogram::SHARD_BYTES, "{bytes}");
    assert!(bytes <= n * LatencyHistogram::SHARD_BYTES + 1024, "{bytes}");
}
