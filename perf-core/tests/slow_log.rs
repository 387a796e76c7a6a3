//! Slow-call WARNs, against the manual clock (global: this binary has one test).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_core::callsite::{Callsite, Outcome};
use perf_core::clock::{self, Clock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static CHECKOUT: Callsite =
    Callsite::new("slow_checkout", module_path!()).with_slow_nanos(250_000_000);

#[test]
fn slow_calls_warn_once_per_interval_and_count_the_rest() {
    let (manual, hand) = Clock::manual();
    clock::set_global(manual);
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let call = |ms: u64| {
        let g = CHECKOUT.start();
        hand.advance(Duration::from_millis(ms));
        g.finish(Outcome::Ok);
    };
    tracing::subscriber::with_default(subscriber, || {
        call(100); // fast: no WARN
        call(300); // slow: WARN
        call(400); // slow, within 1 s of the last WARN: held back
        call(500); // slow, within 1 s: held back
        hand.advance(Duration::from_secs(2));
        call(260); // slow: WARN with suppressed=2
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let warns: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warns.len(), 2, "{text}");
    assert!(
        warns[0].contains("slow call: slow_checkout took 300ms (threshold 250ms)"),
        "{text}"
    );
    assert!(warns[0].contains("suppressed=0"));
    assert!(warns[1].contains("took 260ms"));
    assert!(warns[1].contains("suppressed=2"), "{text}");
    let s = perf_core::summary("slow_checkout").unwrap();
    assert_eq!(s.count, 5);
    assert_eq!(s.max, Duration::from_millis(500));
    clock::set_global(Clock::system());
}
