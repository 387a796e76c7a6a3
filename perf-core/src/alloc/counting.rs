//! [`Counting`]: the global allocator that counts what the program allocates, per thread.

use std::alloc::{GlobalAlloc, Layout, System};

use super::slot;

/// A global allocator that forwards to `A` ([`System`] unless told otherwise) and counts
/// allocations, deallocations, reallocations and bytes per thread, for
/// [`count`](super::count), [`assert_allocations!`](crate::assert_allocations), `#[timed]`
/// and the exporter's heap metrics.
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// let (v, stats) = perf_core::alloc::count(|| vec![0u8; 100]);
/// assert_eq!((stats.allocs, stats.bytes_allocated), (1, 100));
/// # drop(v);
/// ```
///
/// Wrapping another allocator: `Counting::new(MyAlloc)`.
///
/// # What a count means
/// * An allocation that `A` refuses (returns null) counts nothing; a refused
///   reallocation leaves the block and the counts as they were.
/// * `realloc` counts one reallocation and its growth as bytes allocated (or its shrink as
///   bytes freed), so `bytes_allocated - bytes_freed` is always the live heap.
/// * A `Vec` shrunk to nothing is a deallocation, not a `realloc` to 0 (which `GlobalAlloc`
///   forbids).
///
/// # Cost
/// A few plain loads and stores on the thread's own cache line and one global flag read:
/// no atomic read-modify-write, no lock, no allocation, no panic. See `BENCHMARKS.md`
/// (`cargo bench --bench alloc`). The thread-locals it uses are `const`-initialised and
/// safe to touch while a thread's thread-locals are torn down; the module docs of
/// [`alloc`](super) say how reentrancy and threads beyond the slot table are handled.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting<A: GlobalAlloc = System> {
    inner: A,
}

impl Counting<System> {
    /// Counts allocations served by the operating system's allocator ([`System`]).
    pub const fn system() -> Self {
        Counting { inner: System }
    }
}

impl<A: GlobalAlloc> Counting<A> {
    /// Counts allocations served by `inner`.
    ///
    /// ```
    /// use std::alloc::System;
    /// static ALLOC: perf_core::alloc::Counting<System> = perf_core::alloc::Counting::new(System);
    /// ```
    pub const fn new(inner: A) -> Self {
        Counting { inner }
    }

    /// The allocator it forwards to.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; counting only touches this
// thread's counters and never allocates, panics or unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.inner.alloc(layout);
        if !p.is_null() {
            slot::on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.inner.alloc_zeroed(layout);
        if !p.is_null() {
            slot::on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.inner.dealloc(ptr, layout);
        slot::on_dealloc(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.inner.realloc(ptr, layout, new_size);
        if !p.is_null() {
            slot::on_realloc(layout.size(), new_size);
        }
        p
    }
}
