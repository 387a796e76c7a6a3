//! Runs the `perf-gate` binary on hand-written criterion folders and checks its exit code
//! and output.

use std::path::{Path, PathBuf};
use std::process::Command;

fn change(lo: f64, point: f64, hi: f64) -> String {
    let e = format!(
        r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lo},"upper_bound":{hi}}},"point_estimate":{point},"standard_error":0.01}}"#
    );
    format!(r#"{{"mean":{e},"median":{e}}}"#)
}

fn folder(name: &str, benches: &[(&str, String)]) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("perf_gate")
        .join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    for (bench, json) in benches {
        let dir = root.join(bench).join("change");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("estimates.json"), json).unwrap();
    }
    root
}

fn gate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perf-gate"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn regression_exits_1_and_names_the_benchmark() {
    let root = folder(
        "regressed",
        &[
            ("parse/small", change(0.08, 0.10, 0.12)),
            ("parse/large", change(-0.02, 0.01, 0.03)),
        ],
    );
    let (code, out, _) = gate(&["--threshold", "5%", root.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("REGRESSION parse/small: mean +10.00%"),
        "{out}"
    );
    assert!(out.contains("parse/large"), "{out}");
    // at 10% the same data passes
    let (code, out, _) = gate(&["--threshold=10", root.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 benchmarks, 0 regressed beyond 10.00%"),
        "{out}"
    );
}

#[test]
fn no_data_bad_shape_and_bad_args_exit_2() {
    let empty = folder("empty", &[]);
    let (code, _, err) = gate(&[empty.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no criterion change data"), "{err}");

    let bad = folder("bad", &[("g/b", r#"{"mean":"fast"}"#.to_owned())]);
    let (code, _, err) = gate(&[bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("does not look like criterion's change/estimates.json"),
        "{err}"
    );

    let (code, _, err) = gate(&["--threshold", "lots"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid threshold \"lots\""), "{err}");
    let (code, _, err) = gate(&["--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option --frobnicate"), "{err}");
    let (code, out, _) = gate(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--save-baseline main"), "{out}");
}

#[test]
fn stale_benches_are_listed_not_judged() {
    let root = folder(
        "stale",
        &[
            ("old/removed", change(0.30, 0.40, 0.50)),
            ("parse/small", change(-0.01, 0.0, 0.01)),
        ],
    );
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(root.join("old/removed/change/estimates.json"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (code, out, _) = gate(&[root.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("stale (not measured in the latest run, not judged): old/removed"),
        "{out}"
    );
    assert!(
        out.ends_with("1 benchmarks, 0 regressed beyond 5.00%, 1 skipped as stale\n"),
        "{out}"
    );
    // naming the old bench judges it, and its regression fails the gate
    let (code, out, _) = gate(&["--only", "old/removed", root.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = gate(&["--window", "4h", root.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = gate(&["--window", "soon", root.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid window \"soon\""), "{err}");
}
