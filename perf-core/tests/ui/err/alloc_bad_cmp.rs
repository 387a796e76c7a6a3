// An allocation clause compares with `==`, `<=` or `<`.
fn main() {
    perf_core::assert_allocations!(|| (), allocs != 0);
}
