//! Without `Counting` as the global allocator: the assertions refuse to judge (never a
//! vacuous pass), the heap is unknown, and the report has no allocation columns.

#[test]
fn not_installed() {
    assert!(!perf_core::alloc::installed());
    assert!(perf_core::alloc::heap().is_none());
}

#[test]
fn assert_allocations_fails_at_once_saying_how_to_install() {
    let err = std::panic::catch_unwind(|| perf_core::assert_allocations!(|| (), allocs == 0))
        .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("perf's counting allocator is not the global allocator"),
        "{msg}"
    );
    assert!(msg.contains("#[global_allocator]\n    static ALLOC: perf::alloc::Counting = perf::alloc::Counting::system();"), "{msg}");
}

#[test]
fn assert_no_growth_fails_at_once_too() {
    let err =
        std::panic::catch_unwind(|| perf_core::alloc::assert_no_growth!(|| (), iterations = 10))
            .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("perf's counting allocator is not the global allocator"),
        "{msg}"
    );
}

#[perf_core::timed]
fn allocates_uncounted() -> usize {
    std::hint::black_box(vec![1u8; 10]).len()
}

#[test]
fn the_report_has_no_allocation_columns() {
    allocates_uncounted();
    let report = perf_core::report();
    assert_eq!(report.row("allocates_uncounted").unwrap().allocations, None);
    assert!(!report.to_string().contains("allocs/call"));
}
