//! `assert_no_growth!`: a leak of 16 bytes per call fails it, a cache that warms up and
//! then stays flat does not.

use std::collections::HashMap;
use std::hint::black_box;

use perf_core::alloc::{assert_no_growth, Counting, GrowthCheck};

#[global_allocator]
static ALLOC: Counting = Counting::system();

#[test]
fn a_forgotten_16_byte_block_per_call_fails() {
    let growth = GrowthCheck::new()
        .iterations(10_000)
        .run(|| std::mem::forget(black_box(Vec::<u8>::with_capacity(16))));
    assert!((growth.bytes_per_iteration - 16.0).abs() < 1e-9, "{growth}");
    assert_eq!(growth.net, 160_000);
    assert!(!growth.passed());
    let err = std::panic::catch_unwind(|| {
        assert_no_growth!(
            || std::mem::forget(black_box(Vec::<u8>::with_capacity(16))),
            iterations = 10_000,
            tolerance = 1.0
        )
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("memory growth: the heap grows by 16.00 bytes per iteration over the second half of 10000 iterations (tolerance 1)"),
        "{msg}"
    );
}

#[test]
fn a_vec_that_keeps_16_bytes_per_call_fails() {
    let mut kept: Vec<[u8; 16]> = Vec::new();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_no_growth!(|| kept.push([0; 16]), iterations = 10_000, tolerance = 1.0)
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("memory growth"), "{msg}");
}

#[test]
fn a_cache_that_warms_up_passes() {
    let mut cache: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut i = 0u64;
    let growth = assert_no_growth!(
        || {
            i += 1;
            // 500 keys, all seen within the first tenth of the run.
            cache.entry(i % 500).or_insert_with(|| vec![0u8; 256]);
            black_box(format!("{i}"));
        },
        iterations = 10_000,
        tolerance = 0.5,
    );
    assert_eq!(growth.bytes_per_iteration, 0.0, "{growth}");
    assert_eq!(growth.checkpoints[9], growth.checkpoints[0]);
}
