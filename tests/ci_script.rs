//! `.ci/run` is what CI runs on a fresh machine. It must never stop a process it did not
//! start, and it must never pass with the Prometheus tests skipped: without `prometheus`,
//! `promtool` or `prometheus-pushgateway` it fails, and it always runs the tests with
//! `PERF_REQUIRE_PROMETHEUS=1` and `PERF_REQUIRE_PUSHGATEWAY=1`.

use std::path::Path;

fn ci_script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The script's commands: comments and blank lines dropped.
fn commands(script: &str) -> Vec<&str> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn ci_stops_no_process_it_did_not_start() {
    let script = ci_script();
    for line in commands(&script) {
        for word in line.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')) {
            assert!(
                !["pkill", "killall", "kill"].contains(&word),
                ".ci/run stops processes: {line:?}"
            );
        }
    }
}

#[test]
fn ci_requires_prometheus_at_top_level() {
    let script = ci_script();
    let lines = commands(&script);
    // Exported unconditionally: not inside an `if`, so a failed install cannot drop it.
    for require in ["PERF_REQUIRE_PROMETHEUS", "PERF_REQUIRE_PUSHGATEWAY"] {
        let export = format!("export {require}=1");
        let mut depth = 0i32;
        let mut exported_at_top = false;
        for line in &lines {
            if line.starts_with("if ") {
                depth += 1;
            }
            if *line == "fi" {
                depth -= 1;
            }
            if *line == export && depth == 0 {
                exported_at_top = true;
            }
        }
        assert!(exported_at_top, ".ci/run must `{export}` outside any `if`");
    }
    for tool in ["prometheus", "promtool", "prometheus-pushgateway"] {
        assert!(
            lines.iter().any(|l| l.contains("command -v")
                && l.contains("exit 1")
                && (l.contains("$tool") || l.contains(&format!(" {tool} "))))
                && script.contains(&format!(" {tool}")),
            ".ci/run must fail when {tool} is missing"
        );
    }
}

#[test]
fn ci_requires_chromium_for_the_flame_graph_test() {
    let script = ci_script();
    let lines = commands(&script);
    assert!(
        lines.contains(&"export PERF_REQUIRE_CHROMIUM=1"),
        ".ci/run must `export PERF_REQUIRE_CHROMIUM=1`"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("command -v chromium") && l.contains("exit 1")),
        ".ci/run must fail when chromium is missing"
    );
    assert!(
        lines.contains(&"cargo test -p perf-core --features profile"),
        ".ci/run must run the profile tests with `--features profile`"
    );
}
