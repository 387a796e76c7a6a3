// Every allocation statistic and comparison, with limits of several integer types.
#[global_allocator]
static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();

fn main() {
    let limit: usize = 4096;
    let stats = perf_core::assert_allocations!(
        || (),
        allocs == 0,
        deallocs == 0u64,
        reallocs <= 0,
        bytes < limit,
        bytes_freed <= 0i64,
        net == 0,
        peak < 1u8,
    );
    assert_eq!(stats.allocs, 0);
}
