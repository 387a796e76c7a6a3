//! `perf-load`: open-loop load tests, break points and HDR-log merges from the command line.
//!
//! ```text
//! perf-load http URL --rate 500 --duration 30s [--method POST --body @file --header K:V]
//!                    [--users N --think 1s] [--slo "p99<200ms,errors<1%"]
//!                    [--json out.json] [--svg out.svg] [--hlog out.hlog]
//! perf-load breakpoint URL --from 100 --step 100 --step-time 10s --slo-p99 200ms --max-error-rate 1%
//! perf-load merge a.hlog b.hlog … [--json out.json]
//! perf-load llm URL --model M [--concurrency 1,2,4,8,16 | --rate 1,2,4] [--requests 50]
//!     [--input-tokens 512 | --prompts prompts.jsonl] [--max-tokens 128]
//!     [--slo-ttft-p99 1s] [--slo-itl-p99 100ms] [--max-errors 0] [--keep-going]
//!     [--pid PID] [--json out.json]
//! ```
//!
//! Exits 0 when the run kept its SLO, 1 when it did not (as k6's thresholds do, so CI can
//! use it), 2 on a usage or input error.

mod llm;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use perf::load::{
    parse_duration, parse_rate, BreakPoint, ClosedLoop, ConfigError, HttpTarget, OpenLoop, Report,
    RunOptions, Schedule, SearchOptions, Slo,
};

#[derive(Parser)]
#[command(
    name = "perf-load",
    version,
    about = "Open-loop load tests and break points whose latencies do not hide the tail"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive URL at a constant rate (open loop), or with N users (closed loop).
    Http(HttpArgs),
    /// Raise the rate step by step until a step breaks the SLO.
    Breakpoint(BreakpointArgs),
    /// Merge HDR interval logs of runs made at the same time into one report.
    Merge(MergeArgs),
    /// Benchmark an OpenAI-compatible /v1/chat/completions server: TTFT, ITL, TPOT and tokens
    /// per second as concurrency grows, and the level where it breaks the SLO.
    Llm(llm::LlmArgs),
}

#[derive(Args)]
struct RequestArgs {
    /// The URL to request (http://host:port/path).
    url: String,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request body, or @path to read it from a file.
    #[arg(long)]
    body: Option<String>,
    /// A header, `Name: value`; repeat for more.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// A request still running after this long counts as a `timeout` error.
    #[arg(long, default_value = "30s", value_parser = duration)]
    timeout: Duration,
    /// Requests in flight at most; a request over the cap is dropped and counted.
    #[arg(long, default_value_t = perf::load::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Connections at most, each kept alive (wrk2's and oha's -c); a request that finds all
    /// busy waits for one, and the wait counts in its latency.
    #[arg(long, short = 'c', default_value_t = perf::load::DEFAULT_CONNECTIONS)]
    connections: usize,
}

#[derive(Args)]
struct SloArgs {
    /// Limits the run must keep, e.g. "p99<200ms, errors<1%, dropped<=0".
    #[arg(long)]
    slo: Option<String>,
    /// Shorthand for --slo "p99<VALUE".
    #[arg(long, value_parser = duration)]
    slo_p99: Option<Duration>,
    /// Shorthand for --slo "errors<VALUE" (1% or 0.01).
    #[arg(long, value_parser = rate)]
    max_error_rate: Option<f64>,
    /// Shorthand for --slo "dropped<=VALUE".
    #[arg(long)]
    max_dropped: Option<u64>,
}

#[derive(Args)]
struct OutputArgs {
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write latency by percentile and over time as an SVG here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Write the latency histograms as an HdrHistogram interval log here.
    #[arg(long)]
    hlog: Option<PathBuf>,
}

#[derive(Args)]
struct HttpArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// Requests per second (open loop).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// How long to send.
    #[arg(long, default_value = "10s", value_parser = duration)]
    duration: Duration,
    /// Virtual users: a closed loop instead of a rate.
    #[arg(long)]
    users: Option<usize>,
    /// Each user's pause after each answer (closed loop).
    #[arg(long, default_value = "0s", value_parser = duration)]
    think: Duration,
    /// Each user's intended interval: reports latency corrected for coordinated omission
    /// beside the raw one (closed loop).
    #[arg(long, value_parser = duration)]
    expected_interval: Option<Duration>,
    #[command(flatten)]
    slo: SloArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct BreakpointArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// The first step's rate.
    #[arg(long, default_value_t = 100.0)]
    from: f64,
    /// How much each step adds.
    #[arg(long, default_value_t = 100.0)]
    step: f64,
    /// How long each step lasts.
    #[arg(long, default_value = "10s", value_parser = duration)]
    step_time: Duration,
    /// Steps at most.
    #[arg(long, default_value_t = perf::load::DEFAULT_MAX_STEPS)]
    max_steps: usize,
    /// Go on after the first bad step (up to --max-steps).
    #[arg(long)]
    keep_going: bool,
    #[command(flatten)]
    slo: SloArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct MergeArgs {
    /// Interval logs written by `perf-load … --hlog`.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    #[command(flatten)]
    slo: SloArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn rate(s: &str) -> Result<f64, String> {
    parse_rate(s).map_err(|e| e.to_string())
}

/// A failure that ends the program with exit code 2.
struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail(e.to_string())
    }
}

impl SloArgs {
    fn build(&self) -> Result<Slo, ConfigError> {
        let mut slo = match &self.slo {
            Some(text) => Slo::parse(text)?,
            None => Slo::new(),
        };
        if let Some(p99) = self.slo_p99 {
            slo = slo.percentile(99.0, p99)?;
        }
        if let Some(r) = self.max_error_rate {
            slo = slo.max_error_rate(r);
        }
        if let Some(n) = self.max_dropped {
            slo = slo.max_dropped(n);
        }
        Ok(slo)
    }
}

impl RequestArgs {
    fn target(&self) -> Result<HttpTarget, Fail> {
        let mut t = HttpTarget::new(&self.url)?
            .method(&self.method)?
            .connections(self.connections);
        for h in &self.headers {
            t = t.header(h)?;
        }
        if let Some(body) = &self.body {
            t = match body.strip_prefix('@') {
                Some(path) => t.body(
                    std::fs::read(path)
                        .map_err(|e| Fail(format!("reading the body {path}: {e}")))?,
                ),
                None => t.body(body.clone()),
            };
        }
        Ok(t)
    }

    fn options(&self, on_progress: perf::load::ProgressFn) -> RunOptions {
        RunOptions::default()
            .timeout(self.timeout)
            .on_progress(on_progress)
    }
}

impl OutputArgs {
    fn write(&self, report: &Report, json: Option<String>) -> Result<(), Fail> {
        let json = json.unwrap_or_else(|| report.to_json());
        if let Some(path) = &self.json {
            std::fs::write(path, json + "\n")
                .map_err(|e| Fail(format!("writing {}: {e}", path.display())))?;
        }
        if let Some(path) = &self.svg {
            let svg = report.to_svg()?;
            std::fs::write(path, svg)
                .map_err(|e| Fail(format!("writing {}: {e}", path.display())))?;
        }
        if let Some(path) = &self.hlog {
            let mut out = Vec::new();
            report.write_hlog(&mut out)?;
            std::fs::write(path, out)
                .map_err(|e| Fail(format!("writing {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// Prints whether `report` kept `slo`; exit code 0 or 1.
fn verdict(report: &Report, slo: &Slo) -> ExitCode {
    match report.check(slo) {
        Ok(()) => {
            println!("SLO kept");
            ExitCode::SUCCESS
        }
        Err(v) => {
            println!("SLO FAILED: {v}");
            ExitCode::from(1)
        }
    }
}

async fn http(args: HttpArgs) -> Result<ExitCode, Fail> {
    let slo = args.slo.build()?;
    let target = args.request.target()?;
    let report = match args.users {
        Some(users) => {
            let display = progress::Display::new(0);
            let run = ClosedLoop::new(users, args.duration)?
                .think(args.think)
                .expected_interval(args.expected_interval.unwrap_or_default())
                .options(args.request.options(display.callback()));
            let report = run.run(target).await;
            display.finish();
            report
        }
        None => {
            let schedule = Schedule::constant(args.rate, args.duration)?;
            let display = progress::Display::new(schedule.count());
            let run = OpenLoop::new(schedule)
                .max_in_flight(args.request.max_in_flight)
                .options(args.request.options(display.callback()));
            let report = run.run(target).await;
            display.finish();
            report
        }
    };
    println!("{report}");
    args.output.write(&report, None)?;
    Ok(verdict(&report, &slo))
}

async fn breakpoint(args: BreakpointArgs) -> Result<ExitCode, Fail> {
    let slo = args.slo.build()?;
    let target = args.request.target()?;
    let quiet: perf::load::ProgressFn = std::sync::Arc::new(|_: &perf::load::Progress| {});
    let base = OpenLoop::constant(args.from, args.step_time)?
        .max_in_flight(args.request.max_in_flight)
        .options(args.request.options(quiet));
    let found = BreakPoint::new(args.from, args.step, args.step_time, slo)?
        .max_steps(args.max_steps)
        .open_loop(base)
        .options(
            SearchOptions::default()
                .keep_going(args.keep_going)
                .on_step(progress::step_lines()),
        )
        .run(target)
        .await;
    println!("\n{found}");
    args.output.write(&found.last_step, Some(found.to_json()))?;
    Ok(if found.found() {
        println!("break point found: {}", found.reason);
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn merge(args: MergeArgs) -> Result<ExitCode, Fail> {
    let slo = args.slo.build()?;
    let mut logs = Vec::new();
    for path in &args.logs {
        let bytes =
            std::fs::read(path).map_err(|e| Fail(format!("reading {}: {e}", path.display())))?;
        logs.push((path.display().to_string(), bytes));
    }
    let named: Vec<(&str, &[u8])> = logs.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    let report = perf::load::hlog::merge(&named)?;
    println!("{report}");
    args.output.write(&report, None)?;
    Ok(verdict(&report, &slo))
}

/// Runs `run` on a new multi-thread runtime.
fn block_on(
    run: impl std::future::Future<Output = Result<ExitCode, Fail>>,
) -> Result<ExitCode, Fail> {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run),
        Err(e) => Err(Fail(format!("cannot start the runtime: {e}"))),
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Http(args) => block_on(http(args)),
        Command::Breakpoint(args) => block_on(breakpoint(args)),
        Command::Merge(args) => merge(args),
        // The LLM benchmark runs its own runtime and gives its own exit code.
        Command::Llm(args) => return llm::run(args),
    };
    result.unwrap_or_else(|Fail(e)| {
        eprintln!("perf-load: {e}");
        ExitCode::from(2)
    })
}
