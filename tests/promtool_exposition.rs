//! The rendered exposition is accepted by `promtool check metrics` (Debian package
//! `prometheus`, installed by `.ci/run`). Without promtool the test is ignored (see
//! `build.rs`), or fails when `PERF_REQUIRE_PROMETHEUS=1`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use perf_core::callsite::{Callsite, Outcome};

static CHARGE: Callsite = Callsite::new("charge_card", module_path!())
    .with_labels(&[("tier", "gold")])
    .with_buckets(&[0.001, 0.01, 0.1]);

fn exposition() -> String {
    // The facade's exporter: it gives the gen_ai histograms perf-llm's bucket sets.
    let (recorder, exporter) = perf::core::export::prometheus()
        .add_global_label("service", "payments")
        .unwrap()
        .build()
        .unwrap();
    CHARGE.record(2_000_000, Outcome::Ok);
    CHARGE.record(40_000_000, Outcome::Error);
    CHARGE.record(90_000, Outcome::Panic);
    let h = perf_core::histogram("queue_wait_seconds", &[("queue", "a\"b\\c\nd")]).unwrap();
    h.record(Duration::from_micros(300));
    {
        let _t = perf_core::time("load_config");
    }
    metrics::with_local_recorder(&recorder, || {
        // Facade metrics need a description, or promtool's lint flags "no help text".
        metrics::describe_counter!("gen_ai_client_cost_usd_total", "Cost of LLM calls.");
        metrics::describe_gauge!("tokio_workers", "Worker threads.");
        metrics::describe_histogram!(
            "gen_ai_client_operation_duration_seconds",
            "LLM call duration."
        );
        metrics::describe_histogram!("gen_ai_client_token_usage", "Tokens per LLM call.");
        metrics::counter!("gen_ai_client_cost_usd_total", "gen_ai_request_model" => "gpt-4o")
            .increment(3);
        metrics::gauge!("tokio_workers").set(2.0);
        metrics::histogram!("gen_ai_client_operation_duration_seconds", "gen_ai_request_model" => "gpt-4o")
            .record(0.7);
        metrics::histogram!("gen_ai_client_token_usage", "gen_ai_token_type" => "input")
            .record(1200.0);
    });
    exporter.render()
}

#[test]
#[cfg_attr(
    perf_no_prometheus,
    ignore = "SKIPPED: prometheus/promtool not installed (apt-get install -y prometheus)"
)]
fn promtool_accepts_the_exposition() {
    let text = exposition();
    assert!(text.contains("function_calls_duration_seconds_bucket{service=\"payments\",function=\"charge_card\",module=\"promtool_exposition\",result=\"error\",tier=\"gold\",le=\"0.1\"} 1"), "{text}");
    assert!(text.contains("function_calls_total{service=\"payments\",function=\"charge_card\",module=\"promtool_exposition\",result=\"panic\",tier=\"gold\"} 1"), "{text}");
    assert!(text.contains("gen_ai_client_operation_duration_seconds_bucket{service=\"payments\",gen_ai_request_model=\"gpt-4o\",le=\"0.08\"} 0"), "{text}");

    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        if std::env::var_os("PERF_REQUIRE_PROMETHEUS").is_some() {
            panic!("promtool not found but PERF_REQUIRE_PROMETHEUS is set: apt-get install -y prometheus");
        }
        eprintln!("SKIPPED: promtool not found (apt-get install -y prometheus); exposition not checked by promtool");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool rejected the exposition:\n{report}\n---\n{text}"
    );
    // promtool's lint also passes (it prints problems even with exit 0 in some versions).
    assert!(
        report.trim().is_empty(),
        "promtool lint findings:\n{report}\n---\n{text}"
    );
}
