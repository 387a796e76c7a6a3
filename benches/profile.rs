//! What a running CPU profile costs the code it samples: a `#[timed]` hot loop, benched in
//! one group without a profile (`idle`) and while a 99 Hz profile of the whole process runs
//! (`profiled_99hz`). Only the ratio of the two, measured in the same run, means much.
//!
//! `cargo bench --bench profile --features profile`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

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

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("profile_overhead");
    group.bench_function("idle", |b| b.iter(|| hot_loop(black_box(7))));
    group.bench_function("profiled_99hz", |b| {
        let session = perf::profile::Sampler::new()
            .start()
            .expect("no other profile runs in this bench");
        b.iter(|| hot_loop(black_box(7)));
        // Dropped, not stopped: the bench measures sampling, not symbolization.
        drop(session);
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
