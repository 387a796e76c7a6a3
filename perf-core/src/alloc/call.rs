//! What `#[timed]` records about allocations: [`CallAllocs`], one sync call's count so far,
//! and [`AllocTotals`], a callsite's sums per outcome. (An async call counts its own, poll
//! by poll: see [`TimedCall`](crate::callsite::TimedCall).)

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use thread_local::ThreadLocal;

use super::slot::{self, installed};

/// One sync timed call's allocations (count and bytes allocated, callees included): a
/// mark of the thread's counters at the call's start, read back as a difference at its
/// end, on the same thread.
#[derive(Debug)]
pub struct CallAllocs {
    allocs: u64,
    bytes: u64,
    /// Not installed at the start: nothing was marked and the call counts zero.
    unmarked: bool,
}

impl CallAllocs {
    /// Marks the thread's counters now (nothing is read when [`Counting`](super::Counting)
    /// is not installed).
    #[inline(always)]
    pub fn sync() -> Self {
        // Not installed yet: the call counts zero rather than later reading a whole
        // thread's counts as its own.
        if installed() {
            let (allocs, bytes) = mark();
            CallAllocs {
                allocs,
                bytes,
                unmarked: false,
            }
        } else {
            CallAllocs {
                allocs: 0,
                bytes: 0,
                unmarked: true,
            }
        }
    }

    /// Allocations and bytes allocated on this thread since [`sync`](Self::sync).
    #[inline(always)]
    pub fn taken(&self) -> (u64, u64) {
        if self.unmarked {
            (0, 0)
        } else {
            let (now_a, now_b) = mark();
            (
                now_a.wrapping_sub(self.allocs),
                now_b.wrapping_sub(self.bytes),
            )
        }
    }
}

/// This thread's allocation count and bytes allocated.
#[inline(always)]
pub(crate) fn mark() -> (u64, u64) {
    slot::mine().user_mark()
}

/// One thread's sums, written only by that thread.
#[derive(Default)]
struct Shard {
    allocs: AtomicU64,
    bytes: AtomicU64,
}

/// A callsite's allocation sums for one outcome: allocations and bytes allocated by all its
/// calls. Sharded per thread like the latency histograms, so adding is a plain load and
/// store; a read merges the shards.
pub struct AllocTotals {
    shards: ThreadLocal<Shard>,
    /// Subtracted from the shards' sums since the last [`reset`](Self::reset).
    baseline: Mutex<(u64, u64)>,
}

impl Default for AllocTotals {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AllocTotals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (allocs, bytes) = self.totals();
        f.debug_struct("AllocTotals")
            .field("allocs", &allocs)
            .field("bytes", &bytes)
            .finish()
    }
}

impl AllocTotals {
    /// Empty sums.
    pub const fn new() -> Self {
        AllocTotals {
            shards: ThreadLocal::new(),
            baseline: Mutex::new((0, 0)),
        }
    }

    /// Adds one call's allocations. A call that allocated nothing touches nothing.
    #[inline]
    pub fn add(&self, allocs: u64, bytes: u64) {
        if allocs | bytes == 0 {
            return;
        }
        let s = self.shards.get_or(Shard::default);
        s.allocs
            .store(s.allocs.load(Relaxed).wrapping_add(allocs), Relaxed);
        s.bytes
            .store(s.bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
    }

    fn raw(&self) -> (u64, u64) {
        self.shards.iter().fold((0u64, 0u64), |(a, b), s| {
            (
                a.wrapping_add(s.allocs.load(Relaxed)),
                b.wrapping_add(s.bytes.load(Relaxed)),
            )
        })
    }

    /// Allocations and bytes allocated since creation or the last reset.
    pub fn totals(&self) -> (u64, u64) {
        let base = *self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = self.raw();
        (a.wrapping_sub(base.0), b.wrapping_sub(base.1))
    }

    /// Forgets the sums so far.
    pub fn reset(&self) {
        let mut base = self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        *base = self.raw();
    }
}
