//! [`AllocStats`]: what a piece of code allocated on its thread, and [`count`] and
//! [`count_async`], which measure it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use super::slot::{self, Counts, Slot};

/// What some code allocated, measured by [`count`] or [`count_async`] on the thread (or
/// threads, one poll at a time) that ran it. Another thread's allocations never appear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Allocations (`alloc`, `alloc_zeroed`) that succeeded.
    pub allocs: u64,
    /// Deallocations.
    pub deallocs: u64,
    /// Reallocations that succeeded (growing or shrinking a block in place or by moving it).
    pub reallocs: u64,
    /// Bytes of new allocations plus the growth of reallocations.
    pub bytes_allocated: u64,
    /// Bytes of deallocations plus the shrink of reallocations.
    pub bytes_freed: u64,
    /// `bytes_allocated - bytes_freed`: what the code left allocated (negative when it
    /// freed what was allocated before it ran). `0` for code that does not leak.
    pub net: i64,
    /// The most bytes live at once, above what was live when the code started.
    pub peak_live: u64,
}

impl AllocStats {
    fn from_counts(c: Counts, peak_live: u64) -> Self {
        AllocStats {
            allocs: c.allocs,
            deallocs: c.deallocs,
            reallocs: c.reallocs,
            bytes_allocated: c.bytes_allocated,
            bytes_freed: c.bytes_freed,
            net: c.bytes_allocated.wrapping_sub(c.bytes_freed) as i64,
            peak_live,
        }
    }

    /// Adds what ran after `self` (another poll of the same future): counts add up, and the
    /// peak is the larger of the two, the later one raised by what was live when it began.
    pub fn then(&self, later: &AllocStats) -> AllocStats {
        let later_peak = self.net.saturating_add(later.peak_live as i64).max(0) as u64;
        AllocStats {
            allocs: self.allocs.saturating_add(later.allocs),
            deallocs: self.deallocs.saturating_add(later.deallocs),
            reallocs: self.reallocs.saturating_add(later.reallocs),
            bytes_allocated: self.bytes_allocated.saturating_add(later.bytes_allocated),
            bytes_freed: self.bytes_freed.saturating_add(later.bytes_freed),
            net: self.net.saturating_add(later.net),
            peak_live: self.peak_live.max(later_peak),
        }
    }
}

impl fmt::Display for AllocStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allocs={} deallocs={} reallocs={} bytes={} bytes_freed={} net={} peak={}",
            self.allocs,
            self.deallocs,
            self.reallocs,
            self.bytes_allocated,
            self.bytes_freed,
            self.net,
            self.peak_live
        )
    }
}

/// An open measurement on the current thread. Dropping it restores the slot's peak, so
/// nested measurements each see their own peak and an outer one still sees the inner's.
struct Window {
    slot: &'static Slot,
    start: Counts,
    live: i64,
    saved_peak: u64,
}

impl Window {
    fn open() -> Window {
        let slot = slot::mine();
        let live = slot.live();
        let saved_peak = slot.peak.load(Relaxed);
        slot.peak.store(live as u64, Relaxed);
        Window {
            slot,
            start: slot.user_counts(),
            live,
            saved_peak,
        }
    }

    fn stats(&self) -> AllocStats {
        let delta = self.slot.user_counts().since(&self.start);
        let peak = (self.slot.peak.load(Relaxed) as i64).saturating_sub(self.live);
        AllocStats::from_counts(delta, peak.max(0) as u64)
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let peak = self.slot.peak.load(Relaxed) as i64;
        self.slot
            .peak
            .store(peak.max(self.saved_peak as i64) as u64, Relaxed);
    }
}

/// Runs `f` and returns its value with what it allocated on this thread. The value is
/// returned rather than dropped inside, so what `f` returns counts as live (`net`).
///
/// Needs [`Counting`](super::Counting) as the global allocator; without it every count is
/// zero (check [`installed`](super::installed), or use
/// [`assert_allocations!`](crate::assert_allocations), which refuses to judge then).
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// let (v, s) = perf_core::alloc::count(|| {
///     let scratch = vec![0u8; 1000];
///     drop(scratch);
///     Vec::<u8>::with_capacity(24)
/// });
/// assert_eq!((s.allocs, s.deallocs, s.net, s.peak_live), (2, 1, 24, 1000));
/// # drop(v);
/// ```
pub fn count<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    let window = Window::open();
    let r = f();
    let stats = window.stats();
    drop(window);
    (r, stats)
}

/// Wraps `fut` so that awaiting it yields its output with what its polls allocated, summed
/// over every poll on whatever thread ran it: each poll is measured on its own thread, so
/// the numbers stay right when a multi-thread runtime moves the task between workers.
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (n, s) = rt.block_on(perf_core::alloc::count_async(async {
///     let v = vec![1u64; 4];
///     std::future::ready(()).await;
///     v.len()
/// }));
/// assert_eq!((n, s.allocs, s.deallocs, s.bytes_allocated, s.net), (4, 1, 1, 32, 0));
/// ```
pub fn count_async<F: Future>(fut: F) -> CountAsync<F> {
    CountAsync {
        fut,
        stats: AllocStats::default(),
    }
}

/// The future of [`count_async`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct CountAsync<F> {
    fut: F,
    stats: AllocStats,
}

impl<F: Future> Future for CountAsync<F> {
    type Output = (F::Output, AllocStats);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned: never moved out of, and `CountAsync` has
        // no `Drop` nor `Unpin` impl of its own that would move it.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        let window = Window::open();
        let poll = fut.poll(cx);
        this.stats = this.stats.then(&window.stats());
        drop(window);
        match poll {
            Poll::Ready(out) => Poll::Ready((out, this.stats)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AllocStats;

    fn poll(allocated: u64, freed: u64, peak_live: u64) -> AllocStats {
        AllocStats {
            bytes_allocated: allocated,
            bytes_freed: freed,
            net: allocated as i64 - freed as i64,
            peak_live,
            ..AllocStats::default()
        }
    }

    #[test]
    fn a_later_poll_peaks_on_top_of_what_the_earlier_left_live() {
        // 100 left live, then a poll that peaks 50 above its start: 150 at once.
        let s = poll(100, 0, 100).then(&poll(50, 50, 50));
        assert_eq!((s.net, s.peak_live), (100, 150));
        // 100 freed from before, then a poll peaking 30 above its start: never above the
        // start of the first.
        let s = poll(0, 100, 0).then(&poll(30, 0, 30));
        assert_eq!((s.net, s.peak_live), (-70, 0));
        // The earlier poll's own peak stays when the later one is lower.
        let s = poll(500, 500, 500).then(&poll(10, 10, 10));
        assert_eq!((s.bytes_allocated, s.peak_live), (510, 500));
    }
}
