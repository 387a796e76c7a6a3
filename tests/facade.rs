//! The facade alone is enough: `#[perf::timed]`, `#[perf::llm_call]` and
//! `perf::assert_allocations!` expand to
//! `::perf::…` paths, and the re-exported names are where the docs say.

#[derive(Debug)]
struct AskError;

impl From<perf::llm::BudgetExceeded> for AskError {
    fn from(_: perf::llm::BudgetExceeded) -> Self {
        AskError
    }
}

#[perf::llm_call(provider = "openai", model = "gpt-4o-mini")]
async fn ask(prompt_tokens: u64) -> Result<serde_json::Value, AskError> {
    Ok(serde_json::json!({
        "model": "gpt-4o-mini",
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 10,
                  "prompt_tokens_details": {"cached_tokens": 0}}
    }))
}

#[perf::timed]
fn facade_timed_add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn macros_expand_through_the_facade() {
    assert_eq!(facade_timed_add(1, 2), 3);
    assert_eq!(perf::summary("facade_timed_add").unwrap().count, 1);

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(ask(1000)).unwrap();
    assert_eq!(perf::summary("ask").unwrap().count, 1);
    let totals = perf::llm::LlmMeter::global().totals();
    let mini = totals.iter().find(|t| t.model == "gpt-4o-mini").unwrap();
    assert_eq!((mini.usage.input, mini.usage.output), (1000, 10));
}

/// `perf::core::export::prometheus()` gives each perf-llm histogram the bucket set perf-llm
/// names for it (`perf::llm::names::HISTOGRAM_BUCKETS`): the exporter copies no names.
#[test]
fn the_facade_exporter_uses_perf_llm_bucket_sets() {
    let (recorder, exporter) = perf::core::export::prometheus().build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        for (name, _) in perf::llm::names::HISTOGRAM_BUCKETS {
            metrics::histogram!(*name).record(1.0);
        }
    });
    let text = exporter.render();
    for (name, buckets) in perf::llm::names::HISTOGRAM_BUCKETS {
        let les: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name}_bucket{{le=\"")))
            .filter_map(|rest| rest.split('"').next())
            .filter(|le| *le != "+Inf")
            .map(|le| le.parse().unwrap())
            .collect();
        assert_eq!(les, buckets.to_vec(), "{name}'s buckets in\n{text}");
    }
    // perf-core alone gives them the default latency buckets.
    let (recorder, exporter) = perf_core::export::prometheus().build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::histogram!(perf::llm::TOKEN_USAGE).record(1.0);
    });
    let last_le = perf_core::export::DEFAULT_LATENCY_BUCKETS.last().unwrap();
    assert!(
        exporter.render().contains(&format!(
            "{}_bucket{{le=\"{last_le}\"}}",
            perf::llm::TOKEN_USAGE
        )),
        "{}",
        exporter.render()
    );
}

#[test]
fn the_allocation_macros_expand_through_the_facade() {
    // This binary does not install `perf::alloc::Counting`: both refuse to judge, which
    // proves they expanded to `::perf::…` paths and ran.
    assert!(!perf::alloc::installed());
    let err = std::panic::catch_unwind(|| perf::assert_allocations!(|| (), allocs == 0, net == 0))
        .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("perf's counting allocator is not the global allocator"));
    let err = std::panic::catch_unwind(|| perf::alloc::assert_no_growth!(|| (), iterations = 10))
        .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("perf's counting allocator is not the global allocator"));
}
