//! What the tour must have shown: CI runs `cargo run --example tour`, so a tour that finds
//! nothing fails instead of printing an empty report.

use std::panic::Location;
use std::time::Duration;

use perf::async_::CollectingSink;
use perf::llm::LlmMeter;

/// What the tour must have shown; CI runs it, so a tour that finds nothing fails.
/// Each problem is one line telling what was missing.
pub fn check_tour(
    kept: &CollectingSink,
    meter: &LlmMeter,
    report_wrapped_at: Option<&'static Location<'static>>,
    tour_file: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    match report_wrapped_at {
        None => problems.push("GET /report was never requested".to_owned()),
        Some(at) => {
            let found = kept.polls().into_iter().any(|p| {
                p.location == at
                    && p.location.file() == tour_file
                    && p.task == Some("GET /report")
                    && p.duration >= Duration::from_millis(25)
            });
            if !found {
                problems.push(format!(
                    "no slow poll of GET /report (a 25ms sleep) was reported at {}:{}",
                    at.file(),
                    at.line()
                ));
            }
        }
    }
    let cost = meter
        .totals()
        .iter()
        .fold(perf::llm::Cost::default(), |sum, t| sum + t.cost);
    if cost.total <= perf::llm::Decimal::ZERO {
        problems.push(format!(
            "the LLM calls cost ${}, not more than $0",
            cost.total
        ));
    }
    let report = perf::report();
    let template = report
        .rows
        .iter()
        .find(|r| r.name == "load_report_template");
    match template.map(|r| &r.summary) {
        Some(s) if s.count > 0 && s.p99 >= Duration::from_millis(25) && s.p99 <= s.max => {}
        other => problems.push(format!(
            "tour::load_report_template (a 25ms sleep) has no p99 of at least 25ms in the report: {other:?}"
        )),
    }
    // The counting allocator is installed: each `render_order` call builds one `String`.
    match report.rows.iter().find(|r| r.name == "render_order") {
        Some(r) if r.allocations.map(|a| a.allocs) == Some(r.summary.count) => {}
        other => problems.push(format!(
            "tour::render_order (one String per call) has not one allocation per call in the \
             report: {:?}",
            other.map(|r| (r.summary.count, r.allocations))
        )),
    }
    problems
}

/// What the load and the break point must have shown: every scheduled request started and
/// answered, and at least one break-point step run and judged.
pub fn check_load(
    load: &perf::load::Report,
    found: &perf::load::BreakPointReport,
    rate: f64,
    seconds: u64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let scheduled = (rate * seconds as f64) as u64;
    if load.requests + load.dropped != scheduled {
        problems.push(format!(
            "the load started {} and dropped {} of {scheduled} scheduled requests",
            load.requests, load.dropped
        ));
    }
    if load.latency.count != load.requests || load.latency.p99 < load.service_time.p50 {
        problems.push(format!(
            "the load report's latency does not cover its {} requests: {:?}",
            load.requests, load.latency
        ));
    }
    if found.steps.is_empty() || found.steps[0].requests == 0 {
        problems.push("the break-point search ran no step".to_owned());
    }
    problems
}
