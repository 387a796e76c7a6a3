//! Recording from many threads at once loses nothing.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use perf_core::LatencyHistogram;

#[test]
fn two_threads_record_a_million_each_and_read_back_exactly_two_million() {
    let h = Arc::new(LatencyHistogram::new());
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let (h, start) = (h.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..1_000_000u64 {
                    h.record_nanos(1 + (i + t) % 50_000);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = h.summary();
    assert_eq!(s.count, 2_000_000);
    assert_eq!(h.snapshot().count(), 2_000_000);
}

#[test]
fn reads_while_writing_see_a_growing_count_and_end_exact() {
    let h = Arc::new(LatencyHistogram::new());
    let writer = {
        let h = h.clone();
        std::thread::spawn(move || {
            for i in 0..200_000u64 {
                h.record_nanos(i % 1000);
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let c = h.count();
        assert!(c >= last, "count went back from {last} to {c}");
        last = c;
    }
    writer.join().unwrap();
    assert_eq!(h.count(), 200_000);
}

#[test]
fn a_shard_outlives_its_thread() {
    let h = Arc::new(LatencyHistogram::new());
    for _ in 0..4 {
        let h = h.clone();
        std::thread::spawn(move || h.record(Duration::from_micros(7)))
            .join()
            .unwrap();
    }
    assert_eq!(h.count(), 4);
}

#[test]
fn reset_while_recording_keeps_or_drops_each_sample_whole() {
    const VALUE: u64 = 1_000;
    let h = Arc::new(LatencyHistogram::new());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let start = Arc::new(Barrier::new(2));
    let writer = {
        let (h, done, start) = (h.clone(), done.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut n = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                h.record_nanos(VALUE);
                n += 1;
            }
            n
        })
    };
    start.wait();
    // Every snapshot, during recording too, holds each sample with both its count and its
    // sum; a torn read shows as a sum that is not `count * VALUE`.
    let mut torn = 0;
    for _ in 0..2_000 {
        h.reset();
        let s = h.snapshot();
        if s.sum_nanos() != s.count() * VALUE {
            torn += 1;
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let recorded = writer.join().unwrap();
    // A torn baseline never heals: it stays in every snapshot after the writer stopped.
    let s = h.snapshot();
    assert!(s.count() <= recorded, "{} > {recorded}", s.count());
    assert_eq!(s.sum_nanos(), s.count() * VALUE, "count {}", s.count());
    assert_eq!(
        torn, 0,
        "torn snapshots of 2,000, writer recorded {recorded}"
    );
}
