//! A test mode that fails the test on blocking: [`assert_no_blocking!`](crate::assert_no_blocking)
//! runs a future on a fresh current-thread runtime and panics listing every slow poll — of
//! the future itself and of every wrapped future or covered task polled on that runtime.

use std::fmt::Write as _;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::config::Config;
use crate::detect::DetectBlocking;
use crate::slow_poll::{collect_on_this_thread, CollectingSink, SlowPoll, SlowPollSink};

/// Asserts that a future never blocks: runs it to completion on a new current-thread tokio
/// runtime (time and, when tokio's `net` feature is on, I/O enabled) and panics with every
/// slow poll's location and duration if any poll took longer than the threshold. Returns
/// the future's output.
///
/// `assert_no_blocking!(fut)` uses the default threshold;
/// `assert_no_blocking!(fut, config)` takes a [`Config`](crate::Config). Call it from a
/// plain `#[test]`, not from inside a runtime (tokio cannot start a runtime inside another).
///
/// ```
/// let v = perf_async::assert_no_blocking!(async {
///     tokio::time::sleep(std::time::Duration::from_millis(20)).await; // fine: it yields
///     7
/// });
/// assert_eq!(v, 7);
/// ```
///
/// ```should_panic
/// perf_async::assert_no_blocking!(async {
///     std::thread::sleep(std::time::Duration::from_millis(60)); // blocks the runtime
/// });
/// ```
#[macro_export]
macro_rules! assert_no_blocking {
    ($fut:expr $(,)?) => {
        $crate::__private::assert_no_blocking(
            $fut,
            $crate::Config::new(),
            ::core::panic::Location::caller(),
        )
    };
    ($fut:expr, $config:expr $(,)?) => {
        $crate::__private::assert_no_blocking($fut, $config, ::core::panic::Location::caller())
    };
}

/// What [`assert_no_blocking!`](crate::assert_no_blocking) expands to.
#[doc(hidden)]
pub fn assert_no_blocking<F: Future>(
    fut: F,
    config: Config,
    location: &'static Location<'static>,
) -> F::Output {
    match check_no_blocking(fut, config, location) {
        Ok(v) => v,
        Err(polls) => panic!("{}", describe(&polls)),
    }
}

/// Runs `fut` and returns its output, or every slow poll seen on the runtime.
#[doc(hidden)]
pub fn check_no_blocking<F: Future>(
    fut: F,
    config: Config,
    location: &'static Location<'static>,
) -> Result<F::Output, Vec<SlowPoll>> {
    let collector = Arc::new(CollectingSink::new());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("assert_no_blocking!: could not build a tokio runtime: {e}"),
    };
    // The wrapper's own reports go only to the collector (not to the process-wide sink):
    // in a test the panic message is the report.
    let config = if config.sink.is_some() {
        config
    } else {
        config.with_sink(Arc::new(Discard))
    };
    let out = {
        let _collect = collect_on_this_thread(collector.clone());
        rt.block_on(DetectBlocking::new(fut, config, location))
    };
    drop(rt);
    let polls = collector.take();
    if polls.is_empty() {
        Ok(out)
    } else {
        Err(polls)
    }
}

struct Discard;

impl SlowPollSink for Discard {
    fn report(&self, _: &SlowPoll) {}
}

fn describe(polls: &[SlowPoll]) -> String {
    let mut s = format!("blocking detected: {} slow poll(s)", polls.len());
    for p in polls {
        let _ = write!(
            s,
            "\n  {}:{}{} took {} (threshold {})",
            p.location.file(),
            p.location.line(),
            p.task.map(|t| format!(" [{t}]")).unwrap_or_default(),
            perf_core::format_duration(p.duration),
            perf_core::format_duration(p.threshold),
        );
        if let Some(stack) = &p.stack {
            let _ = write!(s, "\n    {}", stack.summary());
        }
    }
    s
}
