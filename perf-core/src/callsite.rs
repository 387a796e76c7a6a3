//! [`Callsite`]: the `static` that `#[timed]` generates per function, and the [`Guard`]
//! that times one call of it.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::time::Duration;

use crate::clock;
use crate::histogram::LatencyHistogram;
use crate::registry::{function_labels, Family, Registry, Series, Source};
use crate::slow::SlowLog;

/// How a call ended: the `result` label of `function_calls_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Returned normally (an `Ok`, or a value no predicate called an error).
    Ok,
    /// Returned an `Err`, or a value the `error_if` predicate flagged.
    Error,
    /// Unwound from a panic.
    Panic,
    /// An async call whose future was dropped before it finished.
    Cancelled,
}

impl Outcome {
    /// Every outcome, in label order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
    ];

    /// The label value: `ok`, `error`, `panic`, `cancelled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// `Ok` for an `Ok(_)`, `Error` for an `Err(_)`.
    pub fn of_result<T, E>(r: &Result<T, E>) -> Outcome {
        if r.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

/// One timed function: its name, module, static labels, slow threshold, buckets, and a
/// histogram per [`Outcome`]. `#[timed]` generates one as a `static`; it registers itself
/// in the global registry on its first call.
///
/// ```
/// use perf_core::callsite::{Callsite, Outcome};
///
/// static CHECKOUT: Callsite = Callsite::new("checkout", module_path!())
///     .with_slow_nanos(250_000_000);
///
/// let guard = CHECKOUT.start();
/// // ... the call's work ...
/// guard.finish(Outcome::Ok);
/// assert_eq!(perf_core::summary_with("checkout", &[("result", "ok")]).unwrap().count, 1);
/// ```
pub struct Callsite {
    name: &'static str,
    module: &'static str,
    labels: &'static [(&'static str, &'static str)],
    slow_nanos: u64,
    buckets: Option<&'static [f64]>,
    outcomes: [LatencyHistogram; 4],
    registered: [AtomicBool; 4],
    slow: SlowLog,
}

impl Callsite {
    /// A callsite for function `name` in `module` (use `module_path!()`).
    pub const fn new(name: &'static str, module: &'static str) -> Self {
        Callsite {
            name,
            module,
            labels: &[],
            slow_nanos: 0,
            buckets: None,
            outcomes: [
                LatencyHistogram::new(),
                LatencyHistogram::new(),
                LatencyHistogram::new(),
                LatencyHistogram::new(),
            ],
            registered: [
                AtomicBool::new(false),
                AtomicBool::new(false),
                AtomicBool::new(false),
                AtomicBool::new(false),
            ],
            slow: SlowLog::new(),
        }
    }

    /// Static labels added to every series of this callsite.
    pub const fn with_labels(mut self, labels: &'static [(&'static str, &'static str)]) -> Self {
        self.labels = labels;
        self
    }

    /// A call slower than this many nanoseconds emits a rate-limited WARN (0: never).
    pub const fn with_slow_nanos(mut self, nanos: u64) -> Self {
        self.slow_nanos = nanos;
        self
    }

    /// Prometheus bucket upper bounds (seconds) for this callsite instead of the exporter's.
    pub const fn with_buckets(mut self, buckets: &'static [f64]) -> Self {
        self.buckets = Some(buckets);
        self
    }

    /// The function name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The slow-call threshold, if any.
    pub fn slow_threshold(&self) -> Option<Duration> {
        (self.slow_nanos > 0).then(|| Duration::from_nanos(self.slow_nanos))
    }

    /// The histogram of one outcome.
    pub fn histogram(&self, outcome: Outcome) -> &LatencyHistogram {
        &self.outcomes[outcome as usize]
    }

    /// Starts timing one call: one clock read.
    #[inline]
    pub fn start(&'static self) -> Guard {
        Guard {
            callsite: self,
            start: clock::now_nanos(),
        }
    }

    /// Records a call that took `nanos` with `outcome`.
    #[inline]
    pub fn record(&'static self, nanos: u64, outcome: Outcome) {
        let i = outcome as usize;
        if !self.registered[i].load(Relaxed) {
            self.register(outcome);
        }
        self.outcomes[i].record_nanos(nanos);
        if self.slow_nanos != 0 && nanos > self.slow_nanos {
            self.slow.observe(
                self.name,
                self.module,
                Duration::from_nanos(nanos),
                Duration::from_nanos(self.slow_nanos),
                clock::now_nanos(),
            );
        }
    }

    #[cold]
    fn register(&'static self, outcome: Outcome) {
        let i = outcome as usize;
        if self.registered[i]
            .compare_exchange(false, true, AcqRel, Acquire)
            .is_err()
        {
            return;
        }
        let mut labels = function_labels(self.name, self.module, outcome.as_str());
        labels.extend(self.labels.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        Registry::global().push(Series {
            name: self.name.into(),
            family: Family::FunctionCalls,
            labels,
            source: Source::Static(&self.outcomes[i]),
            buckets: self.buckets,
        });
    }
}

/// Times one call: created by [`Callsite::start`], records when [`finish`](Guard::finish)ed
/// or dropped. Dropped unfinished, it records `panic` if the thread is unwinding and
/// `cancelled` otherwise (an async call's future dropped mid-way).
#[must_use = "the call is timed until the guard is finished or dropped"]
pub struct Guard {
    callsite: &'static Callsite,
    start: u64,
}

impl Guard {
    /// Records the call with `outcome`.
    #[inline]
    pub fn finish(self, outcome: Outcome) {
        let this = std::mem::ManuallyDrop::new(self);
        this.record(outcome);
    }

    #[inline]
    fn record(&self, outcome: Outcome) {
        let nanos = clock::now_nanos().saturating_sub(self.start);
        self.callsite.record(nanos, outcome);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            Outcome::Cancelled
        };
        self.record(outcome);
    }
}
