//! `Counting` around an allocator that refuses blocks above a limit: a refused allocation
//! or reallocation counts nothing, the ones served are counted as usual.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use perf_core::alloc::{count, Counting};

/// Serves blocks up to `LIMIT` bytes from `System` and refuses larger ones.
struct Limit;

const LIMIT: usize = 1 << 20;

// SAFETY: forwards to `System`, or returns null, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Limit {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LIMIT {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting<Limit> = Counting::new(Limit);

#[test]
fn a_refused_allocation_counts_nothing() {
    let ((), s) = count(|| {
        let mut v: Vec<u8> = Vec::new();
        assert!(v.try_reserve_exact(LIMIT + 1).is_err());
        black_box(v);
    });
    assert_eq!((s.allocs, s.bytes_allocated, s.deallocs), (0, 0, 0));
}

#[test]
fn a_refused_reallocation_keeps_the_block_and_its_count() {
    let ((), s) = count(|| {
        let mut v: Vec<u8> = Vec::with_capacity(LIMIT);
        assert!(v.try_reserve_exact(LIMIT + 1).is_err());
        assert_eq!(v.capacity(), LIMIT);
        black_box(v);
    });
    assert_eq!((s.allocs, s.reallocs, s.deallocs), (1, 0, 1));
    assert_eq!(
        (s.bytes_allocated, s.bytes_freed, s.peak_live),
        (LIMIT as u64, LIMIT as u64, LIMIT as u64)
    );
}

#[test]
fn served_allocations_at_the_limit_count() {
    let ((), s) = count(|| drop(black_box(vec![0u8; LIMIT])));
    assert_eq!((s.allocs, s.bytes_allocated), (1, LIMIT as u64));
}
