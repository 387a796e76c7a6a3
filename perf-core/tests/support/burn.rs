//! A CPU burner known by name, on a thread of its own, for the profile tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Pure arithmetic with no calls, even in a debug build (no range iterator), so its
/// samples land in itself.
#[inline(never)]
pub fn burn_cpu(stop: &AtomicBool) -> u64 {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    while !stop.load(Ordering::Relaxed) {
        let mut i = 0;
        while i < 10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            i += 1;
        }
    }
    x
}

/// Runs `work` on a thread of its own until dropped.
pub struct Background(Arc<AtomicBool>, Option<JoinHandle<u64>>);

/// Starts `work` on a new thread; it stops when the returned value drops.
pub fn in_background(work: fn(&AtomicBool) -> u64) -> Background {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = std::thread::spawn({
        let stop = stop.clone();
        move || work(&stop)
    });
    Background(stop, Some(handle))
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(h) = self.1.take() {
            let _ = h.join();
        }
    }
}
