//! Two threads calling at once, for the `2t` rows of the benches.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// `iters` calls of `call(i)` on each of two threads started together; the slower thread's
/// time, so the reported figure is the per-call time of a thread while the other one runs.
pub fn two_threads<F: Fn(u64) + Send + Copy + 'static>(iters: u64, call: F) -> Duration {
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for i in 0..iters {
                    call(i);
                }
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("bench thread panicked"))
        .max()
        .unwrap_or_default()
}
