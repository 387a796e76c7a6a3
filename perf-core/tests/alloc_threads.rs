//! The process's heap totals while threads come and go: alone in its binary, so no other
//! test allocates meanwhile.

use perf_core::alloc::{self, count, Counting};

#[global_allocator]
static ALLOC: Counting = Counting::system();

#[test]
fn heap_totals_include_exited_threads_even_mid_read() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;

    const THREADS: usize = 64;
    const LEAK: usize = 10_000;
    let before = alloc::heap().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            // Counters only grow: a thread exiting mid-read must not make them go back.
            let mut last = alloc::heap().unwrap();
            let mut reads = 0u64;
            while !done.load(Relaxed) {
                let now = alloc::heap().unwrap();
                assert!(now.allocs >= last.allocs, "{now:?} after {last:?}");
                assert!(now.bytes_allocated >= last.bytes_allocated);
                assert!(now.bytes_freed >= last.bytes_freed);
                last = now;
                reads += 1;
            }
            reads
        })
    };
    let mut leaked = 0u64;
    for _ in 0..THREADS / 8 {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    count(|| Box::leak(vec![0u8; LEAK].into_boxed_slice()).len()).1
                })
            })
            .collect();
        for h in handles {
            let s = h.join().unwrap();
            assert_eq!((s.allocs, s.net), (1, LEAK as i64));
            leaked += LEAK as u64;
        }
    }
    done.store(true, Relaxed);
    reader.join().unwrap();
    let after = alloc::heap().unwrap();
    assert_eq!(leaked, (THREADS * LEAK) as u64);
    // Each exited thread's leak is still counted live after its slot was handed back;
    // spawning and joining allocate a little more, which the runtime frees again.
    let grew = after.live_bytes as i64 - before.live_bytes as i64;
    assert!(
        (leaked as i64..leaked as i64 + 64 * 1024).contains(&grew),
        "live grew by {grew}, leaked {leaked}"
    );
}
