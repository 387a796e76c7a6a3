//! The rendered exposition of an app that uses every perf crate is accepted by
//! `promtool check metrics`, lint included (Debian package `prometheus`, installed by
//! `.ci/run`). Without promtool the test is ignored (see `build.rs`), or fails when
//! `PERF_REQUIRE_PROMETHEUS=1`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use perf::async_::{CollectingSink, Config, FutureExt, RuntimeGauges};
use perf::llm::{LlmCall, LlmMeter, TokenUsage};
use perf_core::callsite::{Callsite, Outcome};

static CHARGE: Callsite = Callsite::new("charge_card", module_path!())
    .with_labels(&[("tier", "gold")])
    .with_buckets(&[0.001, 0.01, 0.1]);

/// What an application using every crate exports: `#[timed]`-style callsites, a histogram,
/// a wrapped future with one slow poll, a runtime's gauges, a priced LLM call and a call to
/// a model the price table does not know; the process metrics.
fn exposition() -> String {
    // The facade's exporter: it gives the gen_ai histograms perf-llm's bucket sets.
    let (recorder, exporter) = perf::core::export::prometheus()
        .add_global_label("service", "payments")
        .unwrap()
        .with_process_metrics()
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sink = Arc::new(CollectingSink::new());
    metrics::with_local_recorder(&recorder, || {
        let config = Config::new()
            .with_threshold(Duration::from_millis(1))
            .unwrap()
            .with_name("promtool")
            .with_sink(sink.clone());
        rt.block_on(
            async { std::thread::sleep(Duration::from_millis(3)) }.detect_blocking_with(config),
        );
        RuntimeGauges::new(rt.handle().clone(), "api").sample();
        let meter = LlmMeter::new();
        LlmCall::new("openai", "gpt-4o")
            .usage(TokenUsage::new(1200, 80))
            .latency(Duration::from_millis(700))
            .record_with(&meter);
        LlmCall::new("openai", "no-such-model-promtool")
            .usage(TokenUsage::new(10, 1))
            .record_with(&meter);
    });
    assert_eq!(sink.take().len(), 1, "the wrapped future's slow poll");
    rt.shutdown_timeout(Duration::from_secs(1));
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
    assert!(text.contains("gen_ai_client_operation_duration_seconds_bucket{service=\"payments\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\",le=\"0.08\"} 0"), "{text}");
    // Every family the app touched is in the text, so promtool judges all of them.
    // The process metrics exist where /proc does.
    let process = perf::core::names::METRICS
        .iter()
        .filter(|n| cfg!(target_os = "linux") && n.starts_with("process_"));
    for name in perf::async_::names::METRICS
        .iter()
        .chain(perf::llm::names::METRICS)
        .chain(process)
    {
        assert!(
            text.contains(&format!("\n# TYPE {name} ")),
            "{name} missing from the exposition:\n{text}"
        );
    }

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
