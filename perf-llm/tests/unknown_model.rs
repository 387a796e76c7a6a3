//! An unpriced model: its WARN is rate-limited per model (with the nearest names still
//! suggested), each call still counted, and a very long name handled without suggestions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_core::clock::Clock;
use perf_llm::{LlmCall, LlmMeter, PriceTable, TokenUsage};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// The fields of every "LLM call not priced" WARN, as `name=value` strings.
#[derive(Clone, Default)]
struct Warns(Arc<Mutex<Vec<Vec<String>>>>);

struct Fields(Vec<String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warns {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != tracing::Level::WARN {
            return;
        }
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        if f.0.iter().any(|s| s == "message=LLM call not priced") {
            self.0.lock().unwrap().push(f.0);
        }
    }
}

impl Warns {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn field(&self, i: usize, name: &str) -> String {
        let w = self.0.lock().unwrap();
        w[i].iter()
            .find_map(|s| s.strip_prefix(&format!("{name}=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no field {name} in {:?}", w[i]))
    }
}

fn recorded(meter: &LlmMeter, model: &str) -> (u64, u64) {
    let t = meter.totals();
    let t = t.iter().find(|t| t.model == model).expect("a series");
    (t.calls, t.unpriced)
}

/// Runs the tests of this file one at a time: a `tracing` callsite first hit on one thread
/// while another thread installs its scoped subscriber can cache a stale interest, and the
/// WARN would go unseen.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn an_unknown_model_warns_once_per_interval_with_its_suggestion() {
    let _serial = serial();
    let warns = Warns::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warns.clone()));
    let (clock, hand) = Clock::manual();
    let meter = LlmMeter::with_prices(PriceTable::builtin()).with_clock(clock);
    let call = || {
        LlmCall::new("openai", "gpt-4p")
            .usage(TokenUsage::new(100, 10))
            .record_with(&meter)
    };
    for _ in 0..1000 {
        assert_eq!(call().cost, None);
    }
    assert_eq!(warns.count(), 1);
    assert!(
        warns.field(0, "error").contains("gpt-4o"),
        "{}",
        warns.field(0, "error")
    );
    assert_eq!(warns.field(0, "suppressed"), "0");
    // Just under the interval: still held back; at the interval: the next WARN, with the
    // count of those held back.
    hand.advance(LlmMeter::DEFAULT_WARN_INTERVAL - Duration::from_nanos(1));
    call();
    assert_eq!(warns.count(), 1);
    hand.advance(Duration::from_nanos(1));
    call();
    assert_eq!(warns.count(), 2);
    assert_eq!(warns.field(1, "suppressed"), "1000");
    assert!(warns.field(1, "error").contains("gpt-4o"));
    assert_eq!(recorded(&meter, "gpt-4p"), (1002, 1002));
    assert_eq!(meter.prices().unknown_model_lookups(), 1002);
}

#[test]
fn a_model_learnt_by_set_prices_is_priced_at_the_next_call() {
    let _serial = serial();
    let warns = Warns::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warns.clone()));
    let meter = LlmMeter::with_prices(PriceTable::new());
    let call = || {
        LlmCall::new("openai", "gpt-4o")
            .usage(TokenUsage::new(1_000_000, 0))
            .record_with(&meter)
    };
    assert_eq!(call().cost, None);
    assert_eq!(call().cost, None);
    meter.set_prices(PriceTable::builtin());
    assert_eq!(call().cost.unwrap().total, "2.5".parse().unwrap());
    assert_eq!(recorded(&meter, "gpt-4o"), (3, 2));
    // Nothing to suggest from an empty table.
    assert_eq!(warns.count(), 1);
    assert!(!warns.field(0, "error").contains("did you mean"));
}

#[test]
fn a_64_kib_model_name_is_handled_without_suggestions() {
    let _serial = serial();
    let warns = Warns::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warns.clone()));
    let long = "gpt-4o-".repeat(64 * 1024 / 7 + 1);
    assert!(long.len() >= 64 * 1024);
    let table = PriceTable::builtin();
    assert_eq!(table.nearest(&long, 3), Vec::<String>::new());
    let (clock, _hand) = Clock::manual();
    let meter = LlmMeter::with_prices(table).with_clock(clock);
    for _ in 0..100 {
        let c = LlmCall::new("openai", long.clone())
            .usage(TokenUsage::new(1, 1))
            .record_with(&meter);
        assert_eq!(c.cost, None);
    }
    assert_eq!(warns.count(), 1);
    assert!(warns.field(0, "error").contains("no price for model"));
    assert_eq!(recorded(&meter, &long), (100, 100));
}
