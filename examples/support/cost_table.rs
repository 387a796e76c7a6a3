//! The examples' LLM cost table: per model, calls, tokens (cached and written), what was
//! paid, what it would have cost without prompt caching, and the savings.

use perf::llm::LlmMeter;

/// Prints `meter`'s totals per model, then a total line and the exact total in dollars.
pub fn print_cost_table(meter: &LlmMeter) {
    let totals = meter.totals();
    println!(
        "{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11} {:>11} {:>11}",
        "model", "calls", "input", "cached", "written", "output", "cost $", "uncached $", "saved $"
    );
    let mut sum = perf::llm::Cost::default();
    for t in &totals {
        println!(
            "{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11.6} {:>11.6} {:>11.6}",
            t.model,
            t.calls,
            t.usage.input,
            t.usage.cache_read,
            t.usage.cache_write,
            t.usage.output,
            t.cost.total_usd(),
            t.cost.without_cache.normalize(),
            t.cost.cache_savings_usd(),
        );
        sum += t.cost;
    }
    println!(
        "{:<18} {:>5} {:>8} {:>8} {:>8} {:>7} {:>11.6} {:>11.6} {:>11.6}",
        "total",
        totals.iter().map(|t| t.calls).sum::<u64>(),
        "",
        "",
        "",
        "",
        sum.total_usd(),
        sum.without_cache.normalize(),
        sum.cache_savings_usd(),
    );
    println!(
        "(exact total: ${}; input counts include cached and written tokens)",
        sum.total.normalize()
    );
}
