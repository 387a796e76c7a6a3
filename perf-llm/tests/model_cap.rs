//! The meter keeps at most its cap of distinct models; later models are folded into one
//! `__overflow__` entry with one WARN, and the money stays exact.

use std::sync::{Arc, Mutex};

use perf_core::cardinality::OVERFLOW;
use perf_llm::{Cost, Decimal, LlmCall, LlmMeter, ModelPrice, PriceTable, TokenUsage};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Counts the WARNs of target `perf_llm` other than the per-call ones.
#[derive(Clone, Default)]
struct FoldWarns(Arc<Mutex<usize>>);

impl<S: tracing::Subscriber> Layer<S> for FoldWarns {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let m = event.metadata();
        if *m.level() == tracing::Level::WARN
            && m.target() == "perf_llm"
            && m.fields().field("max_models").is_some()
        {
            *self.0.lock().unwrap() += 1;
        }
    }
}

/// Even models priced (each at its own scale, so the overflow entry sums mixed scales),
/// odd ones unknown.
fn table(models: usize) -> PriceTable {
    let mut t = PriceTable::new();
    for i in (0..models).step_by(2) {
        let scale = 6 + (i % 7) as u32;
        t.insert(
            format!("model-{i}"),
            ModelPrice::new(Decimal::new(1 + i as i64, scale), Decimal::new(3, scale)),
        );
    }
    t
}

/// Records `models` distinct models, three calls each; returns the sum of their bills.
fn record(meter: &LlmMeter, models: usize) -> Cost {
    let mut sum = Cost::default();
    for round in 0..3u64 {
        for i in 0..models {
            let c = LlmCall::new("openai", format!("model-{i}"))
                .usage(TokenUsage::new(1000 + round, 7))
                .record_with(meter);
            if let Some(c) = c.cost {
                sum += c;
            }
        }
    }
    sum
}

fn check(meter: &LlmMeter, models: usize, cap: usize) {
    let bills = record(meter, models);
    let totals = meter.totals();
    assert_eq!(totals.len(), cap + 1, "{cap} models and {OVERFLOW}");
    let over = totals.iter().find(|t| t.model == OVERFLOW).unwrap();
    let folded = (models - cap) as u64;
    assert_eq!(over.calls, 3 * folded);
    // Models cap.. are folded; the odd ones among them are unknown.
    let unknown_folded = (cap..models).filter(|i| i % 2 == 1).count() as u64;
    assert_eq!(over.unpriced, 3 * unknown_folded);
    assert_eq!(over.usage.output, 3 * 7 * folded);
    let admitted = totals.iter().filter(|t| t.model != OVERFLOW);
    assert!(admitted.clone().all(|t| t.calls == 3));
    let mut names: Vec<usize> = admitted
        .map(|t| t.model["model-".len()..].parse().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, (0..cap).collect::<Vec<_>>());
    let sum = totals
        .iter()
        .fold(Decimal::ZERO, |acc, t| acc + t.cost.total);
    assert_eq!(sum, bills.total);
    assert_eq!(
        totals
            .iter()
            .fold(Decimal::ZERO, |acc, t| acc + t.cost.without_cache),
        bills.without_cache
    );
}

/// Runs the tests of this file one at a time: a `tracing` callsite first hit on one thread
/// while another thread installs its scoped subscriber can cache a stale interest, and the
/// WARN would go unseen.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn the_default_cap_keeps_a_thousand_models_and_folds_the_rest() {
    let _serial = serial();
    let warns = FoldWarns::default();
    let _g = tracing::subscriber::set_default(tracing_subscriber::registry().with(warns.clone()));
    let meter = LlmMeter::with_prices(table(1005));
    check(&meter, 1005, 1000);
    assert_eq!(*warns.0.lock().unwrap(), 1);
}

#[test]
fn a_configured_cap_folds_the_models_past_it() {
    let _serial = serial();
    let warns = FoldWarns::default();
    let _g = tracing::subscriber::set_default(tracing_subscriber::registry().with(warns.clone()));
    let meter = LlmMeter::with_prices(table(100)).with_max_models(10);
    check(&meter, 100, 10);
    assert_eq!(*warns.0.lock().unwrap(), 1);
    // An admitted model seen again with another provider is not a new model.
    LlmCall::new("azure", "model-3")
        .usage(TokenUsage::new(1, 1))
        .record_with(&meter);
    let t = meter.totals();
    assert_eq!(t.len(), 12);
    assert!(t
        .iter()
        .any(|t| t.provider == "azure" && t.model == "model-3"));
}
