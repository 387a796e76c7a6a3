//! The tour: the whole of perf in a few seconds, with no external service.
//!
//! ```text
//! cargo run --example tour                       # load for 3 s, print the report, exit
//! cargo run --example tour -- --seconds 10       # a longer load
//! cargo run --example tour -- --serve            # then serve /metrics and CPU profiles until Ctrl-C
//! cargo run --example tour --features stack      # also show the blocking culprit's stack
//! ```
//!
//! It starts, all on 127.0.0.1 with ports the OS picks:
//!
//! * a mock OpenAI-compatible and Anthropic-like API (`support/mock_llm.rs`) that answers
//!   with realistic usage JSON: cached prompt tokens, cache writes, a streamed response;
//! * an axum shop service whose handlers call `#[perf::timed]` functions behind
//!   `perf::core::tower::RequestTimingLayer` (method, route and status labels), serves
//!   `/metrics`, and asks the model through `#[perf::llm_call]` functions. One handler,
//!   `GET /report`, calls `std::thread::sleep`: the mistake the blocking detector finds;
//! * `perf::load`'s open loop, which drives the service at 150 req/s for `--seconds`, then
//!   the break point of `GET /orders/{id}`.
//!
//! Then it prints the load report (latency from the intended start, per second), the break
//! point, where the time went per function (p50/p95/p99, and with perf's counting allocator
//! installed, allocations and bytes per call), the requests by method,
//! route and status, the slow polls found with their `file:line`, the LLM cost per model
//! with what prompt caching saved, and the `/metrics` URL. The WARN lines on stderr are
//! perf's own slow-call and slow-poll logs, as a service would see them. Last it checks what
//! it printed (the blocking poll found at its `file:line`, a cost above $0, a p99) and
//! exits with status 1, saying what was missing, if any of it is not there.

use std::net::SocketAddr;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use perf::async_::{
    CollectingSink, FutureExt, PollState, SlowPoll, SlowPollSink, TracingSink, Watchdog,
};
use perf::core::tower::{RequestTimingLayer, HTTP_SERVER_REQUEST_DURATION};
use perf::core::{format_duration, Registry, Report};
use perf::llm::LlmMeter;
use serde_json::Value;

// `fetch` and the `/hello`, `/work/{ms}` and `/metrics` routes come from the service example.
#[path = "support/cost_table.rs"]
mod cost_table;
#[path = "support/mock_llm.rs"]
mod mock_llm;
#[allow(dead_code)]
#[path = "service.rs"]
mod service;
#[path = "support/tour_args.rs"]
mod tour_args;
#[path = "support/tour_check.rs"]
mod tour_check;

use mock_llm::BoxError;

// Counts every allocation per thread: the report gains `allocs/call` and `bytes/call`.
#[global_allocator]
static ALLOC: perf::alloc::Counting = perf::alloc::Counting::system();

// ---------------------------------------------------------------- the shop service

/// What the handlers share: where the model is, and the meter its calls are recorded with.
#[derive(Clone)]
struct Shop {
    llm: SocketAddr,
    meter: Arc<LlmMeter>,
}

/// The shop's routes behind the request-timing layer, merged with the service example's
/// `/hello`, `/work/{ms}` and `/metrics` (which carry their own layer).
fn shop_app(shop: Shop, exporter: Arc<perf::core::export::PrometheusExporter>) -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/checkout", get(checkout))
        .route("/report", get(report))
        .route("/ask/{topic}", get(ask))
        .with_state(shop)
        .layer(RequestTimingLayer::new().route_with(|head| {
            head.extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
        }))
        .merge(service::app(exporter))
}

// Each handler's body is wrapped by `detect_blocking_named`: every poll is timed, and a
// slow one is reported with the `file:line` of the wrapping call and the handler's name.

async fn order(Path(id): Path<u64>) -> String {
    async move {
        let order = load_order(id).await;
        render_order(&order)
    }
    .detect_blocking_named("GET /orders/{id}")
    .await
}

/// The order's lines, from the database (an awaited query: it yields the worker).
#[perf::timed]
async fn load_order(id: u64) -> Vec<u64> {
    tokio::time::sleep(Duration::from_micros(800 + (id % 7) * 400)).await;
    (0..8 + id % 16).map(|i| id.wrapping_mul(31) ^ i).collect()
}

/// The order as text: a little CPU work.
#[perf::timed]
fn render_order(lines: &[u64]) -> String {
    let mut digest = 0u64;
    for round in 0..2_000u64 {
        for l in lines {
            digest = digest.rotate_left(5) ^ l.wrapping_add(round);
        }
    }
    format!("order of {} lines, digest {digest:016x}\n", lines.len())
}

async fn checkout() -> &'static str {
    async { charge_card().await }
        .detect_blocking_named("GET /checkout")
        .await
}

static CHARGES: AtomicU64 = AtomicU64::new(0);

/// The payment provider, awaited: a few milliseconds, and one call in 40 over 100 ms,
/// which `slow = "100ms"` logs as a WARN.
#[perf::timed(slow = "100ms")]
async fn charge_card() -> &'static str {
    let n = CHARGES.fetch_add(1, Ordering::Relaxed);
    let ms = if n % 40 == 39 { 120 } else { 4 + n % 5 };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "charged\n"
}

/// Where `GET /report`'s future is wrapped: the `file:line` its slow polls must be found at.
static REPORT_WRAPPED_AT: OnceLock<&'static Location<'static>> = OnceLock::new();

async fn report() -> String {
    let wrapped = async {
        let template = load_report_template();
        format!("{template}: {} orders\n", CHARGES.load(Ordering::Relaxed))
    }
    .detect_blocking_named("GET /report");
    REPORT_WRAPPED_AT.get_or_init(|| wrapped.location());
    wrapped.await
}

/// The mistake: a blocking read inside async code (a stand-in for `std::fs`, a sync
/// client or a contended lock). It holds a runtime worker for 25 ms per request.
#[perf::timed]
#[inline(never)]
fn load_report_template() -> &'static str {
    std::thread::sleep(Duration::from_millis(25));
    "daily report"
}

/// `GET /ask/{topic}`: a support question to one of three models, by topic.
async fn ask(
    State(shop): State<Shop>,
    Path(topic): Path<String>,
) -> Result<String, (StatusCode, String)> {
    async move {
        let question = format!("What is your policy on {topic}?");
        let answer = match topic.as_str() {
            "refunds" => ask_openai(&shop, "gpt-4o", &question).await,
            "delivery" => ask_openai(&shop, "gpt-4o-mini", &question).await,
            _ => ask_anthropic(&shop, "claude-3-5-haiku", &question).await,
        };
        let answer = answer.map_err(|e| (StatusCode::BAD_GATEWAY, format!("model: {e}\n")))?;
        Ok(format!("{}\n", answer["id"]))
    }
    .detect_blocking_named("GET /ask/{topic}")
    .await
}

/// Metered by `#[llm_call]`: latency, tokens (cached ones apart), cost, outcome.
#[perf::llm_call(provider = "openai", model = model, meter = &*shop.meter)]
async fn ask_openai(shop: &Shop, model: &str, question: &str) -> Result<Value, BoxError> {
    mock_llm::complete(shop.llm, "openai", model, question).await
}

/// The same for Anthropic's API, whose usage counts cache writes too.
#[perf::llm_call(provider = "anthropic", model = model, meter = &*shop.meter)]
async fn ask_anthropic(shop: &Shop, model: &str, question: &str) -> Result<Value, BoxError> {
    mock_llm::complete(shop.llm, "anthropic", model, question).await
}

// ---------------------------------------------------------------- the load generator

/// The `i`-th request's path: mostly orders, some checkouts and questions to the model,
/// now and then the blocking report, and the service example's routes.
fn tour_path(i: usize) -> String {
    const TOPICS: [&str; 3] = ["refunds", "delivery", "returns"];
    match i % 50 {
        0 => "/report".to_owned(),
        1 | 26 => format!("/ask/{}", TOPICS[(i / 50) % 3]),
        n if n % 5 == 2 => "/checkout".to_owned(),
        13 => "/hello".to_owned(),
        38 => "/work/3".to_owned(),
        _ => format!("/orders/{}", i % 1000),
    }
}

/// Requests per second the tour sends (open loop: on schedule, whatever the service does).
const TOUR_RATE: f64 = 150.0;

/// Drives the service at [`TOUR_RATE`] for `duration` with `perf::load`'s open loop: each
/// request starts on schedule, so the blocking `/report` shows in the latency of the
/// requests queued behind it instead of slowing the load down.
async fn drive_for(addr: SocketAddr, duration: Duration) -> Result<perf::load::Report, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let run = perf::load::OpenLoop::constant(TOUR_RATE, duration)?;
    Ok(run
        .run(move || {
            let path = tour_path(next.fetch_add(1, Ordering::Relaxed));
            async move {
                match service::fetch(addr, &path).await {
                    Ok((StatusCode::OK, _)) => Ok(()),
                    Ok((status, _)) => Err(format!("status {}", status.as_u16())),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await)
}

/// The break point of `GET /orders/{id}`: 250 req/s more each second until p99 passes
/// 50 ms or errors appear (at most 6 steps, so the tour stays short).
async fn orders_break_point(addr: SocketAddr) -> Result<perf::load::BreakPointReport, BoxError> {
    let target = perf::load::HttpTarget::new(&format!("http://{addr}/orders/7"))?;
    let slo = perf::load::Slo::parse("p99 < 50ms, errors < 1%")?;
    let search =
        perf::load::BreakPoint::new(250.0, 250.0, Duration::from_secs(1), slo)?.max_steps(6);
    Ok(search.run(target).await)
}

// ---------------------------------------------------------------- slow polls

/// Keeps every slow-poll report for the summary, and logs it as the default sink does.
struct KeepAndWarn {
    kept: CollectingSink,
    warn: TracingSink,
}

impl SlowPollSink for KeepAndWarn {
    fn report(&self, poll: &SlowPoll) {
        self.kept.report(poll);
        // The final report of every stall is never rate-limited; its duration is in the
        // summary, so stderr gets the stall warnings only, at most one a second per location.
        if poll.state != (PollState::Finished { stalled: true }) {
            self.warn.report(poll);
        }
    }
}

// ---------------------------------------------------------------- the report

/// A table with the first column left-aligned and the others right-aligned.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            match i {
                0 => out.push_str(&format!("{cell}{pad}")),
                _ => out.push_str(&format!("  {pad}{cell}")),
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn heading(title: &str) {
    println!("\n== {title} ==");
}

/// The requests the timing layer recorded, by method, route and status.
fn print_http_table() {
    let mut rows: Vec<(String, String, String, perf::LatencySummary)> = Registry::global()
        .series()
        .into_iter()
        .filter(|s| s.name() == HTTP_SERVER_REQUEST_DURATION)
        .map(|s| {
            let label = |k| s.label(k).unwrap_or("-").to_owned();
            (
                label("method"),
                label("route"),
                label("status"),
                s.histogram().summary(),
            )
        })
        .filter(|r| r.3.count > 0)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.3.total));
    let d = |d| format_duration(d);
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(method, route, status, s)| {
            vec![
                format!("{method} {route}"),
                status,
                s.count.to_string(),
                d(s.p50),
                d(s.p95),
                d(s.p99),
                d(s.max),
            ]
        })
        .collect();
    print_table(
        &["request", "status", "count", "p50", "p95", "p99", "max"],
        &table,
    );
}

/// Every wrapped handler's polls, then the worst slow poll with its location.
fn print_slow_polls(kept: &CollectingSink) {
    let d = |d| format_duration(d);
    let table: Vec<Vec<String>> = perf::async_::locations()
        .into_iter()
        .map(|l| {
            let s = &l.stats;
            vec![
                format!("{}:{}", l.location.file(), l.location.line()),
                l.task.unwrap_or("-").to_owned(),
                s.total_poll_count.to_string(),
                s.total_slow_poll_count.to_string(),
                s.total_stall_count.to_string(),
                d(s.total_slow_poll_duration),
                d(s.poll_durations.p99),
                d(s.poll_durations.max),
            ]
        })
        .collect();
    print_table(
        &[
            "location",
            "task",
            "polls",
            "slow",
            "stalls",
            "slow time",
            "poll p99",
            "poll max",
        ],
        &table,
    );
    let polls = kept.polls();
    let Some(worst) = polls.iter().max_by_key(|p| p.duration) else {
        println!(
            "no poll took longer than {}",
            d(perf::async_::default_threshold())
        );
        return;
    };
    println!(
        "\nworst: {} blocked {} for {} (threshold {}) at {}:{}",
        worst.task.unwrap_or("a task"),
        worst.thread,
        d(worst.duration),
        d(worst.threshold),
        worst.location.file(),
        worst.location.line(),
    );
    print_culprit(&polls);
}

/// The first stall report waits until the binary's debug info is loaded to name the
/// frames (a second or two for a debug build): give it that long, not forever.
#[cfg(feature = "stack")]
async fn wait_for_stack(kept: &CollectingSink) {
    let stalled = perf::async_::locations()
        .iter()
        .any(|l| l.stats.total_stall_count > 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stalled
        && std::time::Instant::now() < deadline
        && !kept.polls().iter().any(|p| p.stack.is_some())
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(feature = "stack")]
fn print_culprit(polls: &[SlowPoll]) {
    match polls.iter().find_map(|p| p.stack.as_ref()) {
        Some(stack) => println!("stack of the stalled worker: {}", stack.summary()),
        None => println!("no stack was captured (the watchdog saw no poll still running)"),
    }
}

#[cfg(not(feature = "stack"))]
fn print_culprit(_: &[SlowPoll]) {
    println!("(run with --features stack to see the culprit's stack)");
}

/// The profile of the `#[timed]` and `#[llm_call]` functions (the HTTP series have their
/// own table).
fn print_functions() {
    let mut report: Report = perf::report();
    report
        .rows
        .retain(|r| r.name != HTTP_SERVER_REQUEST_DURATION);
    print!("{report}");
}

fn print_llm(meter: &LlmMeter, streamed: &perf::llm::LlmCall) {
    cost_table::print_cost_table(meter);
    println!(
        "\nstreamed {}: time to first chunk {}, {} chunks, decode {:.0} tokens/s, usage {}",
        streamed.model,
        streamed
            .time_to_first_chunk
            .map_or_else(|| "-".to_owned(), format_duration),
        streamed.chunk_gaps.len() + 1,
        streamed.decode_tokens_per_second.unwrap_or(0.0),
        streamed.usage.as_str(),
    );
}

// ---------------------------------------------------------------- main

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args = match tour_args::parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", tour_args::USAGE);
            return Ok(());
        }
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    // perf's WARNs on stderr, one line each: their messages already carry the fields.
    tracing_subscriber::fmt()
        .compact()
        .without_time()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .fmt_fields(tracing_subscriber::fmt::format::debug_fn(
            |w, field, value| match field.name() {
                "message" => write!(w, "{value:?}"),
                _ => Ok(()),
            },
        ))
        .with_writer(std::io::stderr)
        .init();
    // Before anything is wrapped or timed: the metric handles are taken from it. Serving,
    // it also listens on its own port for CPU profiles (`/debug/pprof/...`).
    let mut exporter = perf::core::export::prometheus();
    if args.serve {
        exporter = exporter
            .with_http_listener(([127, 0, 0, 1], 0))
            .with_profiling();
    }
    let exporter = Arc::new(exporter.install()?);
    let kept = Arc::new(KeepAndWarn {
        kept: CollectingSink::new(),
        warn: TracingSink::new(),
    });
    perf::async_::set_sink(kept.clone());
    let watchdog = Watchdog::start()?;

    let meter = Arc::new(LlmMeter::new());
    let shop = Shop {
        llm: mock_llm::start_mock().await?,
        meter: meter.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = shop_app(shop.clone(), exporter.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "shop service on http://{addr}, mock LLM API on http://{}",
        shop.llm
    );
    println!("driving it for {} s ...", args.seconds);

    let load = drive_for(addr, Duration::from_secs(args.seconds)).await?;
    let (streamed, _) = mock_llm::chat_stream(
        shop.llm,
        meter.clone(),
        "gpt-4o",
        "Explain our return policy.",
    )
    .await?;
    let (metrics_status, exposition) = service::fetch(addr, "/metrics").await?;
    heading("the load (perf::load, open loop)");
    print!("{load}");

    heading("where the time goes: #[perf::timed] and #[perf::llm_call] functions");
    print_functions();
    heading("HTTP requests (perf::core::tower::RequestTimingLayer)");
    print_http_table();
    #[cfg(feature = "stack")]
    wait_for_stack(&kept.kept).await;
    heading("blocking found in async code (perf::async_)");
    print_slow_polls(&kept.kept);
    heading("LLM calls by model (perf::llm)");
    print_llm(&meter, &streamed);
    heading("break point of GET /orders/{id} (perf::load::BreakPoint)");
    let found = orders_break_point(addr).await?;
    print!("{found}");
    heading("Prometheus");
    println!(
        "scrape http://{addr}/metrics ({} samples now)",
        exposition
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count()
    );
    if !args.serve {
        println!("(to keep it up for a scrape: cargo run --example tour -- --serve)");
    }

    if load.errors > 0 || metrics_status != StatusCode::OK {
        return Err(format!(
            "{} requests failed, /metrics answered {metrics_status}",
            load.errors
        )
        .into());
    }
    let mut problems = tour_check::check_load(&load, &found, TOUR_RATE, args.seconds);
    problems.extend(tour_check::check_tour(
        &kept.kept,
        &meter,
        REPORT_WRAPPED_AT.get().copied(),
        file!(),
    ));
    if !problems.is_empty() {
        eprintln!("the tour did not show what it should:");
        for p in &problems {
            eprintln!("  - {p}");
        }
        std::process::exit(1);
    }
    if args.serve {
        if let Some(debug) = exporter.local_addr() {
            heading("CPU profiles of the running tour (perf::profile)");
            println!("go tool pprof http://{debug}/debug/pprof/profile?seconds=30");
            println!("flame graph: http://{debug}/debug/pprof/flamegraph?seconds=10");
        }
        println!("serving on http://{addr} until Ctrl-C");
        std::future::pending::<()>().await;
    }
    drop(watchdog);
    Ok(())
}
