//! End to end against a real Prometheus server: the `service` example runs in this process
//! on 127.0.0.1, a real `prometheus` scrapes it every second, and what Prometheus answers
//! over its HTTP API must agree with what perf reports in process: exact counts and sums,
//! quantiles within the bucket they fall in; perf-llm's token, cost and cache-savings series
//! equal its exact in-process totals. `promtool check metrics` must accept the exposition.
//! `native_histograms`: with `--enable-feature=native-histograms`, Prometheus' quantiles
//! over perf's native histograms are within 2% of perf's own.
//!
//! Needs `prometheus` and `promtool` on `PATH` (Debian: `apt-get install prometheus`).
//! Without them the test prints `SKIPPED: ...` to stderr and returns; with
//! `PERF_REQUIRE_PROMETHEUS=1` it fails instead, so CI cannot pass it silently.

#[allow(dead_code)]
#[path = "../examples/service.rs"]
mod service;

#[path = "support/prometheus.rs"]
mod prometheus;

#[path = "e2e_prometheus/native_histograms.rs"]
mod native_histograms;

use prometheus::{tools_or_skip, unix_now, PrometheusProcess};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perf::core::export::DEFAULT_LATENCY_BUCKETS;
use perf::core::{Registry, Snapshot, RELATIVE_ERROR};

/// Whatever happens, the whole test ends within this.
const WHOLE_TEST: Duration = Duration::from_secs(150);

/// The tests of this file share perf's global registry: one at a time, so the counts one
/// compares do not move under it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `test` on a runtime of two workers, failing it if it takes longer than
/// [`WHOLE_TEST`].
fn run_bounded(what: &str, test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(WHOLE_TEST, test)
            .await
            .unwrap_or_else(|_| panic!("{what} took longer than {WHOLE_TEST:?}"))
    });
}

/// How long the load phase drives the service.
const LOAD_FOR: Duration = Duration::from_secs(4);

/// The merged snapshot of every series of `function_calls_duration_seconds` (all functions
/// timed by perf), or of one function.
fn function_snapshot(function: Option<&str>) -> Snapshot {
    let mut out = Snapshot::empty();
    for s in Registry::global().series() {
        let is_function = s.label("function").is_some() && s.label("result").is_some();
        if is_function && function.is_none_or(|f| s.label("function") == Some(f)) {
            out.merge(&s.histogram().snapshot());
        }
    }
    out
}

/// The Prometheus bucket `(lower, upper]` that `seconds` falls in.
fn bucket_of(seconds: f64) -> (f64, f64) {
    let mut lower = 0.0;
    for &upper in DEFAULT_LATENCY_BUCKETS {
        if seconds <= upper {
            return (lower, upper);
        }
        lower = upper;
    }
    (lower, f64::INFINITY)
}

/// Prometheus interpolates a quantile inside the bucket where its rank falls; perf's
/// in-process quantile of the same samples must lie in that bucket, give or take perf's
/// stated relative error (the bucket counts come from the same HDR buckets).
fn assert_same_bucket(what: &str, prometheus: f64, in_process: Duration) {
    let (lower, upper) = bucket_of(prometheus);
    let v = in_process.as_secs_f64();
    let slack = RELATIVE_ERROR;
    assert!(
        v >= lower * (1.0 - slack) && v <= upper * (1.0 + slack),
        "{what}: Prometheus says {prometheus} s (bucket ({lower}, {upper}]), perf in process says {v} s"
    );
    eprintln!("{what}: Prometheus {prometheus:.6} s, perf {v:.6} s, bucket ({lower}, {upper}]");
}

/// Records three OpenAI chat calls (two with prompt-cache hits) through perf-llm's global
/// meter and returns its exact totals per model.
fn record_llm_calls() -> Vec<perf::llm::ModelTotals> {
    let calls = [
        ("gpt-4o", 2000, 300, 1500),
        ("gpt-4o", 1200, 150, 0),
        ("gpt-4o-mini", 5000, 800, 4096),
    ];
    for (model, input, output, cached) in calls {
        let response = serde_json::json!({
            "id": "chatcmpl-e2e", "object": "chat.completion", "model": model,
            "usage": {
                "prompt_tokens": input, "completion_tokens": output,
                "total_tokens": input + output,
                "prompt_tokens_details": {"cached_tokens": cached}
            }
        });
        perf::llm::LlmCall::new("openai", model)
            .response(&response)
            .latency(Duration::from_millis(350))
            .record();
    }
    let totals = perf::llm::LlmMeter::global().totals();
    assert_eq!(totals.len(), 2, "{totals:?}");
    for t in &totals {
        assert_eq!(
            t.unpriced, 0,
            "{} has no price in the built-in table",
            t.model
        );
        assert!(t.cost.total_usd() > 0.0);
    }
    totals
}

/// Prometheus has perf-llm's tokens, cost and cache savings as recorded in process.
async fn assert_llm_counters(
    prom: &mut PrometheusProcess,
    totals: &[perf::llm::ModelTotals],
    at: f64,
) {
    let per_model = |result: &BTreeMap<String, f64>, model: &str| {
        result
            .iter()
            .find(|(labels, _)| labels.contains(&format!("\"gen_ai_request_model\":\"{model}\"")))
            .map(|(_, v)| *v)
    };
    let cost = prom
        .query(
            "sum by (gen_ai_request_model) (gen_ai_client_cost_nano_usd_total)",
            Some(at),
        )
        .await;
    let savings = prom
        .query(
            "sum by (gen_ai_request_model) (gen_ai_client_cost_without_cache_nano_usd_total) - sum by (gen_ai_request_model) (gen_ai_client_cost_nano_usd_total)",
            Some(at),
        )
        .await;
    for t in totals {
        // The counter holds the exact decimal total floored to whole nano-dollars.
        let usd = per_model(&cost, &t.model)
            .unwrap_or_else(|| panic!("no cost of {}: {cost:?}", t.model))
            / 1e9;
        let exact = t.cost.total_usd();
        assert!(
            usd <= exact + 1e-12 && exact - usd < 1.000_001e-9,
            "{} cost: Prometheus {usd} USD, perf {exact} USD",
            t.model
        );
        // Two counters each floored to whole nano-dollars: within 1 n$ of the exact savings.
        let saved = per_model(&savings, &t.model).unwrap_or(0.0) / 1e9;
        let exact_saved = t.cost.cache_savings_usd();
        assert!(
            (saved - exact_saved).abs() < 1.000_001e-9,
            "{} cache savings: Prometheus {saved} USD, perf {exact_saved} USD",
            t.model
        );
        eprintln!(
            "{}: cost {usd:.9} USD (perf {exact:.9}), cache savings {saved:.9} USD",
            t.model
        );
    }
    assert!(
        totals.iter().any(|t| t.cost.cache_savings_usd() > 0.0),
        "the cached calls saved nothing"
    );
    let tokens = prom
        .query(
            "sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)",
            Some(at),
        )
        .await;
    let of_type = |kind: &str| {
        tokens
            .iter()
            .find(|(labels, _)| labels.contains(&format!("\"gen_ai_token_type\":\"{kind}\"")))
            .map(|(_, v)| *v)
    };
    let input: u64 = totals.iter().map(|t| t.usage.input).sum();
    let output: u64 = totals.iter().map(|t| t.usage.output).sum();
    assert_eq!(of_type("input"), Some(input as f64), "{tokens:?}");
    assert_eq!(of_type("output"), Some(output as f64), "{tokens:?}");
    let calls = prom
        .scalar(
            "sum(gen_ai_client_token_usage_count{gen_ai_token_type=\"input\"})",
            Some(at),
        )
        .await;
    assert_eq!(
        calls,
        Some(totals.iter().map(|t| t.calls).sum::<u64>() as f64)
    );
}

#[test]
#[cfg_attr(
    perf_no_prometheus,
    ignore = "SKIPPED: prometheus/promtool not installed (apt-get install -y prometheus)"
)]
fn e2e_prometheus_or_skip() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((prometheus, promtool)) = tools_or_skip("e2e_prometheus_or_skip") else {
        return;
    };
    run_bounded(
        "the end-to-end test",
        scrape_and_compare(&prometheus, &promtool),
    );
}

async fn scrape_and_compare(prometheus: &Path, promtool: &Path) {
    let exporter = Arc::new(perf::core::export::prometheus().install().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(service::serve(listener, exporter));

    // Every series exists before Prometheus first scrapes, so its first sample is the
    // baseline that `rate()` counts from.
    let warm_up = service::drive(service_addr, 8, 2).await.unwrap();
    assert_eq!(warm_up.failed, 0);
    let (status, _) = service::fetch(service_addr, "/no/such/page").await.unwrap();
    assert_eq!(status, 404);
    let llm = record_llm_calls();
    let baseline = function_snapshot(None);
    let baseline_work = function_snapshot(Some("do_work"));

    let dir = tempfile::tempdir().unwrap();
    let prometheus_started = unix_now();
    let mut prom = PrometheusProcess::start_ready(
        prometheus,
        dir.path(),
        &[("perf_service", service_addr)],
        &[],
        &[],
    )
    .await;
    let calls = "sum(function_calls_total{function=\"do_work\"})";
    let warm_calls = baseline_work.count() as f64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while prom.scalar(calls, None).await != Some(warm_calls) {
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped {calls} = {warm_calls}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up = prom.scalar("up{job=\"perf_service\"}", None).await;
    assert_eq!(up, Some(1.0), "the service's scrape target is not up");

    // The load: a few seconds of traffic, every request answered 200.
    let started = Instant::now();
    let mut sent = warm_up.sent.clone();
    let mut batches = 0;
    while started.elapsed() < LOAD_FOR && batches < 40 {
        let load = service::drive(service_addr, 200, 4).await.unwrap();
        assert_eq!(load.failed, 0, "{load:?}");
        for (path, n) in load.sent {
            *sent.entry(path).or_default() += n;
        }
        batches += 1;
    }
    let all = function_snapshot(None);
    let work = function_snapshot(Some("do_work"));
    let delta_all = all.delta_since(&baseline);
    let delta_work = work.delta_since(&baseline_work);
    assert!(
        delta_work.count() >= 200,
        "too little load: {} calls",
        delta_work.count()
    );

    // Prometheus has the final values once it has scraped after the load.
    let final_calls = work.count() as f64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while prom.scalar(calls, None).await != Some(final_calls) {
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped {calls} = {final_calls}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let at = unix_now();
    // The range reaches back past the baseline sample, to Prometheus' start: every sample
    // before the load holds the baseline, so the rates count exactly the load's calls.
    let window = (at - prometheus_started).ceil() as u64 + 5;

    // Counts and sums are exact.
    assert_eq!(prom.scalar(calls, Some(at)).await, Some(final_calls));
    let sum = prom
        .scalar(
            "sum(function_calls_duration_seconds_sum{function=\"do_work\"})",
            Some(at),
        )
        .await
        .unwrap();
    let in_process_sum = work.sum_nanos() as f64 / 1e9;
    assert!(
        (sum - in_process_sum).abs() <= 1e-9 * in_process_sum.max(1.0) + 1e-9,
        "do_work sum: Prometheus {sum} s, perf {in_process_sum} s"
    );
    let by_route = prom
        .query(
            "sum by (route) (http_server_request_duration_seconds_count{status=\"200\"})",
            Some(at),
        )
        .await;
    let route_count = |route: &str| {
        by_route
            .iter()
            .find(|(labels, _)| labels.contains(&format!("\"route\":\"{route}\"")))
            .map(|(_, v)| *v)
    };
    let hello = sent.get("/hello").copied().unwrap_or(0) as f64;
    let work_requests = sent
        .iter()
        .filter(|(p, _)| p.starts_with("/work/"))
        .map(|(_, n)| *n)
        .sum::<usize>() as f64;
    assert_eq!(route_count("/hello"), Some(hello), "{by_route:?}");
    assert_eq!(
        route_count("/work/{ms}"),
        Some(work_requests),
        "{by_route:?}"
    );
    let not_found = prom
        .scalar(
            "sum(http_server_request_duration_seconds_count{route=\"unmatched\",status=\"404\"})",
            Some(at),
        )
        .await;
    assert_eq!(
        not_found,
        Some(1.0),
        "the fallback's 404 is timed as route=unmatched"
    );
    assert!(
        route_count("/metrics").is_some_and(|n| n >= 2.0),
        "Prometheus' own scrapes are timed too: {by_route:?}"
    );

    assert_llm_counters(&mut prom, &llm, at).await;

    // Quantiles agree within the bucket resolution.
    let p99_all = prom
        .scalar(
            &format!(
                "histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket[{window}s])))"
            ),
            Some(at),
        )
        .await
        .unwrap();
    assert_same_bucket(
        "p99 of every timed function",
        p99_all,
        Duration::from_nanos(delta_all.quantile_nanos(0.99)),
    );
    for q in [0.5, 0.99] {
        let promql = format!(
            "histogram_quantile({q}, sum by (le) (rate(function_calls_duration_seconds_bucket{{function=\"do_work\"}}[{window}s])))"
        );
        let prometheus_q = prom.scalar(&promql, Some(at)).await.unwrap();
        assert_same_bucket(
            &format!("p{} of do_work", q * 100.0),
            prometheus_q,
            Duration::from_nanos(delta_work.quantile_nanos(q)),
        );
    }
    // The slow requests (`/work/40`) are what p99 sees: not hidden by the bucket layout.
    assert!(
        p99_all > 0.025,
        "p99 {p99_all} s should be in the slow requests' bucket"
    );

    // promtool accepts what Prometheus scraped.
    let (status, text) = service::fetch(service_addr, "/metrics").await.unwrap();
    assert!(status.is_success());
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "e2e: {} requests, {} do_work calls under load, window {window}s",
        sent.values().sum::<usize>(),
        delta_work.count()
    );
    drop(prom);
    server.abort();
}

#[test]
fn a_client_that_hangs_up_is_recorded_as_cancelled() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (_recorder, exporter) = perf::core::export::prometheus().build().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(service::serve(listener, Arc::new(exporter)));
        let cancelled = || {
            perf::core::summary_with(
                perf::core::tower::HTTP_SERVER_REQUEST_DURATION,
                &[("route", "/work/{ms}"), ("status", "cancelled")],
            )
            .map_or(0, |s| s.count)
        };
        // The client asks for 900 ms of work and hangs up after 100 ms: hyper drops the
        // handler's future, and both the layer and #[timed] see the cancellation.
        let hang_up = service::fetch(addr, "/work/900");
        assert!(tokio::time::timeout(Duration::from_millis(100), hang_up)
            .await
            .is_err());
        let deadline = Instant::now() + Duration::from_secs(5);
        while cancelled() == 0 {
            assert!(Instant::now() < deadline, "no cancelled request recorded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let s = perf::core::summary_with(
            perf::core::tower::HTTP_SERVER_REQUEST_DURATION,
            &[("route", "/work/{ms}"), ("status", "cancelled")],
        )
        .unwrap();
        // Timed until the hang-up, not until the work's end. The lower bound is loose: the
        // server's clock starts once the request is read, which on a loaded machine can be
        // most of the client's 100 ms after it began connecting (88 ms was seen in CI).
        assert!(
            s.max > Duration::ZERO && s.max < Duration::from_millis(900),
            "timed until the hang-up: {:?}",
            s.max
        );
        let work = perf::core::summary_with("do_work", &[("result", "cancelled")]).unwrap();
        assert_eq!(work.count, 1);
    });
}
