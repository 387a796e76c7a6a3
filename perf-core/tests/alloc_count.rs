//! `Counting` as this binary's global allocator: what `count`, `count_async` and
//! `assert_allocations!` measure, exactly, including the edge cases of the allocator API
//! (a huge block, shrinking, shrinking to nothing) and a child process after `fork`.

use std::hint::black_box;

use perf_core::alloc::{self, count, count_async, AllocStats, Counting};

#[global_allocator]
static ALLOC: Counting = Counting::system();

#[test]
fn installed_once_anything_is_allocated() {
    assert!(alloc::installed());
}

#[test]
fn counts_allocations_frees_and_bytes() {
    let ((), s) = count(|| {
        let a = black_box(vec![0u8; 100]);
        let b = black_box(Box::new([0u64; 4]));
        drop(a);
        drop(b);
    });
    assert_eq!(
        s,
        AllocStats {
            allocs: 2,
            deallocs: 2,
            reallocs: 0,
            bytes_allocated: 132,
            bytes_freed: 132,
            net: 0,
            peak_live: 132,
        }
    );
}

#[test]
fn the_returned_value_stays_live() {
    let (v, s) = count(|| black_box(Vec::<u32>::with_capacity(10)));
    assert_eq!((s.allocs, s.deallocs, s.net, s.peak_live), (1, 0, 40, 40));
    drop(v);
}

#[test]
fn freeing_what_was_allocated_before_is_a_negative_net() {
    let v = black_box(vec![1u8; 64]);
    let ((), s) = count(move || drop(v));
    assert_eq!(
        (s.deallocs, s.bytes_freed, s.net, s.peak_live),
        (1, 64, -64, 0)
    );
}

#[test]
fn growth_and_shrink_are_reallocations() {
    let ((), s) = count(|| {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.reserve_exact(48); // 16 -> 48: a reallocation growing by 32
        v.shrink_to(8); // 48 -> 8: one shrinking by 40
        v.shrink_to(0); // to nothing: a deallocation of the last 8
        black_box(v);
    });
    assert_eq!((s.allocs, s.reallocs, s.deallocs), (1, 2, 1), "{s}");
    assert_eq!((s.bytes_allocated, s.bytes_freed, s.net), (48, 48, 0));
    assert_eq!(s.peak_live, 48);
}

#[test]
fn a_huge_allocation_is_counted_to_the_byte() {
    // One GiB, never touched, so the OS reserves it without backing it.
    const HUGE: usize = 1 << 30;
    let ((), s) = count(|| {
        let v: Vec<u8> = Vec::with_capacity(HUGE);
        black_box(&v);
    });
    assert_eq!((s.allocs, s.deallocs), (1, 1));
    assert_eq!((s.bytes_allocated, s.peak_live), (HUGE as u64, HUGE as u64));
}

#[test]
fn a_refused_allocation_counts_nothing() {
    // More than the address space allows: `System` returns null and nothing is counted.
    let ((), s) = count(|| {
        let mut v: Vec<u8> = Vec::new();
        assert!(v.try_reserve(isize::MAX as usize - 64).is_err());
        black_box(v);
    });
    assert_eq!(s, AllocStats::default());
}

#[test]
fn nested_counts_each_see_their_own_peak() {
    let ((), outer) = count(|| {
        let ((), inner) = count(|| drop(black_box(vec![0u8; 1000])));
        assert_eq!(inner.peak_live, 1000);
        drop(black_box(vec![0u8; 10]));
    });
    assert_eq!((outer.allocs, outer.peak_live, outer.net), (2, 1000, 0));
}

#[test]
fn other_threads_do_not_pollute_a_count() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(black_box(vec![0u8; 256]));
            }
        })
    };
    for _ in 0..100 {
        let ((), s) = count(|| drop(black_box(vec![0u8; 8])));
        assert_eq!((s.allocs, s.bytes_allocated), (1, 8));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noise.join().unwrap();
}

/// Pending once, waking itself: a yield that allocates nothing (tokio's `yield_now`
/// may grow the runtime's list of deferred wakers, inside the poll).
struct Yield(bool);

impl std::future::Future for Yield {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
fn an_async_count_sums_every_poll() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (n, s) = rt.block_on(count_async(async {
        let a = black_box(vec![0u8; 100]);
        Yield(false).await;
        let b = black_box(vec![0u8; 50]);
        drop(a);
        Yield(false).await;
        b.len()
    }));
    assert_eq!(n, 50);
    assert_eq!(
        (s.allocs, s.deallocs, s.bytes_allocated, s.net, s.peak_live),
        (2, 2, 150, 0, 150)
    );
}

#[test]
fn assert_allocations_passes_and_returns_the_stats() {
    let mut buf: Vec<u8> = Vec::with_capacity(64);
    let s = perf_core::assert_allocations!(
        || {
            buf.clear();
            buf.extend_from_slice(b"no allocation here");
        },
        allocs == 0,
        bytes <= 0,
        net == 0,
    );
    assert_eq!(s, AllocStats::default());
    let s =
        perf_core::assert_allocations!(|| black_box(vec![0u8; 4096]), bytes <= 4096, allocs < 2);
    assert_eq!((s.allocs, s.net), (1, 4096));
}

#[test]
fn a_failing_clause_shows_what_was_measured() {
    let err = std::panic::catch_unwind(|| {
        perf_core::assert_allocations!(|| drop(black_box(vec![0u8; 10])), allocs == 0, net == 0)
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "allocation assertion failed:\n  allocs == 0: measured 1\nmeasured: allocs=1 \
         deallocs=1 reallocs=0 bytes=10 bytes_freed=10 net=0 peak=10"
    );
}

#[test]
fn a_forked_child_counts_on() {
    // SAFETY: the child only allocates through `Counting`, which takes no lock, checks
    // and exits with `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ((), s) = count(|| drop(black_box(vec![0u8; 777])));
        let ok = (s.allocs, s.deallocs, s.bytes_allocated, s.net) == (1, 1, 777, 0);
        unsafe { libc::_exit(if ok { 42 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 42);
}
