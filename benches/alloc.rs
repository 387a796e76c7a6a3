//! What perf's counting allocator costs, in one group (the machine is noisy, so only ratios
//! within one run mean much):
//!
//! * `timed_no_alloc/without_counting` and `/with_counting`: a `#[timed]` fn that allocates
//!   nothing, before and after `Counting` starts serving allocations (the goal:
//!   at most 5 ns more with it). The bench's global allocator is a switch that serves from
//!   `System` until the `with_counting` rows, then from `Counting`; `installed()` is false
//!   until then, as in a program without `Counting`.
//! * `alloc_dealloc/{system,counting,stats_alloc}`: one 64-byte allocation and its
//!   deallocation through `System`, through `Counting` (thread-local slots, plain stores)
//!   and through `stats_alloc::StatsAlloc` (global atomic counters), called directly
//!   through `GlobalAlloc` (goal: `Counting` at most 3 ns more than `System`), on one
//!   thread (`1t`) and per call of each of two threads calling at once (`2t`).
//!
//! `cargo bench --bench alloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/two_threads.rs"]
mod two_threads;
use perf::alloc::Counting;
use perf::timed;
use stats_alloc::StatsAlloc;
use two_threads::two_threads;

/// Serves from `System` until `COUNT` is set, then from `Counting`.
struct Switch;

static COUNT: AtomicBool = AtomicBool::new(false);
static COUNTING: Counting = Counting::system();

// SAFETY: forwards to `System` or to `Counting` (which forwards to `System`), so a block
// is always freed by the allocator family that made it.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNT.load(Relaxed) {
            COUNTING.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNT.load(Relaxed) {
            COUNTING.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNT.load(Relaxed) {
            COUNTING.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}

#[global_allocator]
static GLOBAL: Switch = Switch;

#[timed]
#[inline(never)]
fn timed_no_alloc(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
}

static STATS: StatsAlloc<System> = StatsAlloc::system();

const LAYOUT: Layout = match Layout::from_size_align(64, 8) {
    Ok(l) => l,
    Err(_) => panic!("64 bytes aligned to 8 is a layout"),
};

/// One allocation and its deallocation through `a`.
#[inline(always)]
fn alloc_dealloc(a: &impl GlobalAlloc) {
    // SAFETY: a non-zero layout; the block is freed with the layout it was made with.
    unsafe {
        let p = a.alloc(LAYOUT);
        black_box(p);
        if !p.is_null() {
            a.dealloc(p, LAYOUT);
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));

    assert!(!perf::alloc::installed());
    let mut i = 0u64;
    g.bench_function("timed_no_alloc/without_counting/1t", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            timed_no_alloc(black_box(i))
        })
    });
    COUNT.store(true, Relaxed);
    drop(black_box(vec![0u8; 1]));
    assert!(perf::alloc::installed());
    g.bench_function("timed_no_alloc/with_counting/1t", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            timed_no_alloc(black_box(i))
        })
    });

    let peers: [(&str, fn()); 3] = [
        ("system", || alloc_dealloc(&System)),
        ("counting", || alloc_dealloc(&COUNTING)),
        ("stats_alloc", || alloc_dealloc(&STATS)),
    ];
    for (name, f) in peers {
        g.bench_function(format!("alloc_dealloc/{name}/1t"), |b| b.iter(f));
        g.bench_function(format!("alloc_dealloc/{name}/2t"), |b| {
            b.iter_custom(|iters| two_threads(iters, move |_| f()))
        });
    }
    g.finish();

    // The timed fn recorded, and with Counting its calls allocated nothing.
    let row = perf::report();
    let row = row.row("timed_no_alloc").expect("timed_no_alloc recorded");
    assert_eq!(row.allocations.map(|a| a.allocs), Some(0));
}

criterion_group!(benches, bench);
criterion_main!(benches);
