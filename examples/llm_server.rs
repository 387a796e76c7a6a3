//! A mock OpenAI-compatible LLM server to point `perf-load llm` at, and a smoke run of the
//! benchmark against it. The mock streams its first token after 50 ms, then one every 20 ms,
//! and serves two requests at once, so a concurrency sweep finds its break point at 4.
//!
//! ```text
//! cargo run --example llm_server                  # serve on a port the OS picks, until Ctrl-C
//! cargo run --example llm_server -- --port 8000   # serve on 127.0.0.1:8000
//! cargo run --example llm_server -- --smoke       # benchmark itself, check the report, exit (CI)
//! ```
//!
//! While it serves, in another terminal:
//! `cargo run --bin perf-load -- llm http://127.0.0.1:8000 --model mock --concurrency 1,2,4,8 --requests 8 --slo-ttft-p99 150ms`

use std::time::Duration;

use perf::load::llm::{BreakReason, Level, LlmBenchmark, MockConfig, MockServer, Slo};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn config() -> MockConfig {
    MockConfig {
        ttft: Duration::from_millis(50),
        gap: Duration::from_millis(20),
        chunks: 10,
        usage: true,
        capacity: Some(2),
        ..MockConfig::default()
    }
}

/// Benchmarks the mock and checks what the report must say.
async fn smoke() -> Result<(), BoxError> {
    let mock = MockServer::start(config()).await?;
    let slo = Slo {
        ttft_p99: Some(Slo::parse_limit("150ms")?),
        ..Slo::default()
    };
    let report = LlmBenchmark::new(&mock.url(), "mock")?
        .concurrency([1, 2, 4, 8])
        .requests(8)
        .input_tokens(64)
        .max_tokens(128)
        .slo(slo)
        .run(|level| eprintln!("{} done", level.level))
        .await?;
    println!("{report}");
    let levels: Vec<Level> = report.levels.iter().map(|l| l.level).collect();
    assert_eq!(
        levels,
        [1, 2, 4].map(Level::Concurrency),
        "stops at the break point"
    );
    let bp = report.break_point.as_ref().ok_or("no break point")?;
    assert_eq!(bp.level, Level::Concurrency(4));
    assert!(
        matches!(bp.reason, BreakReason::TtftP99 { .. }),
        "{}",
        bp.reason
    );
    assert_eq!(report.last_good, Some(Level::Concurrency(2)));
    for l in &report.levels {
        // 8 requests of 10 tokens (the mock's chunks, under max_tokens), usage reported.
        assert_eq!((l.completed, l.errors, l.total_output_tokens), (8, 0, 80));
        assert_eq!(
            (l.total_input_tokens, l.estimated_output_requests),
            (8 * 64, 0)
        );
    }
    println!("smoke OK: break point at concurrency 4, last good concurrency 2");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--smoke"] => smoke().await,
        rest => {
            let port = match rest {
                [] => 0,
                ["--port", p] => p.parse().map_err(|_| format!("--port {p}: give 0-65535"))?,
                _ => return Err("usage: llm_server [--port N | --smoke]".into()),
            };
            let mock = MockServer::start_on_port(port, config()).await?;
            println!("mock OpenAI server on {}", mock.url());
            println!(
                "try: cargo run --bin perf-load -- llm http://{} --model mock --concurrency 1,2,4,8 --requests 8 --slo-ttft-p99 150ms",
                mock.addr()
            );
            std::future::pending::<()>().await;
            Ok(())
        }
    }
}
