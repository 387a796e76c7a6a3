//! `process_threads` counts the threads exactly. The one test of its binary, so no other
//! test's thread starts or exits while it counts.
#![cfg(target_os = "linux")]

use std::sync::mpsc;

fn threads(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("process_threads "))
        .unwrap_or_else(|| panic!("no process_threads in:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn process_threads_counts_each_thread_started() {
    const N: u64 = 6;
    let (_recorder, exporter) = perf_core::export::prometheus()
        .with_process_metrics()
        .build()
        .unwrap();
    let before = threads(&exporter.render());
    let mut parked = Vec::new();
    for _ in 0..N {
        let (release, wait) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let _ = wait.recv();
        });
        parked.push((release, t));
    }
    assert_eq!(threads(&exporter.render()), before + N);
    for (release, t) in parked {
        drop(release);
        t.join().unwrap();
    }
}
