//! `perf_load::llm` against its mock OpenAI server on 127.0.0.1: the times it measures match
//! the mock's configured ones, a concurrency sweep finds the mock's capacity, and bad input
//! gives a clear or counted error, never a panic or a hang.
//!
//! The timed tests use gaps of 40 ms and more and compare medians within 10%, so a few
//! milliseconds of scheduling delay on a loaded machine do not decide them.

use std::time::{Duration, Instant};

use perf_load::llm::{
    prompts_from_jsonl, BreakReason, Level, LlmBenchmark, LlmError, LlmReport, MockConfig,
    MockFailure, MockServer, Slo,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[track_caller]
fn within_10pct(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 0.1 * want,
        "{what}: {got:.3} is not within 10% of {want:.3}"
    );
}

async fn run(mock: &MockServer, bench: impl FnOnce(LlmBenchmark) -> LlmBenchmark) -> LlmReport {
    let b = LlmBenchmark::new(&mock.url(), "mock-model").unwrap();
    bench(b).run(|_| {}).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttft_itl_and_tokens_per_second_match_the_mock() {
    let config = MockConfig {
        ttft: ms(200),
        gap: ms(40),
        chunks: 8,
        ..MockConfig::default()
    };
    let mock = MockServer::start(config).await.unwrap();
    let r = run(&mock, |b| b.concurrency([1]).requests(4).input_tokens(16)).await;
    println!("{r}");
    let l = &r.levels[0];
    assert_eq!((l.requests, l.completed, l.errors), (4, 4, 0));
    assert_eq!(
        (l.total_output_tokens, l.estimated_output_requests),
        (32, 0)
    );
    // The mock counts the prompt's words as its tokens: 16 per synthetic prompt.
    assert_eq!(l.total_input_tokens, 64);
    assert_eq!((l.ttft.count, l.itl.count, l.tpot.count), (4, 28, 4));
    within_10pct("ttft p50 ms", l.ttft.p50.as_secs_f64() * 1e3, 200.0);
    within_10pct("itl p50 ms", l.itl.p50.as_secs_f64() * 1e3, 40.0);
    within_10pct("tpot p50 ms", l.tpot.p50.as_secs_f64() * 1e3, 40.0);
    // Each request: 8 tokens in 200 + 7 × 40 = 480 ms.
    let per_request = 8.0 / 0.48;
    within_10pct("e2el p50 ms", l.e2el.p50.as_secs_f64() * 1e3, 480.0);
    within_10pct(
        "tokens/s per request",
        l.output_throughput_per_request,
        per_request,
    );
    within_10pct("output tokens/s", l.output_throughput, per_request);
    within_10pct("requests/s", l.request_throughput, 1.0 / 0.48);
    assert_eq!(mock.requests(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usage_chunk_tokens_are_counted_and_marked_estimated() {
    let config = MockConfig {
        ttft: ms(20),
        gap: ms(20),
        chunks: 5,
        usage: false,
        ..MockConfig::default()
    };
    let mock = MockServer::start(config).await.unwrap();
    let r = run(&mock, |b| b.concurrency([2]).requests(4)).await;
    let l = &r.levels[0];
    assert_eq!(
        (l.total_output_tokens, l.estimated_output_requests),
        (20, 4)
    );
    assert_eq!(l.total_input_tokens, 0);
    assert!(
        r.to_string()
            .contains("note: 4 requests had no usage chunk"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_breaks_where_the_mock_runs_out_of_capacity() {
    // Two slots, 50 + 9 × 20 = 230 ms per request: at concurrency 4, half the requests wait
    // a whole request for a slot, so their TTFT is about 280 ms, far above the 150 ms SLO,
    // while at concurrency 1 and 2 it is 50 ms, far below.
    let config = MockConfig {
        ttft: ms(50),
        gap: ms(20),
        chunks: 10,
        capacity: Some(2),
        ..MockConfig::default()
    };
    let mock = MockServer::start(config).await.unwrap();
    let slo = Slo {
        ttft_p99: Some(ms(150)),
        ..Slo::default()
    };
    let r = run(&mock, |b| b.concurrency([1, 2, 4, 8]).requests(8).slo(slo)).await;
    println!("{r}");
    let levels: Vec<Level> = r.levels.iter().map(|l| l.level).collect();
    assert_eq!(levels, [1, 2, 4].map(Level::Concurrency));
    assert_eq!(r.last_good, Some(Level::Concurrency(2)));
    let b = r.break_point.as_ref().unwrap();
    assert_eq!(b.level, Level::Concurrency(4));
    assert!(matches!(b.reason, BreakReason::TtftP99 { .. }), "{r}");
    assert!(r.stopped_early && !r.passed());
    assert_eq!(mock.requests(), 24, "concurrency 8 was not run");
    // Two requests at a time stream twice the tokens per second of one.
    let ratio = r.levels[1].output_throughput / r.levels[0].output_throughput;
    within_10pct("throughput ratio c=2 / c=1", ratio, 2.0);
    let text = r.to_string();
    assert!(
        text.contains("break point: concurrency 4: TTFT p99")
            && text.contains("last good: concurrency 2 (stopped there; later levels not run)"),
        "{text}"
    );
    let json = serde_json::to_value(&r).unwrap();
    let first = &json["levels"][0];
    assert_eq!(first["concurrency"], 1);
    for key in ["ttft", "itl"] {
        for p in ["p50_ms", "p99_ms"] {
            assert!(first[key][p].as_f64().is_some(), "{key}.{p} in {first}");
        }
    }
    for key in ["output_tokens_per_s", "requests_per_s"] {
        assert!(first[key].as_f64().is_some(), "{key} in {first}");
    }
    assert_eq!(first["errors"], 0);
    assert_eq!(json["break_point"]["level"]["concurrency"], 4);
    assert_eq!(json["break_point"]["reason"]["kind"], "ttft_p99");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rates_run_open_loop_and_prompt_files_set_max_tokens() {
    let mock = MockServer::start(MockConfig {
        ttft: ms(20),
        gap: ms(20),
        chunks: 6,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let prompts =
        prompts_from_jsonl("{\"prompt\": \"a b c\", \"max_tokens\": 2}\n{\"prompt\": \"d e\"}\n")
            .unwrap();
    let r = run(&mock, |b| {
        b.rates([20.0]).requests(10).prompts(prompts).max_tokens(4)
    })
    .await;
    let l = &r.levels[0];
    assert_eq!(l.level, Level::Rate(20.0));
    // Five prompts asked for 2 tokens, five for the default 4; the mock's 3 and 2 prompt words.
    assert_eq!(
        (l.completed, l.total_output_tokens, l.total_input_tokens),
        (10, 30, 25)
    );
    assert_eq!(serde_json::to_value(l).unwrap()["request_rate"], 20.0);
}

async fn failing(failure: MockFailure) -> LlmReport {
    let mock = MockServer::start(MockConfig {
        ttft: ms(5),
        gap: ms(5),
        chunks: 3,
        failure,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    run(&mock, |b| b.concurrency([2, 4]).requests(3)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failures_are_counted_by_kind_and_break_the_first_level() {
    for (failure, kind, says) in [
        (
            MockFailure::Status(500),
            "status 500",
            "the server answered 500: {\"error\"",
        ),
        (
            MockFailure::MalformedEvent,
            "malformed chunk",
            "malformed stream chunk",
        ),
        (
            MockFailure::ErrorEvent,
            "error event",
            "mock ran out of memory",
        ),
        (MockFailure::CutConnection, "http", "HTTP error"),
        (
            MockFailure::NotStreaming,
            "not an event stream",
            "application/json",
        ),
    ] {
        let r = failing(failure).await;
        assert_eq!(r.levels.len(), 1, "{failure:?} stops at the first level");
        let l = &r.levels[0];
        assert_eq!((l.completed, l.errors), (0, 3), "{failure:?}");
        assert_eq!(
            l.error_kinds.get(kind),
            Some(&3),
            "{failure:?}: {:?}",
            l.error_kinds
        );
        let b = r.break_point.unwrap();
        assert!(matches!(b.reason, BreakReason::Errors { errors: 3, .. }));
        assert!(
            b.reason.to_string().contains(says),
            "{failure:?}: {}",
            b.reason
        );
        assert_eq!(r.last_good, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_and_a_stalled_server_are_counted_not_hung() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let b = LlmBenchmark::new(&format!("http://127.0.0.1:{port}"), "m").unwrap();
    let r = b.concurrency([1, 2]).requests(2).run(|_| {}).await.unwrap();
    assert_eq!(r.levels[0].error_kinds.get("connection refused"), Some(&2));
    assert_eq!(r.levels.len(), 1);

    let mock = MockServer::start(MockConfig {
        ttft: Duration::from_secs(30),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    let r = run(&mock, |b| b.concurrency([2]).requests(2).timeout(ms(200))).await;
    assert_eq!(r.levels[0].error_kinds.get("timeout"), Some(&2));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout bounds the run"
    );
}

#[test]
fn bad_configurations_are_clear_errors_before_anything_is_sent() {
    let err = |f: fn(LlmBenchmark) -> LlmBenchmark| {
        let b = f(LlmBenchmark::new("http://127.0.0.1:9", "m").unwrap());
        b.run_blocking(|_| {}).unwrap_err()
    };
    assert!(matches!(err(|b| b.requests(0)), LlmError::NoRequests));
    assert!(matches!(err(|b| b.concurrency([])), LlmError::NoLevels));
    assert!(matches!(
        err(|b| b.concurrency([1, 0])),
        LlmError::BadLevel(_)
    ));
    assert!(matches!(err(|b| b.rates([0.0])), LlmError::BadLevel(_)));
    assert!(matches!(
        err(|b| b.rates([f64::NAN])),
        LlmError::BadLevel(_)
    ));
    assert!(matches!(err(|b| b.rates([-1.0])), LlmError::BadLevel(_)));
    assert!(matches!(err(|b| b.max_tokens(0)), LlmError::NoOutputTokens));
    assert!(matches!(err(|b| b.prompts(vec![])), LlmError::NoPrompts));
    for url in [
        "",
        "127.0.0.1:8000",
        "http://",
        "ftp://x",
        "https://api.example.com",
    ] {
        let e = LlmBenchmark::new(url, "m").unwrap_err();
        assert!(e.to_string().contains("http"), "{url}: {e}");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let inside = rt.block_on(async {
        let b = LlmBenchmark::new("http://127.0.0.1:9", "m").unwrap();
        b.run_blocking(|_| {}).unwrap_err()
    });
    assert!(matches!(inside, LlmError::Runtime(_)), "{inside}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_request_reports_each_ended_request_with_its_level_and_counts() {
    use std::sync::{Arc, Mutex};

    use perf_load::llm::LevelProgress;

    let mock = MockServer::start(MockConfig {
        ttft: ms(5),
        gap: ms(5),
        chunks: 3,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let r = run(&mock, |b| {
        b.concurrency([1, 2])
            .requests(3)
            .on_request(Arc::new(move |p: &LevelProgress| {
                sink.lock().unwrap().push(*p);
            }))
    })
    .await;
    assert_eq!(r.levels.len(), 2);
    let mut seen = seen.lock().unwrap().clone();
    // Two requests of the second level may end together and report in either order.
    seen.sort_by_key(|p| (p.index, p.done));
    let got: Vec<_> = seen
        .iter()
        .map(|p| (p.level, p.index, p.levels, p.done, p.errors, p.requests))
        .collect();
    let c = |n, i, done| (Level::Concurrency(n), i, 2, done, 0, 3);
    assert_eq!(
        got,
        [
            c(1, 0, 1),
            c(1, 0, 2),
            c(1, 0, 3),
            c(2, 1, 1),
            c(2, 1, 2),
            c(2, 1, 3)
        ]
    );

    // Failed requests count as done, and as errors.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    LlmBenchmark::new(&format!("http://127.0.0.1:{port}"), "m")
        .unwrap()
        .concurrency([1, 2])
        .requests(2)
        .on_request(Arc::new(move |p: &LevelProgress| {
            sink.lock().unwrap().push((p.index, p.done, p.errors));
        }))
        .run(|_| {})
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [(0, 1, 1), (0, 2, 2)]);
}
