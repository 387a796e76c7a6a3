//! `perf_core::profile`: a CPU burner known by name dominates the profile in all three
//! outputs (top-N table, flame graph SVG, decoded pprof protobuf); `cpu_while` keeps only
//! the calling thread; one profile at a time. Run with `--features profile`.
#![cfg(feature = "profile")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use perf_core::profile::{self, ProfileError, Sampler};
use pprof::protos::Message;

#[path = "support/burn.rs"]
mod burn;
use burn::{burn_cpu, in_background};

/// The sampler is process-wide: the tests of this binary take turns.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Busy on another thread, so `cpu_while` has samples to leave out.
#[inline(never)]
fn other_thread_work(stop: &AtomicBool) -> u64 {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

const BURNER: &str = "profile::burn::burn_cpu";

#[test]
fn a_burning_function_holds_most_samples_in_every_output() {
    let _turn = one_at_a_time();
    let burner = in_background(burn_cpu);
    let p = profile::cpu(Duration::from_secs(2)).unwrap();
    drop(burner);

    // Only the burner uses CPU during the profile, and SIGPROF follows CPU time, so its
    // share holds however loaded the machine is.
    let top = p.top(10);
    let row = top
        .row(BURNER)
        .unwrap_or_else(|| panic!("{BURNER} not in\n{top}"));
    assert!(top.self_share(row) >= 0.5, "{top}");
    assert_eq!(top.rows[0].name, BURNER, "{top}");
    assert!(p.share_of("burn_cpu") >= 0.5);
    assert_eq!(p.frequency_hz(), 99);
    assert!(p.duration() >= Duration::from_secs(2));

    let svg = p.flamegraph_svg().unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains(BURNER));

    let decoded = pprof::protos::Profile::decode(p.pprof()).unwrap();
    let strings = &decoded.string_table;
    let burner_fn = decoded
        .function
        .iter()
        .find(|f| strings[f.name as usize] == BURNER)
        .unwrap_or_else(|| panic!("{BURNER} not among the protobuf's functions"));
    let burner_locations: Vec<u64> = decoded
        .location
        .iter()
        .filter(|l| l.line.iter().any(|line| line.function_id == burner_fn.id))
        .map(|l| l.id)
        .collect();
    let total: i64 = decoded.sample.iter().map(|s| s.value[0]).sum();
    let in_burner: i64 = decoded
        .sample
        .iter()
        .filter(|s| s.location_id.iter().any(|id| burner_locations.contains(id)))
        .map(|s| s.value[0])
        .sum();
    assert_eq!(total as u64, p.samples());
    assert!(in_burner * 2 >= total, "{in_burner} of {total} samples");
}

#[test]
fn cpu_while_keeps_only_the_calling_threads_samples() {
    let _turn = one_at_a_time();
    let other = in_background(other_thread_work);
    let p = profile::cpu_while(|| burn_for(Duration::from_secs(1))).unwrap();
    drop(other);
    assert_eq!(p.share_of("other_thread_work"), 0.0);
    assert!(p.share_of("burn_slice") >= 0.5, "{}", p.top(10));
    let threads: Vec<&str> = p.stacks().iter().map(|s| s.thread.as_str()).collect();
    let me = std::thread::current().name().unwrap_or_default().to_owned();
    assert!(threads.iter().all(|t| me.starts_with(*t)), "{threads:?}");
}

#[inline(never)]
fn burn_slice(n: u64) -> u64 {
    let mut x = n | 1;
    let mut i = 0;
    while i < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i += 1;
    }
    x
}

fn burn_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::black_box(burn_slice(std::hint::black_box(20_000)));
    }
}

/// A `#[timed]` function with the burner's arithmetic.
#[perf_core::timed]
#[inline(never)]
fn timed_burner(n: u64) -> u64 {
    burn_slice(n)
}

#[test]
fn a_timed_functions_frames_are_findable_by_name_in_the_flame_graph() {
    let _turn = one_at_a_time();
    let mut calls = 0u64;
    let p = profile::cpu_while(|| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            std::hint::black_box(timed_burner(std::hint::black_box(20_000)));
            calls += 1;
        }
    })
    .unwrap();
    assert!(p.share_of("profile::timed_burner") >= 0.5, "{}", p.top(10));
    let svg = p.flamegraph_svg().unwrap();
    assert!(
        svg.contains("<title>profile::timed_burner"),
        "not in the SVG"
    );
    // The profile and the timing saw the same calls.
    assert_eq!(perf_core::summary("timed_burner").unwrap().count, calls);
}

#[test]
fn a_second_profile_is_refused_while_one_runs() {
    let _turn = one_at_a_time();
    let first = Sampler::new().start().unwrap();
    assert!(profile::is_running());
    assert!(matches!(
        profile::cpu(Duration::from_millis(1)),
        Err(ProfileError::AlreadyRunning)
    ));
    drop(first);
    assert!(!profile::is_running());
    let again = Sampler::new().start().unwrap();
    again.stop().unwrap();
}

#[test]
fn sampling_rates_outside_1_to_1000_hz_are_refused() {
    for hz in [0, 1001, u32::MAX] {
        let err = Sampler::new().frequency(hz).unwrap_err();
        assert!(matches!(err, ProfileError::InvalidFrequency(h) if h == hz));
        assert!(err.to_string().contains("1 to 1000 Hz"), "{err}");
    }
    assert_eq!(
        Sampler::new().frequency(1000).unwrap(),
        Sampler::new().frequency(1000).unwrap()
    );
}
