//! The `perf-load llm` command against perf-load's mock OpenAI server on 127.0.0.1: the
//! table, the JSON file the issue specifies, the exit codes (0 met, 1 SLO broken, 2 bad
//! arguments).

use std::process::{Command, Output};
use std::time::Duration;

use perf::load::llm::{MockConfig, MockServer};

async fn perf_load(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_perf-load"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(url: &str, rest: &[&str]) -> Vec<String> {
    [
        "llm",
        url,
        "--model",
        "mock-model",
        "--requests",
        "3",
        "--input-tokens",
        "8",
    ]
    .iter()
    .chain(rest)
    .map(|s| s.to_string())
    .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The progress lines printed when stdout is not a terminal (here, a pipe).
fn progress_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.contains(" requests done, "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_prints_the_table_writes_json_and_exits_by_the_slo() {
    let mock = MockServer::start(MockConfig {
        ttft: Duration::from_millis(20),
        gap: Duration::from_millis(20),
        chunks: 6,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let out = perf_load(args(
        &mock.url(),
        &[
            "--concurrency",
            "1,2",
            "--max-tokens",
            "4",
            "--json",
            json.to_str().unwrap(),
        ],
    ))
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("no break point: every level met the SLO"),
        "{stdout}"
    );
    assert!(stdout.contains("concurrency 2"), "{stdout}");
    assert_eq!(
        progress_lines(&stdout),
        [
            "concurrency 1 (level 1 of 2): 3/3 requests done, 0 errors",
            "concurrency 2 (level 2 of 2): 3/3 requests done, 0 errors",
        ],
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("concurrency 1: 3 done, 0 errors"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let levels = report["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    for (l, c) in levels.iter().zip([1, 2]) {
        assert_eq!(l["concurrency"], c);
        assert_eq!(l["errors"], 0);
        // 3 requests of max_tokens 4 each.
        assert_eq!(l["total_output_tokens"], 12);
        for key in ["ttft", "itl"] {
            assert!(l[key]["p50_ms"].as_f64().is_some() && l[key]["p99_ms"].as_f64().is_some());
        }
        assert!(l["output_tokens_per_s"].as_f64().is_some_and(|v| v > 0.0));
        assert!(l["requests_per_s"].as_f64().is_some_and(|v| v > 0.0));
    }
    assert!(report["resources"].is_object());

    // A 1 ms TTFT SLO breaks at the first level: exit 1, and the later level is not run.
    let out = perf_load(args(
        &mock.url(),
        &["--concurrency", "1,2", "--slo-ttft-p99", "1ms"],
    ))
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("break point: concurrency 1: TTFT p99"),
        "{stdout}"
    );
    assert_eq!(mock.requests(), 6 + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_exit_2_with_a_reason() {
    for (rest, says) in [
        (vec!["--slo-ttft-p99", "fast"], "bad SLO limit \"fast\""),
        (vec!["--requests", "0"], "zero requests per level"),
        (vec!["--max-tokens", "0"], "max_tokens is 0"),
        (vec!["--concurrency", "0"], "bad level concurrency 0"),
        (vec!["--rate", "0"], "bad level rate 0/s"),
        (
            vec!["--prompts", "/nonexistent/p.jsonl"],
            "cannot read the prompt file",
        ),
    ] {
        let bare = ["llm", "http://127.0.0.1:9", "--model", "m"]
            .iter()
            .chain(&rest);
        let out = perf_load(bare.map(|s| s.to_string()).collect()).await;
        assert_eq!(out.status.code(), Some(2), "{rest:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{rest:?}: {}",
            text(&out.stderr)
        );
    }
    let out = perf_load(args("localhost:8000", &[])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad URL"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_break_point_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = perf_load(args(
        &format!("http://127.0.0.1:{port}"),
        &["--concurrency", "1,2"],
    ))
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("break point: concurrency 1: 3 failed requests (SLO allows 0); most were connection refused"),
        "{stdout}"
    );
    // The run stops at the broken level: one progress line, not two.
    assert_eq!(
        progress_lines(&stdout),
        ["concurrency 1 (level 1 of 2): 3/3 requests done, 3 errors"],
        "{stdout}"
    );
}
