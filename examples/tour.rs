//! The tour: perf in under a minute, no external service.
//!
//! `cargo run --example tour`

use std::time::Duration;

fn parse_order(i: u64) -> u64 {
    let _t = perf::time("parse_order");
    (0..2_000 + i % 500).fold(i, |a, b| a.wrapping_mul(31).wrapping_add(b))
}

fn charge_card(i: u64) {
    let _t = perf::time("charge_card");
    std::thread::sleep(Duration::from_micros(200 + (i % 10) * 50));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = perf::core::export::prometheus()
        .with_http_listener(([127, 0, 0, 1], 0))
        .add_global_label("service", "tour")
        .install()?;

    for i in 0..200 {
        std::hint::black_box(parse_order(i));
        charge_card(i);
    }

    println!("== where the time goes ==\n{}", perf::report());
    println!(
        "charge_card: {}",
        perf::summary("charge_card").unwrap_or_default()
    );
    println!(
        "\nPrometheus: http://{}/metrics",
        exporter.local_addr().unwrap()
    );
    Ok(())
}
