use super::*;

fn estimates(lo: f64, point: f64, hi: f64) -> String {
    let e = |lo: f64, p: f64, hi: f64| {
        format!(
            r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lo},"upper_bound":{hi}}},"point_estimate":{p},"standard_error":0.01}}"#
        )
    };
    format!(
        r#"{{"mean":{},"median":{}}}"#,
        e(lo, point, hi),
        e(lo, point, hi)
    )
}

fn put(root: &Path, bench: &str, json: &str) {
    let dir = root.join(bench).join("change");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("estimates.json"), json).unwrap();
    // criterion also writes these; the gate must ignore them
    let new = root.join(bench).join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join("estimates.json"), "{\"unrelated\":1}").unwrap();
}

#[test]
fn finds_nested_benchmarks_and_judges_them() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "recording/record/1_thread",
        &estimates(0.08, 0.10, 0.12),
    );
    put(
        dir.path(),
        "recording/scope_timer",
        &estimates(-0.01, 0.02, 0.06),
    );
    put(
        dir.path(),
        "render/exposition",
        &estimates(-0.30, -0.25, -0.20),
    );
    std::fs::create_dir_all(dir.path().join("report")).unwrap();
    let changes = read_changes(dir.path()).unwrap();
    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "recording/record/1_thread",
            "recording/scope_timer",
            "render/exposition"
        ]
    );
    let verdicts: Vec<Verdict> = changes.iter().map(|c| c.verdict(0.05)).collect();
    assert_eq!(
        verdicts,
        [Verdict::Regressed, Verdict::NoChange, Verdict::Improved]
    );
    let report = GateReport {
        threshold: 0.05,
        changes,
        stale: Vec::new(),
    };
    let text = report.to_string();
    assert!(
        text.starts_with(
            "REGRESSION recording/record/1_thread: mean +10.00% (95% CI +8.00% .. +12.00%)"
        ),
        "{text}"
    );
    assert!(text.contains("render/exposition"), "{text}");
    assert!(
        text.ends_with("3 benchmarks, 1 regressed beyond 5.00%, 0 skipped as stale"),
        "{text}"
    );
    // a higher threshold lets the 8%-lower-bound change pass
    let lenient = GateReport {
        threshold: 0.10,
        ..report
    };
    assert_eq!(lenient.regressions().count(), 0);
}

fn age(root: &Path, bench: &str, by: Duration) {
    let when = SystemTime::now() - by;
    for sub in ["change", "new"] {
        let file = root.join(bench).join(sub).join("estimates.json");
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(when).unwrap();
    }
}

#[test]
fn benches_not_measured_in_the_latest_run_are_skipped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    // the old run's regression must not fail this run, whose bench did not change
    put(dir.path(), "old/removed", &estimates(0.30, 0.40, 0.50));
    put(dir.path(), "parse/small", &estimates(-0.01, 0.0, 0.01));
    age(dir.path(), "old/removed", Duration::from_secs(3 * 60 * 60));
    age(dir.path(), "parse/small", Duration::from_secs(60));
    let report = read_report(dir.path(), 0.05, &Selection::default()).unwrap();
    let names = |v: &[BenchChange]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&report.changes), ["parse/small"]);
    assert_eq!(names(&report.stale), ["old/removed"]);
    assert_eq!(report.regressions().count(), 0);
    let text = report.to_string();
    assert!(
        text.contains("stale (not measured in the latest run, not judged): old/removed"),
        "{text}"
    );
    assert!(
        text.ends_with("1 benchmarks, 0 regressed beyond 5.00%, 1 skipped as stale"),
        "{text}"
    );
    // a window longer than the gap keeps both
    let wide = Selection::Window(Duration::from_secs(4 * 60 * 60));
    let report = read_report(dir.path(), 0.05, &wide).unwrap();
    assert_eq!(names(&report.changes), ["old/removed", "parse/small"]);
    assert_eq!(report.stale.len(), 0);
    // an explicit list wins over times
    let only = Selection::Only(vec!["old/removed".into()]);
    let report = read_report(dir.path(), 0.05, &only).unwrap();
    assert_eq!(names(&report.changes), ["old/removed"]);
    assert_eq!(names(&report.stale), ["parse/small"]);
    let err = read_report(dir.path(), 0.05, &Selection::Only(vec!["nope".into()])).unwrap_err();
    let GateError::UnknownBenches { missing, found, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(missing, &["nope"]);
    assert_eq!(found, &["old/removed", "parse/small"]);
}

#[test]
fn empty_and_missing_folders_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("group/bench/new")).unwrap();
    let err = read_changes(dir.path()).unwrap_err();
    assert!(matches!(err, GateError::NoData(_)), "{err:?}");
    assert!(err.to_string().contains("--save-baseline main"), "{err}");
    let err = read_changes(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, GateError::NoFolder(_)), "{err:?}");
}

#[test]
fn unexpected_shapes_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "not json",
        r#"{"mean":{"point_estimate":0.1}}"#,
        r#"{"mean":1,"median":2}"#,
        &estimates(0.2, 0.1, 0.0),
    ] {
        put(dir.path(), "g/b", bad);
        let err = read_changes(dir.path()).unwrap_err();
        assert!(
            matches!(err, GateError::UnexpectedShape { .. }),
            "{bad}: {err:?}"
        );
        assert!(
            err.to_string().contains("g/b/change/estimates.json"),
            "{err}"
        );
    }
}

#[test]
fn thresholds() {
    assert_eq!(parse_threshold(" 10 % ").unwrap(), 0.10);
    assert_eq!(parse_threshold("0").unwrap(), 0.0);
    for bad in ["", "%", "five", "NaN", "-3", "inf"] {
        assert!(
            matches!(parse_threshold(bad), Err(GateError::BadThreshold(_))),
            "{bad}"
        );
    }
}
