//! Profiling is safe next to everything else that interrupts threads: for 10 s, CPU
//! profiles start and stop back to back while threads start and exit and perf-async's
//! watchdog captures stalled tasks' stacks with its own signal. Nothing may crash or
//! deadlock, every profile must come back, and every stack must be whole.
//!
//! `cargo test --features profile,stack --test profile_safety` (`.ci/run` runs it).
#![cfg(all(feature = "profile", feature = "stack", target_os = "linux"))]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use perf::async_::{CollectingSink, Config, FutureExt, PollState, Watchdog, WatchdogConfig};

const RUN_FOR: Duration = Duration::from_secs(10);

/// A task body that blocks its worker for 30 ms, past the 20 ms threshold, so the
/// watchdog captures its stack while it spins.
#[inline(never)]
fn safety_spin() -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(30) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

#[inline(never)]
fn short_lived_thread_work() -> u64 {
    (0..std::hint::black_box(20_000u64)).fold(0, |a, i| a ^ i.rotate_left(5))
}

struct Outcome {
    profiles: u64,
    spin_share: f64,
    threads_started: u64,
    threads_joined: u64,
    stacks: usize,
}

fn run() -> Outcome {
    let sink = Arc::new(CollectingSink::new());
    let watchdog = Watchdog::start_with(
        WatchdogConfig::new()
            .with_interval(Duration::from_millis(5))
            .unwrap()
            .with_sink(sink.clone()),
    )
    .unwrap();
    let config = Config::new()
        .with_threshold(Duration::from_millis(20))
        .unwrap()
        .with_sink(Arc::new(CollectingSink::new()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // Two tasks at a time keep both workers blocked, so stacks are captured throughout.
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let config = config.clone();
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::spawn(async { safety_spin() }.detect_blocking_with(config.clone()))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();

    let started = Arc::new(AtomicU64::new(0));
    let joined = Arc::new(AtomicU64::new(0));
    let churn = std::thread::spawn({
        let (stop, started, joined) = (stop.clone(), started.clone(), joined.clone());
        move || {
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..4)
                    .map(|_| {
                        started.fetch_add(1, Ordering::Relaxed);
                        std::thread::spawn(short_lived_thread_work)
                    })
                    .collect();
                for t in batch {
                    t.join().unwrap();
                    joined.fetch_add(1, Ordering::Relaxed);
                }
                // Hundreds of threads a second, not thousands: the spinners keep the CPU.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });

    let start = Instant::now();
    let (mut profiles, mut samples, mut spin_samples) = (0u64, 0u64, 0u64);
    while start.elapsed() < RUN_FOR {
        let p = perf::profile::cpu(Duration::from_millis(500)).unwrap();
        profiles += 1;
        samples += p.samples();
        spin_samples += (p.share_of("safety_spin") * p.samples() as f64).round() as u64;
    }

    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    for s in spinners {
        rt.block_on(s).unwrap();
    }
    watchdog.stop();

    let stalls: Vec<_> = sink
        .polls()
        .into_iter()
        .filter(|p| p.state == PollState::StillRunning)
        .collect();
    let whole: Vec<_> = stalls
        .iter()
        .filter_map(|p| p.stack.as_ref())
        .filter(|s| s.missing_reason().is_none())
        .collect();
    assert_ne!(whole.len(), 0, "no stack was captured while profiling");
    for stack in &whole {
        assert!(stack.contains_function("safety_spin"), "{stack}");
    }
    Outcome {
        profiles,
        spin_share: spin_samples as f64 / samples.max(1) as f64,
        threads_started: started.load(Ordering::Relaxed),
        threads_joined: joined.load(Ordering::Relaxed),
        stacks: whole.len(),
    }
}

#[test]
fn profiling_survives_thread_churn_and_stack_capture_for_10_seconds() {
    // A deadlock shows as no answer: the run gets four times its length, then fails.
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(run());
    });
    let o = outcome
        .recv_timeout(RUN_FOR * 4)
        .expect("profiling with thread churn and stack capture deadlocked or panicked");
    println!(
        "{} profiles, safety_spin {:.2} of samples, {} threads started and joined, {} stacks captured",
        o.profiles, o.spin_share, o.threads_joined, o.stacks
    );
    assert_eq!(o.threads_started, o.threads_joined);
    // The spinning workers use most of the CPU; the margin is wide for loaded machines.
    assert!(
        o.spin_share >= 0.25,
        "safety_spin holds {:.2}",
        o.spin_share
    );
    assert!(!perf::profile::is_running());
}
