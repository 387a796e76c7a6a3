//! What a running CPU profile costs the code it samples: a `#[timed]` hot loop, benched in
//! one group without a profile (`idle`) and while a 99 Hz profile of the whole process runs
//! (`profiled_99hz`). Only the ratio of the two, measured in the same run, means much.
//!
//! Time is the bench thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: the
//! signal handler runs on the sampled thread and is counted, while time the thread spends
//! preempted by other processes on a shared machine is not, so the ratio is not noise.
//!
//! `cargo bench --bench profile --features profile`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_time;

/// About a microsecond of arithmetic per call, so each sample interrupts real work.
#[perf::timed]
#[inline(never)]
fn hot_loop(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..1_000 {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7) ^ 0x5555;
    }
    x
}

fn run(iters: u64) -> Duration {
    let start = thread_cpu_time();
    for i in 0..iters {
        black_box(hot_loop(black_box(i)));
    }
    thread_cpu_time() - start
}

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("profile_overhead");
    group.bench_function("idle", |b| b.iter_custom(run));
    group.bench_function("profiled_99hz", |b| {
        let session = perf::profile::Sampler::new()
            .start()
            .expect("no other profile runs in this bench");
        b.iter_custom(run);
        // Dropped, not stopped: the bench measures sampling, not symbolization.
        drop(session);
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
