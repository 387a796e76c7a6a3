//! Baseline files: their stable format, and every way an existing file can be unusable —
//! each error names the file and how to regenerate it.

use std::path::Path;

use perf_core::baseline::{Baseline, BaselineCheck, BaselineError, BaselineOutcome, Fingerprint};
use perf_core::env::BaselineMode;

fn check(dir: &Path) -> BaselineCheck {
    BaselineCheck::new("svc")
        .dir(dir)
        .mode(BaselineMode::Auto)
        .ci(false)
}

#[test]
fn written_file_is_stable_sorted_pretty_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path())
        .check_samples(vec![300, 100, 200])
        .unwrap();
    let BaselineOutcome::Created(path) = out else {
        panic!("{out}")
    };
    assert_eq!(path, dir.path().join("svc.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["name"], "svc");
    assert_eq!(value["samples_ns"], serde_json::json!([100, 200, 300]));
    assert_eq!(value["summary"]["count"], 3);
    for key in [
        "build_profile",
        "cpu_model",
        "cpu_cores",
        "os",
        "arch",
        "rustc",
    ] {
        assert!(
            !value["fingerprint"][key].is_null(),
            "fingerprint.{key} missing: {text}"
        );
    }
    assert!(text.ends_with("}\n"));
    assert!(
        text.contains("\n  \"samples_ns\": [\n    100,\n    200,\n    300\n  ]"),
        "{text}"
    );
    // same samples in another order: byte-identical file
    let again = Baseline::new("svc", Fingerprint::current(), vec![200, 300, 100]).to_json();
    assert_eq!(again, text);
    // no temporary file left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn assert_names_file_and_fix(err: &BaselineError, path: &Path) {
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("PERF_BASELINE=update"), "{msg}");
}

#[test]
fn corrupt_files_are_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("svc.json");
    for (text, why) in [
        ("{ not json", "not JSON"),
        (r#"{"format_version":1,"name":"svc"}"#, "unexpected shape"),
        (r#"[1,2,3]"#, "format_version none"),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = check(dir.path()).check_samples(vec![1, 2, 3]).unwrap_err();
        assert_names_file_and_fix(&err, &path);
        let msg = err.to_string();
        assert!(msg.contains(why), "{why}: {msg}");
    }
    let mut empty = Baseline::new("svc", Fingerprint::current(), vec![1]);
    empty.samples_ns.clear();
    std::fs::write(&path, empty.to_json()).unwrap();
    let err = check(dir.path()).check_samples(vec![1]).unwrap_err();
    assert!(err.to_string().contains("holds no samples"), "{err}");
}

#[test]
fn older_or_newer_format_version_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("svc.json");
    for v in [0, 2] {
        let mut b = Baseline::new("svc", Fingerprint::current(), vec![1, 2]);
        b.format_version = v;
        std::fs::write(&path, b.to_json()).unwrap();
        let err = check(dir.path()).check_samples(vec![1, 2]).unwrap_err();
        assert!(
            matches!(err, BaselineError::UnsupportedFormat { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("format_version {v}, this perf reads version 1")),
            "{err}"
        );
        assert_names_file_and_fix(&err, &path);
    }
}

#[test]
fn update_mode_rewrites_a_corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("svc.json");
    std::fs::write(&path, "garbage").unwrap();
    let out = check(dir.path())
        .mode(BaselineMode::Update)
        .check_samples(vec![5, 6])
        .unwrap();
    assert!(matches!(out, BaselineOutcome::Updated(_)), "{out}");
    assert_eq!(Baseline::read(&path).unwrap().samples_ns, vec![5, 6]);
}

#[test]
fn another_machine_is_skipped_with_a_note_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = Fingerprint {
        cpu_model: "Some Other CPU @ 9GHz".into(),
        ..Fingerprint::current()
    };
    check(dir.path())
        .fingerprint(elsewhere)
        .check_samples(vec![1_000; 50])
        .unwrap();
    // 10x slower here, but measured on another CPU: not a regression
    let out = check(dir.path()).check_samples(vec![10_000; 50]).unwrap();
    let BaselineOutcome::Skipped { differences, .. } = &out else {
        panic!("{out}")
    };
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert!(
        differences[0].starts_with("cpu_model: \"Some Other CPU @ 9GHz\" vs "),
        "{differences:?}"
    );
    let note = out.to_string();
    assert!(note.starts_with("note: baseline "), "{note}");
    assert!(note.contains("rerun with PERF_BASELINE=update"), "{note}");
}

#[test]
fn unreadable_directory_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not_a_dir");
    std::fs::write(&file, "x").unwrap();
    let err = BaselineCheck::new("svc")
        .dir(&file)
        .mode(BaselineMode::Auto)
        .ci(false)
        .check_samples(vec![1])
        .unwrap_err();
    assert!(matches!(err, BaselineError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not_a_dir"), "{err}");
}

#[test]
fn macro_defaults_to_the_calling_crates_perf_baselines_folder() {
    let check = BaselineCheck::new("svc").manifest_dir("/some/crate");
    if std::env::var_os("PERF_BASELINE_DIR").is_none() {
        assert_eq!(
            check.path(),
            Path::new("/some/crate/perf-baselines/svc.json")
        );
    }
    let explicit = check.dir("/elsewhere");
    assert_eq!(explicit.path(), Path::new("/elsewhere/svc.json"));
}

/// A CI that never committed its baselines must not pass without comparing: with `CI` set
/// or `PERF_BASELINE=check`, a missing file fails and says how to create it, and nothing is
/// written. Locally (default mode, no CI) it is still created.
#[test]
fn missing_baseline_fails_on_ci_and_in_check_mode() {
    let cases = [
        (BaselineMode::Auto, true, "CI is set"),
        (BaselineMode::Check, false, "PERF_BASELINE=check"),
        (BaselineMode::Check, true, "PERF_BASELINE=check"),
    ];
    for (mode, ci, why) in cases {
        let dir = tempfile::tempdir().unwrap();
        let err = BaselineCheck::new("svc")
            .dir(dir.path())
            .mode(mode)
            .ci(ci)
            .check_samples(vec![100, 200])
            .unwrap_err();
        let path = dir.path().join("svc.json");
        let BaselineError::Missing { path: named, .. } = &err else {
            panic!("{mode:?} ci={ci}: {err:?}")
        };
        assert_eq!(named, &path);
        let msg = err.to_string();
        assert!(msg.contains(why), "{msg}");
        assert!(
            msg.contains("PERF_BASELINE=update cargo test") && msg.contains("commit"),
            "{msg}"
        );
        assert!(!path.exists(), "{mode:?} ci={ci}: the file was written");
    }
    let dir = tempfile::tempdir().unwrap();
    let local = BaselineCheck::new("svc")
        .dir(dir.path())
        .mode(BaselineMode::Auto)
        .ci(false)
        .check_samples(vec![100, 200])
        .unwrap();
    assert!(
        matches!(&local, BaselineOutcome::Created(p) if p == &dir.path().join("svc.json")),
        "{local}"
    );
}
