//! The README's quick start: `#[timed]` on a sync and an async fn, the profile table, and
//! the Prometheus text it produces. `cargo run --example quickstart`

use std::time::Duration;

#[perf::timed]
fn parse_amount(input: &str) -> Result<u64, std::num::ParseIntError> {
    input.trim().parse()
}

#[perf::timed(slow = "50ms")]
async fn fetch_price(sku: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(2 + sku % 3)).await;
    sku * 100
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let exporter = perf::core::export::prometheus()
        .with_http_listener(([127, 0, 0, 1], 0)) // port 0: the OS picks one
        .install()?;

    for sku in 0..50 {
        parse_amount(&sku.to_string())?;
        fetch_price(sku).await;
    }
    assert!(parse_amount("twelve").is_err()); // recorded with result="error"

    println!("{}", perf::report());
    println!(
        "fetch_price: {}",
        perf::summary("fetch_price").unwrap_or_default()
    );
    println!(
        "\nGET http://{}/metrics (excerpt):",
        exporter.local_addr().unwrap()
    );
    for line in exporter.render().lines() {
        if line.starts_with("function_calls_total")
            || line.contains("fetch_price") && line.contains("le=\"0.005\"")
        {
            println!("{line}");
        }
    }
    Ok(())
}
