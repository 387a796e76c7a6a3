//! [`HeapStats`]: the whole process's heap as [`Counting`](super::Counting) saw it.

use super::slot::{self, installed};

/// Every thread's allocations summed, exited threads included: what the exporter serves
/// as `perf_heap_live_bytes` and `perf_heap_allocations_total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Allocations served since the process started.
    pub allocs: u64,
    /// Deallocations.
    pub deallocs: u64,
    /// Reallocations.
    pub reallocs: u64,
    /// Bytes allocated (reallocation growth included).
    pub bytes_allocated: u64,
    /// Bytes freed (reallocation shrink included).
    pub bytes_freed: u64,
    /// Bytes allocated and not yet freed: the live heap (as the program asked for it, not
    /// counting the allocator's own overhead).
    pub live_bytes: u64,
}

/// The process's heap totals, or `None` when [`Counting`](super::Counting) is not the
/// global allocator. Reading sums one counter line per thread that has allocated (at most
/// 1024 live, plus one for all exited threads); it is exact even while threads exit.
///
/// ```
/// // This doctest's binary uses the default allocator.
/// assert!(perf_core::alloc::heap().is_none());
/// ```
pub fn heap() -> Option<HeapStats> {
    if !installed() {
        return None;
    }
    let c = slot::process_counts();
    Some(HeapStats {
        allocs: c.allocs,
        deallocs: c.deallocs,
        reallocs: c.reallocs,
        bytes_allocated: c.bytes_allocated,
        bytes_freed: c.bytes_freed,
        // A free on one thread may be read before the allocation it frees on another.
        live_bytes: c.bytes_allocated.saturating_sub(c.bytes_freed),
    })
}
