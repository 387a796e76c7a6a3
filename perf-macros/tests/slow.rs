//! `slow = "..."`: a call over the threshold emits exactly one WARN, captured with a test
//! subscriber; timing comes from perf-core's manual clock (global, hence this own binary
//! with a single test).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_core::clock::{self, Clock, ManualClock};
use perf_core::timed;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl<S: Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == Level::WARN && meta.target() == "perf::slow" {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }
}

static HAND: Mutex<Option<ManualClock>> = Mutex::new(None);

fn advance(d: Duration) {
    HAND.lock().unwrap().as_ref().unwrap().advance(d);
}

#[timed(slow = "250ms")]
fn slow_handler(work: Duration) -> Result<(), ()> {
    advance(work);
    Ok(())
}

#[timed(slow = "1s")]
async fn slow_async(work: Duration) {
    tokio::task::yield_now().await;
    advance(work);
}

#[test]
fn one_warn_per_slow_call_and_none_for_fast_ones() {
    let (manual, hand) = Clock::manual();
    hand.set_nanos(1_000_000_000_000);
    *HAND.lock().unwrap() = Some(hand.clone());
    clock::set_global(manual);

    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    tracing::subscriber::with_default(subscriber, || {
        slow_handler(Duration::from_millis(100)).unwrap();
        slow_handler(Duration::from_millis(250)).unwrap();
        assert!(
            captured.0.lock().unwrap().is_empty(),
            "at the threshold is not slow"
        );

        slow_handler(Duration::from_millis(300)).unwrap();
        let warns = captured.0.lock().unwrap().clone();
        assert_eq!(warns.len(), 1, "{warns:?}");
        assert!(warns[0].contains("function=\"slow_handler\""), "{warns:?}");
        assert!(warns[0].contains("elapsed_ms=300.0"), "{warns:?}");
        assert!(warns[0].contains("threshold_ms=250.0"), "{warns:?}");

        // Rate-limited per callsite: a second slow call within the interval is held back.
        slow_handler(Duration::from_millis(400)).unwrap();
        assert_eq!(captured.0.lock().unwrap().len(), 1);

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(slow_async(Duration::from_millis(1500)));
        rt.block_on(slow_async(Duration::from_millis(10)));
        let warns = captured.0.lock().unwrap().clone();
        assert_eq!(warns.len(), 2, "{warns:?}");
        assert!(warns[1].contains("function=\"slow_async\""), "{warns:?}");
    });

    // The samples carry the manual clock's durations exactly (within the histogram's error).
    let s = perf_core::summary("slow_handler").unwrap();
    assert_eq!(s.count, 4);
    assert!(s.max >= Duration::from_millis(399) && s.max <= Duration::from_millis(404));
    clock::set_global(Clock::system());
}
