//! Runs the `perf-load` binary against an axum server on 127.0.0.1 and checks its exit
//! codes, its output and the files it writes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::routing::get;

/// A server whose `/` takes 2 ms and `/fail` answers 500, on a runtime of its own thread.
fn server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        "ok"
                    }),
                )
                .route(
                    "/fail",
                    get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = axum::serve(listener, app).await;
        });
    });
    format!("http://{addr}")
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("perf_load_cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Exit code, stdout and stderr of `perf-load args…`.
fn perf_load(args: &[&str]) -> (i32, String, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_perf-load"))
        .args(args)
        .output();
    let run = run.expect("the perf-load binary runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        run.status.code().unwrap_or(-1),
        text(run.stdout),
        text(run.stderr),
    )
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn http_writes_json_svg_and_hlog_and_merge_adds_the_logs_up() {
    let url = server();
    let d = dir("http");
    let (j, s, h) = (d.join("run.json"), d.join("run.svg"), d.join("run.hlog"));
    let (code, out, err) = perf_load(&[
        "http",
        &url,
        "--rate",
        "50",
        "--duration",
        "1s",
        "--slo",
        "p99 < 2s, errors < 1%",
        "--json",
        j.to_str().unwrap(),
        "--svg",
        s.to_str().unwrap(),
        "--hlog",
        h.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("SLO kept"), "{out}");
    assert!(
        out.contains("started 50 done"),
        "plain progress lines when not on a terminal: {out}"
    );
    let v = json(&j);
    assert_eq!(v["requests"], 50);
    assert_eq!(v["ok"], 50);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["dropped"], 0);
    assert_eq!(v["target_rate"], 50.0);
    for key in ["p50_ms", "p90_ms", "p99_ms", "max_ms"] {
        assert!(v["latency"][key].as_f64().unwrap() >= 2.0, "{key}: {v}");
        assert!(
            v["service_time"][key].as_f64().unwrap() >= 2.0,
            "{key}: {v}"
        );
    }
    assert!(std::fs::read_to_string(&s).unwrap().starts_with("<svg"));
    assert!(std::fs::read_to_string(&h)
        .unwrap()
        .contains("Tag=latency,"));

    let m = d.join("merged.json");
    let (code, out, err) = perf_load(&[
        "merge",
        h.to_str().unwrap(),
        h.to_str().unwrap(),
        "--json",
        m.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("merged runs: target 100.0 req/s"), "{out}");
    let v = json(&m);
    assert_eq!(v["requests"], 100);
    assert_eq!(v["latency"]["count"], 100);
}

#[test]
fn a_broken_slo_exits_1_and_bad_input_exits_2() {
    let url = server();
    let fail = format!("{url}/fail");
    let (code, out, _) = perf_load(&[
        "http",
        &fail,
        "--rate",
        "20",
        "--duration",
        "500ms",
        "--max-error-rate",
        "1%",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("SLO FAILED: error rate 100.00% (10 of 10) ≥ 1%"),
        "{out}"
    );
    assert!(out.contains("status 500"), "{out}");

    let (code, _, err) = perf_load(&["http", "ftp://nowhere", "--rate", "20"]);
    assert_eq!((code, err.trim()), (2, "perf-load: invalid URL \"ftp://nowhere\": the URL must start with http:// (expected e.g. http://127.0.0.1:8080/path)"));
    let (code, _, err) = perf_load(&["http", &url, "--rate", "-5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = perf_load(&["http", &url, "--duration", "0s"]);
    assert_eq!(
        (code, err.trim()),
        (
            2,
            "perf-load: a duration of 0 sends nothing: give a duration of at least 1ms (e.g. 10s)"
        )
    );
    let (code, _, err) = perf_load(&["breakpoint", &url, "--slo", "p99 200ms"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("a limit reads `stat < value` or `stat <= value`"),
        "{err}"
    );
    let (code, _, err) = perf_load(&["merge", "/nonexistent.hlog"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("perf-load: reading /nonexistent.hlog: "),
        "{err}"
    );
}

#[test]
fn breakpoint_reports_the_knee_and_exits_1() {
    // `/fail` breaks any error-rate limit at the first step; the search stops there.
    let url = server();
    let d = dir("breakpoint");
    let j = d.join("bp.json");
    let (code, out, err) = perf_load(&[
        "breakpoint",
        &format!("{url}/fail"),
        "--from",
        "20",
        "--step",
        "20",
        "--step-time",
        "500ms",
        "--max-error-rate",
        "1%",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("step 20 req/s: achieved"), "{out}");
    let v = json(&j);
    assert_eq!(v["first_bad_rate"], 20.0);
    assert!(v["last_good_rate"].is_null(), "{v}");
    assert_eq!(v["reason"], "error rate 100.00% (10 of 10) ≥ 1%");
    assert_eq!(v["steps"].as_array().unwrap().len(), 1);
    assert_eq!(v["requests"], 10);
    assert!(v["latency"]["p99_ms"].is_number());
}

/// A server that answers every request after 20 ms and counts the connections it accepted.
fn counting_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    (format!("http://{addr}/"), accepted)
}

#[test]
fn connections_caps_what_the_server_must_accept() {
    // 200 req/s of 20 ms each want 4 connections at once; `-c 2` gives 2, so requests wait
    // for one, and the wait shows in the latency from the intended start.
    let (url, accepted) = counting_server();
    let d = dir("connections");
    let j = d.join("run.json");
    let (code, out, err) = perf_load(&[
        "http",
        &url,
        "--rate",
        "200",
        "--duration",
        "1s",
        "-c",
        "2",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v = json(&j);
    assert_eq!(v["requests"], 200);
    assert_eq!(v["ok"], 200);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Two connections serve at most 100 req/s of 20 ms requests: the last of the 200 waits
    // about a second for its turn.
    assert!(v["latency"]["max_ms"].as_f64().unwrap() >= 500.0, "{v}");
}
