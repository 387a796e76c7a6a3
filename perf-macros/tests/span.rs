//! `span`: one attribute gives a `tracing` span named like the metric, entered around a
//! sync call and around each poll of an async one.

use std::sync::{Arc, Mutex};

use perf_core::timed;
use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Log {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        assert_eq!(*meta.level(), Level::INFO);
        self.0.lock().unwrap().push(format!("new {}", meta.name()));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let name = ctx.span(id).unwrap().name();
        self.0.lock().unwrap().push(format!("enter {name}"));
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let name = ctx.span(id).unwrap().name();
        self.0.lock().unwrap().push(format!("exit {name}"));
    }
}

#[timed(span)]
fn span_sync(x: u32) -> u32 {
    tracing::Span::current()
        .metadata()
        .map_or(0, |m| if m.name() == "span_sync" { x } else { 0 })
}

#[timed(span, name = "span_async_renamed")]
async fn span_async() {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
}

#[timed]
async fn span_none() {}

#[test]
fn spans_are_entered_around_the_call_and_each_poll() {
    let log = Log::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(span_sync(5), 5, "the body runs inside the span");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(span_async());
        rt.block_on(span_none());
    });
    let log = log.0.lock().unwrap().clone();
    assert_eq!(
        &log[..3],
        ["new span_sync", "enter span_sync", "exit span_sync"]
    );
    let async_log = &log[3..];
    assert_eq!(async_log[0], "new span_async_renamed");
    // Two yields: three polls, each inside the span (tracing's `Instrumented` also enters
    // it to drop the inner future, so at least three).
    let enters = async_log
        .iter()
        .filter(|l| *l == "enter span_async_renamed")
        .count();
    let exits = async_log
        .iter()
        .filter(|l| *l == "exit span_async_renamed")
        .count();
    assert!(enters >= 3 && enters == exits, "{log:?}");
    assert!(
        async_log.iter().all(|l| l.ends_with("span_async_renamed")),
        "no span for fns without `span`: {log:?}"
    );
    assert_eq!(perf_core::summary("span_async_renamed").unwrap().count, 1);
}
