//! `#[timed]` async fns on a 4-worker runtime: each call's allocations are counted poll by
//! poll on the worker that ran the poll, so the totals are exact however the runtime moves
//! the tasks, and the other tasks sharing a worker never leak into a call's count.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};

use perf_core::alloc::{count_async, Counting};

#[global_allocator]
static ALLOC: Counting = Counting::system();

/// Pending once, waking itself: a yield that allocates nothing.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

const STEPS: u64 = 20;
const TASKS: u64 = 64;

/// 20 polls, each allocating 100 bytes that live across the next yield, and the thread
/// of every poll.
#[perf_core::timed]
async fn hops_between_workers() -> Vec<std::thread::ThreadId> {
    let mut threads = Vec::with_capacity(STEPS as usize + 1);
    threads.push(std::thread::current().id());
    for _ in 0..STEPS {
        let held = black_box(vec![0u8; 100]);
        YieldOnce(false).await;
        threads.push(std::thread::current().id());
        drop(held);
    }
    threads
}

/// A neighbour on the same workers that allocates a lot between our polls.
async fn noisy_neighbour() {
    for _ in 0..STEPS {
        black_box(vec![0u8; 4096]);
        YieldOnce(false).await;
    }
}

#[test]
fn async_calls_are_attributed_per_poll_on_a_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    // Warm-up: the first call registers the callsite's series.
    rt.block_on(rt.spawn(hops_between_workers())).unwrap();
    let before = perf_core::report()
        .row("hops_between_workers")
        .unwrap()
        .allocations
        .unwrap();
    let moved = rt.block_on(async {
        let mut calls = Vec::new();
        for _ in 0..TASKS {
            calls.push(tokio::spawn(hops_between_workers()));
            tokio::spawn(noisy_neighbour());
        }
        let mut moved = 0;
        for c in calls {
            let threads = c.await.unwrap();
            moved += usize::from(threads.windows(2).any(|w| w[0] != w[1]));
        }
        moved
    });
    let after = perf_core::report()
        .row("hops_between_workers")
        .unwrap()
        .allocations
        .unwrap();
    // Per call: the `threads` Vec (21 ids of 8 bytes) and 20 blocks of 100 bytes.
    assert_eq!(after.allocs - before.allocs, TASKS * (1 + STEPS));
    assert_eq!(after.bytes - before.bytes, TASKS * (21 * 8 + STEPS * 100));
    println!("{moved} of {TASKS} calls ran on more than one worker");
}

#[test]
fn count_async_follows_the_future_across_workers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            handles.push(tokio::spawn(count_async(async {
                for _ in 0..STEPS {
                    drop(black_box(vec![0u8; 10]));
                    YieldOnce(false).await;
                }
            })));
            tokio::spawn(noisy_neighbour());
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap().1);
        }
        out
    });
    for s in results {
        assert_eq!(
            (s.allocs, s.deallocs, s.bytes_allocated, s.net, s.peak_live),
            (STEPS, STEPS, STEPS * 10, 0, 10)
        );
    }
}
