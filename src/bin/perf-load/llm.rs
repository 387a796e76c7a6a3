//! `perf-load llm`: the arguments and the run of an LLM-server benchmark
//! ([`perf::load::llm::LlmBenchmark`]), with the server's resources sampled meanwhile.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use perf::load::llm::{prompts_from_file, LevelReport, LlmBenchmark, LlmError, Slo};
use perf::load::resources::{ResourceConfig, ResourceSampler};

use crate::progress::Display;

fn limit(text: &str) -> Result<Duration, String> {
    Slo::parse_limit(text).map_err(|e| e.to_string())
}

/// `perf-load llm URL --model M …`
#[derive(Debug, clap::Args)]
pub struct LlmArgs {
    /// The server, `http://host:port`; the path defaults to /v1/chat/completions.
    pub url: String,
    /// The model to ask for.
    #[arg(long)]
    pub model: String,
    /// Closed-loop levels: requests in flight at once.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    pub concurrency: Vec<usize>,
    /// Open-loop levels instead: requests started per second, evenly spaced.
    #[arg(long, value_delimiter = ',', conflicts_with = "concurrency")]
    pub rate: Option<Vec<f64>>,
    /// Requests sent at each level.
    #[arg(long, default_value_t = 50)]
    pub requests: usize,
    /// Length of the synthetic prompts, in tokens.
    #[arg(long, default_value_t = 512)]
    pub input_tokens: usize,
    /// Prompts from a JSONL file instead: {"prompt": "…"} or {"messages": [...]} per line.
    #[arg(long, conflicts_with = "input_tokens")]
    pub prompts: Option<PathBuf>,
    /// `max_tokens` of each request.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: u32,
    /// SLO: the highest acceptable TTFT p99 of a level (e.g. 500ms, 2s).
    #[arg(long, value_parser = limit)]
    pub slo_ttft_p99: Option<Duration>,
    /// SLO: the highest acceptable ITL p99 of a level (e.g. 50ms).
    #[arg(long, value_parser = limit)]
    pub slo_itl_p99: Option<Duration>,
    /// SLO: failed requests a level may have.
    #[arg(long, default_value_t = 0)]
    pub max_errors: u64,
    /// Run the levels after the break point too.
    #[arg(long)]
    pub keep_going: bool,
    /// A request that has not ended after this long counts as a timeout error.
    #[arg(long, value_parser = limit, default_value = "300s")]
    pub timeout: Duration,
    /// Sent as `Authorization: Bearer KEY`.
    #[arg(long)]
    pub api_key: Option<String>,
    /// The server's process id: its RSS and CPU are sampled each second (GPUs are sampled
    /// whenever nvidia-smi is on PATH).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn benchmark(args: &LlmArgs) -> Result<LlmBenchmark, LlmError> {
    let mut b = LlmBenchmark::new(&args.url, args.model.clone())?
        .concurrency(args.concurrency.iter().copied())
        .requests(args.requests)
        .input_tokens(args.input_tokens)
        .max_tokens(args.max_tokens)
        .keep_going(args.keep_going)
        .timeout(args.timeout)
        .slo(Slo {
            ttft_p99: args.slo_ttft_p99,
            itl_p99: args.slo_itl_p99,
            max_errors: args.max_errors,
        });
    if let Some(rates) = &args.rate {
        b = b.rates(rates.iter().copied());
    }
    if let Some(path) = &args.prompts {
        b = b.prompts(prompts_from_file(path)?);
    }
    if let Some(key) = &args.api_key {
        b = b.api_key(key.clone());
    }
    Ok(b)
}

fn progress(l: &LevelReport) {
    let p99 = |s: &perf::core::LatencySummary| {
        if s.count == 0 {
            "-".to_owned()
        } else {
            perf::core::format_duration(s.p99)
        }
    };
    eprintln!(
        "{}: {} done, {} errors, ttft p99 {}, itl p99 {}, {:.1} output tokens/s",
        l.level,
        l.completed,
        l.errors,
        p99(&l.ttft),
        p99(&l.itl),
        l.output_throughput
    );
}

/// Runs the benchmark and prints its report: exit 0 when every level met the SLO, 1 at a
/// break point, 2 when the arguments are wrong or the JSON cannot be written.
pub fn run(args: LlmArgs) -> ExitCode {
    let bench = match benchmark(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("perf-load llm: {e}");
            return ExitCode::from(2);
        }
    };
    let display = Display::new(args.requests as u64);
    let bench = bench.on_request(display.level_callback());
    let sampler = ResourceSampler::start(ResourceConfig::new(args.pid));
    let result = bench.run_blocking(|l| display.suspend(|| progress(l)));
    let resources = sampler.stop();
    display.finish();
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perf-load llm: {e}");
            return ExitCode::from(2);
        }
    };
    report.resources = Some(resources);
    print!("{report}");
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, report.to_json()) {
            eprintln!("perf-load llm: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
