//! What `#[timed]` records about allocations: [`CallAllocs`], one call's count so far, the
//! [`PerPoll`] wrapper that counts an async call poll by poll, and [`AllocTotals`], a
//! callsite's sums per outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::task::{Context, Poll};

use thread_local::ThreadLocal;

use super::slot::{self, installed};

/// One timed call's allocations (count and bytes allocated, callees included).
///
/// A sync call marks the thread's counters at its start and reads the difference at its
/// end, on the same thread. An async call cannot (its polls may run on different workers),
/// so [`PerPoll`] adds each poll's difference, measured on the poll's own thread.
/// Atomics with plain loads and stores, not `Cell`s: a future holding `&CallAllocs`
/// across an `.await` must stay `Send`. Only one poll at a time writes them.
#[derive(Debug)]
pub struct CallAllocs {
    allocs: AtomicU64,
    bytes: AtomicU64,
    /// The atomics hold sums (per poll, or zero), not a mark of the thread's counters.
    summed: bool,
}

impl CallAllocs {
    /// Marks the thread's counters now (zeros when [`Counting`](super::Counting) is not
    /// installed: nothing is read then).
    #[inline(always)]
    pub fn sync() -> Self {
        // Not installed yet: the sums stay zero rather than later reading a whole
        // thread's counts as this call's.
        let (allocs, bytes, summed) = if installed() {
            let (a, b) = mark();
            (a, b, false)
        } else {
            (0, 0, true)
        };
        CallAllocs {
            allocs: AtomicU64::new(allocs),
            bytes: AtomicU64::new(bytes),
            summed,
        }
    }

    /// Starts a sum of per-poll counts, filled in by [`PerPoll`].
    #[inline(always)]
    pub const fn per_poll() -> Self {
        CallAllocs {
            allocs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            summed: true,
        }
    }

    /// Allocations and bytes allocated since [`sync`](Self::sync) on this thread, or the
    /// per-poll sums.
    #[inline(always)]
    pub fn taken(&self) -> (u64, u64) {
        let (a, b) = (self.allocs.load(Relaxed), self.bytes.load(Relaxed));
        if self.summed {
            (a, b)
        } else {
            let (now_a, now_b) = mark();
            (now_a.wrapping_sub(a), now_b.wrapping_sub(b))
        }
    }

    #[inline(always)]
    fn add(&self, allocs: u64, bytes: u64) {
        self.allocs
            .store(self.allocs.load(Relaxed).wrapping_add(allocs), Relaxed);
        self.bytes
            .store(self.bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
    }
}

/// This thread's allocation count and bytes allocated.
#[inline(always)]
fn mark() -> (u64, u64) {
    slot::mine().user_mark()
}

/// Wraps an async call's work: each poll's allocations, measured on the thread that ran
/// the poll, are added to the call's [`CallAllocs`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct PerPoll<'a, F> {
    call: &'a CallAllocs,
    fut: F,
}

impl<'a, F> PerPoll<'a, F> {
    /// Counts `fut`'s polls into `call`.
    pub fn new(call: &'a CallAllocs, fut: F) -> Self {
        PerPoll { call, fut }
    }
}

impl<F: Future> Future for PerPoll<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: never moved, and `PerPoll` has no `Drop`.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        if !installed() {
            return fut.poll(cx);
        }
        let (a, b) = mark();
        let poll = fut.poll(cx);
        let (a2, b2) = mark();
        this.call.add(a2.wrapping_sub(a), b2.wrapping_sub(b));
        poll
    }
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
