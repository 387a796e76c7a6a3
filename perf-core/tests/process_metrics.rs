//! The process collector against what the kernel says otherwise: open descriptors counted
//! with `fcntl`, the fd limit from `getrlimit`, CPU time from `getrusage`. Linux only, as the
//! collector. (`promtool check metrics` judges them in the facade's
//! `tests/promtool_exposition.rs`.)
//!
//! The tests share the process's descriptors and limits: one at a time.
#![cfg(target_os = "linux")]

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use perf_core::export::PrometheusExporter;
use perf_core::names;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exporter() -> PrometheusExporter {
    perf_core::export::prometheus()
        .add_global_label("service", "batch")
        .unwrap()
        .with_process_metrics()
        .build()
        .unwrap()
        .1
}

/// The value of `name{service="batch"}`.
fn value(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{service=\"batch\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .parse()
        .unwrap()
}

/// Descriptors open right now, by asking the kernel for each one's flags.
fn fds_by_fcntl() -> f64 {
    (0..65_536)
        // SAFETY: F_GETFD only reads the flags of a descriptor, open or not.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .count() as f64
}

fn nofile() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

#[test]
fn open_fds_counts_every_descriptor_and_follows_opened_files() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = exporter();
    let before = value(&exporter.render(), names::PROCESS_OPEN_FDS);
    assert_eq!(before, fds_by_fcntl());
    let files: Vec<std::fs::File> = (0..9)
        .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
        .collect();
    assert_eq!(
        value(&exporter.render(), names::PROCESS_OPEN_FDS),
        before + 9.0
    );
    drop(files);
    assert_eq!(value(&exporter.render(), names::PROCESS_OPEN_FDS), before);
}

#[test]
fn max_fds_is_the_soft_limit_read_at_each_scrape() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = exporter();
    let lim = nofile();
    assert_eq!(
        value(&exporter.render(), names::PROCESS_MAX_FDS),
        lim.rlim_cur as f64
    );
    let lowered = libc::rlimit {
        rlim_cur: lim.rlim_cur - 1,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit reads the struct it is given.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
    let seen = value(&exporter.render(), names::PROCESS_MAX_FDS);
    // SAFETY: as above; the limit goes back before any assertion can fail.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(seen, (lim.rlim_cur - 1) as f64);
}

#[test]
fn cpu_seconds_agree_with_getrusage_and_start_time_is_past() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = exporter();
    // Some CPU time of our own, so the comparison is not of two zeros.
    let mut x = 0u64;
    for i in 0..30_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    let text = exporter.render();
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let rusage = secs(usage.ru_utime) + secs(usage.ru_stime);
    let cpu = value(&text, names::PROCESS_CPU_SECONDS);
    // /proc counts in ticks (10 ms), getrusage in µs, read a moment apart.
    assert!(
        (cpu - rusage).abs() < 0.05,
        "/proc says {cpu} s, getrusage {rusage} s"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(&text, names::PROCESS_START_TIME);
    assert!(
        started <= now + 0.01 && started > now - 3600.0,
        "started at {started}, now {now}"
    );
}

#[test]
fn every_process_metric_is_there_with_its_type() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = exporter();
    perf_core::histogram("process_test_step_seconds", &[])
        .unwrap()
        .record_nanos(1_000);
    let text = exporter.render();
    for (name, kind) in [
        (names::PROCESS_CPU_SECONDS, "counter"),
        (names::PROCESS_OPEN_FDS, "gauge"),
        (names::PROCESS_MAX_FDS, "gauge"),
        (names::PROCESS_VIRTUAL_MEMORY, "gauge"),
        (names::PROCESS_RESIDENT_MEMORY, "gauge"),
        (names::PROCESS_START_TIME, "gauge"),
        (names::PROCESS_THREADS, "gauge"),
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {name} {kind}\n")),
            "{name}:\n{text}"
        );
        assert!(names::METRICS.contains(&name));
    }
    // Memory is whole pages and bytes: integers.
    assert_eq!(value(&text, names::PROCESS_RESIDENT_MEMORY).fract(), 0.0);
}
