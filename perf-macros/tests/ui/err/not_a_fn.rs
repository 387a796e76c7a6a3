#[perf_core::timed]
struct Handler;

#[perf_core::timed]
static COUNT: u32 = 0;

#[perf_core::timed]
trait Service {}

fn main() {}
