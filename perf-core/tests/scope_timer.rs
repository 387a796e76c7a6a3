//! The scope timer records when dropped, also while unwinding from a panic.

use std::time::Duration;

#[test]
fn records_on_drop_with_result_ok() {
    for _ in 0..3 {
        let _t = perf_core::time("scope_ok_block");
        std::thread::sleep(Duration::from_millis(1));
    }
    let s = perf_core::summary_with("scope_ok_block", &[("result", "ok")]).unwrap();
    assert_eq!(s.count, 3);
    assert!(s.min >= Duration::from_millis(1), "{s}");
}

#[test]
fn records_while_unwinding_with_result_panic() {
    let r = std::panic::catch_unwind(|| {
        let _t = perf_core::time("scope_panicking_block");
        panic!("boom");
    });
    assert!(r.is_err());
    assert_eq!(
        perf_core::summary_with("scope_panicking_block", &[("result", "panic")])
            .unwrap()
            .count,
        1
    );
    assert!(perf_core::summary_with("scope_panicking_block", &[("result", "ok")]).is_none());
}

#[test]
fn names_alternating_on_one_thread_go_to_their_own_histograms() {
    let owned = String::from("scope_dynamic_b");
    for _ in 0..4 {
        drop(perf_core::time("scope_dynamic_a"));
        drop(perf_core::time(&owned));
    }
    assert_eq!(perf_core::summary("scope_dynamic_a").unwrap().count, 4);
    assert_eq!(perf_core::summary("scope_dynamic_b").unwrap().count, 4);
    let report = perf_core::report();
    assert!(report.row("scope_dynamic_a").is_some());
}
