//! `perf-load`: load tests, break points and LLM-server benchmarks from the command line.
//!
//! ```text
//! perf-load llm URL --model M [--concurrency 1,2,4,8,16 | --rate 1,2,4] [--requests 50]
//!     [--input-tokens 512 | --prompts prompts.jsonl] [--max-tokens 128]
//!     [--slo-ttft-p99 1s] [--slo-itl-p99 100ms] [--max-errors 0] [--keep-going]
//!     [--pid PID] [--json out.json]
//! ```
//!
//! Exits 0 when every level met the SLO, 1 at a break point, 2 on bad arguments.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod llm;

#[derive(Debug, Parser)]
#[command(
    name = "perf-load",
    version,
    about = "Load tests, break points and LLM-server benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark an OpenAI-compatible /v1/chat/completions server: TTFT, ITL, TPOT and tokens
    /// per second as concurrency grows, and the level where it breaks the SLO.
    Llm(llm::LlmArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Llm(args) => llm::run(args),
    }
}
