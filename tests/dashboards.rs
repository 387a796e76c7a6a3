//! The Grafana dashboard (`dashboards/perf.json`) and the Prometheus alert rules
//! (`alerts/perf.rules.yml`) shipped with perf: every panel queries a metric perf exports,
//! every query is valid PromQL, and the alerts pass their `promtool test rules` unit tests.
//!
//! The promtool checks need `promtool` on `PATH` (Debian: `apt-get install prometheus`);
//! without it they print `SKIPPED: ...` and return, or fail with `PERF_REQUIRE_PROMETHEUS=1`.

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const DASHBOARD: &str = "dashboards/perf.json";
const ALERTS: &str = "alerts/perf.rules.yml";
const ALERT_TESTS: &str = "alerts/perf.rules.test.yml";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(repo(DASHBOARD)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not JSON: {e}"))
}

fn panels(dashboard: &Value) -> Vec<&Value> {
    dashboard["panels"]
        .as_array()
        .expect("the dashboard has panels")
        .iter()
        .filter(|p| p["type"] != "row")
        .collect()
}

/// Every (panel title, refId, PromQL expression) of the dashboard.
fn queries(dashboard: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in panels(dashboard) {
        let title = p["title"].as_str().unwrap_or_default().to_owned();
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                title.clone(),
                t["refId"].as_str().unwrap_or_default().to_owned(),
                t["expr"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

/// The metric families perf-core, perf-async and perf-llm export: each crate's `names::METRICS`.
fn exported_families() -> Vec<String> {
    [
        perf::core::names::METRICS,
        perf::async_::names::METRICS,
        perf::llm::names::METRICS,
    ]
    .concat()
    .into_iter()
    .map(String::from)
    .collect()
}

/// Whether `name` is a series of one of `families` (a histogram's `_bucket`/`_sum`/`_count` too).
fn is_exported(name: &str, families: &[String]) -> bool {
    families.iter().any(|f| {
        name == f
            || name
                .strip_prefix(f.as_str())
                .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))
    })
}

/// PromQL's aggregation operators (the ones written `sum by (...) (...)` as well as `sum(...)`).
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// PromQL's keywords.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
];

/// The metric names a PromQL expression reads: identifiers outside `{...}` and `[...]` that
/// are not functions, aggregations, keywords, numbers or label names of a `by (...)` list.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let (mut i, mut braces, mut brackets) = (0, 0i32, 0i32);
    let mut label_list = false;
    let mut last_word = String::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            ')' => label_list = false,
            '(' => label_list = KEYWORDS[..4].contains(&last_word.as_str()),
            '"' | '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number, exponent and all (`1e9`, `0.99`).
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_alphanumeric() || chars[i + 1] == '.')
                {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                let outside = braces == 0 && brackets == 0;
                let is_call = next == Some(&'(') && !KEYWORDS.contains(&word.as_str());
                if outside
                    && !label_list
                    && !is_call
                    && !AGGREGATIONS.contains(&word.as_str())
                    && !KEYWORDS.contains(&word.as_str())
                    && start.checked_sub(1).is_none_or(|b| chars[b] != '$')
                {
                    names.insert(word.clone());
                }
                last_word = word;
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last_word.clear();
        }
        i += 1;
    }
    names
}

#[test]
fn every_panel_queries_metrics_perf_exports() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36, "schemaVersion");
    assert!(
        !d["uid"].as_str().unwrap_or_default().is_empty(),
        "the dashboard has a uid"
    );
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter().any(|v| v["type"] == "datasource"
            && v["query"] == "prometheus"
            && v["name"] == "datasource"),
        "a Prometheus datasource variable named datasource"
    );
    let families = exported_families();
    let mut ids = HashSet::new();
    let panels = panels(&d);
    assert!(panels.len() >= 10, "only {} panels", panels.len());
    for p in &panels {
        let title = p["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "a panel without a title: {p}");
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "{title}: duplicate panel id"
        );
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "{title}: datasource"
        );
        let w = p["gridPos"]["w"].as_u64().unwrap();
        let x = p["gridPos"]["x"].as_u64().unwrap();
        assert!(x + w <= 24, "{title}: wider than the grid");
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no targets");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: an empty query");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr} reads no metric");
            for name in &names {
                assert!(
                    is_exported(name, &families),
                    "{title}: {expr} reads {name}, which perf does not export (known: {families:?})"
                );
            }
        }
    }
    // Every part of perf has its panels.
    let all: String = queries(&d)
        .into_iter()
        .map(|(_, _, e)| e)
        .collect::<Vec<_>>()
        .join("\n");
    for needed in [
        "function_calls_duration_seconds_bucket",
        // The native histograms, beside the classic buckets.
        "rate(function_calls_duration_seconds{",
        "rate(http_server_request_duration_seconds[",
        "function_calls_total",
        "http_server_request_duration_seconds_bucket",
        "async_slow_polls_total",
        "async_slow_poll_duration_seconds_bucket",
        "gen_ai_client_token_usage_sum",
        "gen_ai_client_cost_nano_usd_total",
        "gen_ai_client_cost_without_cache_nano_usd_total",
        "perf_heap_live_bytes",
        "perf_heap_allocations_total",
        "function_allocations_total",
        "function_allocated_bytes_total",
    ] {
        assert!(all.contains(needed), "no panel queries {needed}");
    }
}

/// Every `expr` of the alert rules file, with the names its `record:` rules define.
fn alert_exprs() -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(repo(ALERTS)).unwrap();
    let (mut exprs, mut recorded) = (Vec::new(), Vec::new());
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        if let Some(name) = line.strip_prefix("- record:") {
            recorded.push(name.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("expr:") {
            let rest = rest.trim();
            if rest == "|" {
                // A block: the lines indented deeper than `expr:`.
                let indent = lines[i].len() - line.len();
                let mut block = String::new();
                while i + 1 < lines.len()
                    && (lines[i + 1].trim().is_empty()
                        || lines[i + 1].len() - lines[i + 1].trim_start().len() > indent)
                {
                    i += 1;
                    block.push_str(lines[i].split(" #").next().unwrap());
                    block.push('\n');
                }
                exprs.push(block);
            } else {
                exprs.push(rest.split(" #").next().unwrap().to_owned());
            }
        }
        i += 1;
    }
    (exprs, recorded)
}

#[test]
fn every_alert_rule_reads_metrics_perf_exports() {
    let families = exported_families();
    let (exprs, recorded) = alert_exprs();
    assert_eq!(exprs.len(), 7, "the rules file's expressions: {exprs:#?}");
    for expr in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{expr} reads no metric");
        for name in &names {
            assert!(
                is_exported(name, &families) || recorded.contains(name),
                "alert rule {expr} reads {name}, which perf does not export (known: {families:?})"
            );
        }
    }
}

#[test]
fn the_metric_name_scanner_skips_functions_labels_and_keywords() {
    let names = metric_names(
        "histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{a=\"b\"}[5m]))) / on (route) \\
         sum without (instance) (y_total offset 1h) * 3600 / 1e9 > bool 0.5 and count(z)",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["x_bucket", "y_total", "z"]
    );
}

/// `promtool`, or a loud skip (a failure with `PERF_REQUIRE_PROMETHEUS=1`).
fn promtool_or_skip(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        let message = format!(
            "SKIPPED: {test}: promtool not installed (apt-get install prometheus); this test did NOT run"
        );
        if std::env::var("PERF_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1") {
            panic!("{message}, and PERF_REQUIRE_PROMETHEUS=1 requires it");
        }
        // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {message} !!!!!!!!\n");
    }
    found
}

fn run(promtool: &Path, args: &[&str]) {
    let out = Command::new(promtool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(
    perf_no_prometheus,
    ignore = "SKIPPED: prometheus/promtool not installed (apt-get install -y prometheus)"
)]
fn dashboard_queries_parse_with_promtool_or_skip() {
    let Some(promtool) = promtool_or_skip("dashboard_queries_parse_with_promtool_or_skip") else {
        return;
    };
    // promtool parses each query as a recording rule, Grafana's variables filled in.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (title, ref_id, expr)) in queries(&dashboard()).into_iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "1m")
            .replace("$__range", "1h")
            .replace("$function", ".*");
        assert!(
            !expr.contains('$'),
            "{title}/{ref_id}: an unknown variable in {expr}"
        );
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    std::fs::write(&file, rules).unwrap();
    run(&promtool, &["check", "rules", file.to_str().unwrap()]);
}

#[test]
#[cfg_attr(
    perf_no_prometheus,
    ignore = "SKIPPED: prometheus/promtool not installed (apt-get install -y prometheus)"
)]
fn alert_rules_check_and_pass_their_unit_tests_with_promtool_or_skip() {
    let Some(promtool) =
        promtool_or_skip("alert_rules_check_and_pass_their_unit_tests_with_promtool_or_skip")
    else {
        return;
    };
    run(
        &promtool,
        &["check", "rules", repo(ALERTS).to_str().unwrap()],
    );
    run(
        &promtool,
        &["test", "rules", repo(ALERT_TESTS).to_str().unwrap()],
    );
}

/// Rows count too: Grafana keys panels by id, and two panels on the same grid cells hide
/// each other. (Merging two rows of panels once gave two pairs the same id and one row the
/// cells of another's panels.)
#[test]
fn panel_ids_are_unique_and_no_two_panels_overlap() {
    let d = dashboard();
    let all: Vec<&Value> = d["panels"].as_array().unwrap().iter().collect();
    let mut ids = HashSet::new();
    let mut cells: Vec<(u64, u64, u64, u64, &str)> = Vec::new();
    for p in &all {
        let title = p["title"].as_str().unwrap_or_default();
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "{title}: duplicate id"
        );
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().unwrap(),
            g["y"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        for &(ox, oy, ow, oh, other) in &cells {
            let apart = x + w <= ox || ox + ow <= x || y + h <= oy || oy + oh <= y;
            assert!(apart, "{title} overlaps {other}");
        }
        cells.push((x, y, w, h, title));
    }
}
