//! The instructions one `#[timed]` call executes, for a machine too noisy to tell a few
//! nanoseconds apart by the clock: a loop of `N` calls of one variant, to run under
//! valgrind's cachegrind, whose instruction counts do not depend on the machine's load.
//!
//! ```text
//! cargo bench --bench timed_instructions --no-run
//! valgrind --tool=cachegrind --cache-sim=no target/release/deps/timed_instructions-* async 100000
//! cg_annotate cachegrind.out.*   # per function; divide by N for per call
//! ```
//!
//! The variants are `timed` (a sync fn) and `timed_async` (an `async fn` polled once to
//! completion), the same fns as `benches/timed.rs`. Without arguments (as `cargo bench`
//! runs it) it makes 1,000,000 calls of each and prints the mean time per call.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use perf::timed;

#[inline(never)]
fn bare(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
}

#[timed]
#[inline(never)]
fn timed_sync(x: u64) -> u64 {
    bare(x)
}

#[timed]
#[inline(never)]
async fn timed_async(x: u64) -> u64 {
    bare(x)
}

/// Polls a future that completes at its first poll.
#[inline(always)]
fn run<F: Future<Output = u64>>(fut: F) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched future never waits"),
    }
}

fn calls(variant: &str, n: u64) {
    for i in 0..n {
        let r = match variant {
            "async" => run(timed_async(black_box(i))),
            _ => timed_sync(black_box(i)),
        };
        black_box(r);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.as_slice() {
        [variant, n] if matches!(variant.as_str(), "sync" | "async") => {
            let Ok(n) = n.parse() else {
                eprintln!("usage: timed_instructions [sync|async N]: N is a count, not {n:?}");
                std::process::exit(2);
            };
            calls(variant, n);
        }
        [] => {
            for variant in ["sync", "async"] {
                let n = 1_000_000;
                let t = Instant::now();
                calls(variant, n);
                let per_call = t.elapsed().as_nanos() as f64 / n as f64;
                println!("timed_instructions/{variant}: {per_call:.1} ns per call over {n} calls");
            }
        }
        _ => {
            eprintln!("usage: timed_instructions [sync|async N]");
            std::process::exit(2);
        }
    }
}
