// A misspelt statistic in an allocation clause: the error points at the word.
fn main() {
    perf_core::assert_allocations!(|| (), allocs == 0, alocs == 0);
}
