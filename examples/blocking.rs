//! A service with one blocking handler, found with its location (and, with `--features
//! stack` on Linux, its stack) while it is stuck.
//!
//! `cargo run --example blocking` or `cargo run --example blocking --features stack`
//!
//! Three handlers run on a 2-worker runtime: `good_handler` awaits a timer, `busy_handler`
//! does a little CPU work, `blocking_handler` calls `std::thread::sleep` (a stand-in for a
//! sync client, `std::fs`, or a lock). The watchdog reports the blocking poll while it is
//! still running, then the wrapper reports its final duration; statistics per location
//! follow. With `--features stack` the first stall report waits until the binary's debug
//! info is loaded to name the frames (a second or two for a debug build), so it may be
//! printed after the final one; it reads
//! `stack: std::thread::functions::sleep ← blocking::load_config_from_disk (examples/blocking.rs:33)`.

use std::time::Duration;

use perf_async::{FutureExt, RuntimeGauges, Watchdog};

async fn good_handler() -> u32 {
    tokio::time::sleep(Duration::from_millis(30)).await;
    200
}

async fn busy_handler() -> u32 {
    let mut sum = 0u64;
    for i in 0..10_000u64 {
        sum = sum.wrapping_add(i * i);
    }
    std::hint::black_box(sum);
    200
}

#[inline(never)]
fn load_config_from_disk() {
    // The mistake: a blocking call inside async code.
    std::thread::sleep(Duration::from_millis(250));
}

async fn blocking_handler() -> u32 {
    load_config_from_disk();
    500
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_target(true)
        .with_writer(std::io::stderr)
        .init();
    let watchdog = Watchdog::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let _gauges =
        RuntimeGauges::new(rt.handle().clone(), "example").spawn(Duration::from_millis(100))?;

    let statuses = perf_async::block_on(&rt, async {
        let mut handles = Vec::new();
        for _ in 0..5 {
            handles.push(perf_async::spawn("good", good_handler()));
            handles.push(perf_async::spawn("busy", busy_handler()));
        }
        handles.push(tokio::spawn(
            blocking_handler().detect_blocking_named("blocking"),
        ));
        let mut statuses = Vec::new();
        for h in handles {
            statuses.push(h.await.expect("handler task"));
        }
        statuses
    });
    drop(watchdog);
    println!("handled {} requests", statuses.len());
    println!("\nper location (most slow-poll time first):");
    for l in perf_async::locations() {
        println!(
            "  {}:{} [{}] {}",
            l.location.file(),
            l.location.line(),
            l.task.unwrap_or("-"),
            l.stats
        );
    }
    // CI runs this example: exit non-zero if the blocking went unreported.
    let blocking = perf_async::locations()
        .into_iter()
        .find(|l| l.task == Some("blocking"));
    match blocking.map(|l| l.stats) {
        Some(s)
            if s.total_slow_poll_count == 1
                && s.total_stall_count == 1
                && s.total_slow_poll_duration >= Duration::from_millis(250) => {}
        other => {
            eprintln!(
                "the 250ms blocking poll of blocking_handler was not reported as one slow poll \
                 and one stall: {other:?}"
            );
            std::process::exit(1);
        }
    }
    Ok(())
}
