//! With `Counting` installed, every `#[timed]` call records its allocations (callees
//! included) per outcome: in the report's `allocs/call` and `bytes/call` columns and the
//! Prometheus counters `function_allocations_total` and `function_allocated_bytes_total`,
//! beside the process's heap.

use std::hint::black_box;

use perf_core::alloc::Counting;
use perf_core::export::{render, RenderOptions};
use perf_core::{Registry, RowAllocations};

#[global_allocator]
static ALLOC: Counting = Counting::system();

#[perf_core::timed]
fn leaf() -> usize {
    black_box(vec![0u8; 10]).len()
}

#[perf_core::timed]
fn parent(fail: bool) -> Result<usize, String> {
    let boxed = black_box(Box::new(7u64));
    let n = leaf() + *boxed as usize;
    if fail {
        return Err(String::from("no"));
    }
    Ok(n)
}

#[perf_core::timed]
fn shown() -> usize {
    black_box(vec![0u8; 10]).len()
}

#[perf_core::timed]
fn allocates_nothing(x: u64) -> u64 {
    black_box(x) * 2
}

#[perf_core::timed]
fn fresh_leaf() -> usize {
    black_box(vec![0u8; 10]).len()
}

#[perf_core::timed]
fn fresh_parent() -> usize {
    // Freed before the leaf allocates: the peak is the leaf's 10 bytes.
    black_box(Box::new(1u8));
    fresh_leaf()
}

fn allocations(name: &str) -> RowAllocations {
    perf_core::report().row(name).unwrap().allocations.unwrap()
}

#[test]
fn calls_record_their_allocations_inclusively_per_outcome() {
    // The first calls register the series (which allocates outside any call's count).
    leaf();
    parent(false).unwrap();
    parent(true).unwrap_err();
    allocates_nothing(1);
    let (leaf0, parent0) = (allocations("leaf"), allocations("parent"));
    for _ in 0..3 {
        parent(false).unwrap();
    }
    parent(true).unwrap_err();
    for i in 0..5 {
        allocates_nothing(i);
    }
    let (leaf1, parent1) = (allocations("leaf"), allocations("parent"));
    assert_eq!(
        (leaf1.allocs - leaf0.allocs, leaf1.bytes - leaf0.bytes),
        (4, 40)
    );
    // Each call: its Box (8 B) and its leaf's Vec (10 B); the failing one also its
    // error's String (2 B).
    assert_eq!(parent1.allocs - parent0.allocs, 4 * 2 + 1);
    assert_eq!(parent1.bytes - parent0.bytes, 4 * 18 + 2);
    assert_eq!(
        allocations("allocates_nothing"),
        RowAllocations {
            allocs: 0,
            bytes: 0
        }
    );
}

#[test]
fn the_report_and_the_exposition_show_them() {
    for _ in 0..4 {
        shown();
    }
    let report = perf_core::report();
    let text = report.to_string();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with("allocs/call  bytes/call"), "{text}");
    let row = text.lines().find(|l| l.contains("::shown ")).unwrap();
    assert!(row.ends_with("1.0        10.0"), "{text}");

    let exposition = render(Registry::global(), &RenderOptions::default());
    let module = module_path!();
    assert!(
        exposition.contains("# TYPE function_allocations_total counter\n"),
        "{exposition}"
    );
    assert!(exposition.contains(&format!(
        "function_allocations_total{{function=\"shown\",module=\"{module}\",result=\"ok\"}} 4\n"
    )));
    assert!(exposition.contains(&format!(
        "function_allocated_bytes_total{{function=\"shown\",module=\"{module}\",result=\"ok\"}} 40\n"
    )));
    assert!(exposition.contains("# TYPE perf_heap_live_bytes gauge\nperf_heap_live_bytes "));
    assert!(exposition
        .contains("# TYPE perf_heap_allocations_total counter\nperf_heap_allocations_total "));
}

#[test]
fn perf_bookkeeping_is_not_counted_as_the_callers() {
    // The callee's first record registers its series and creates its shards: perf's
    // allocations, not the caller's.
    let (n, s) = perf_core::alloc::count(fresh_parent);
    assert_eq!(n, 10);
    assert_eq!(
        (s.allocs, s.bytes_allocated, s.net, s.peak_live),
        (2, 11, 0, 10)
    );
    assert_eq!(
        allocations("fresh_parent"),
        RowAllocations {
            allocs: 2,
            bytes: 11
        }
    );
    assert_eq!(
        allocations("fresh_leaf"),
        RowAllocations {
            allocs: 1,
            bytes: 10
        }
    );
}
