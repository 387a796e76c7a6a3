//! [`Callsite`]: the `static` that `#[timed]` generates per function, the [`Guard`] that
//! times one call of it, and [`TimedCall`], the future that times one async call.

use std::borrow::Cow;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::alloc::{installed, mark, AllocTotals, CallAllocs};
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
/// A method's `function` label names its type (`Cart::total`, `Cart::fmt` for
/// `impl Display for Cart`), so same-name methods of two types never share a series; see
/// [`Callsite::in_impl`].
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
    /// The def path of an item inside the method, for its type's name (see `in_impl`).
    def_path: Option<fn() -> &'static str>,
    /// `name`, or `Type::name` for a method: built once, at the first registration.
    function: OnceLock<Cow<'static, str>>,
    module: &'static str,
    labels: &'static [(&'static str, &'static str)],
    slow_nanos: u64,
    buckets: Option<&'static [f64]>,
    outcomes: [LatencyHistogram; 4],
    /// Allocation sums per outcome, filled when the counting allocator is installed.
    allocs: [AllocTotals; 4],
    registered: [AtomicBool; 4],
    slow: SlowLog,
}

impl Callsite {
    /// A callsite for function `name` in `module` (use `module_path!()`).
    pub const fn new(name: &'static str, module: &'static str) -> Self {
        Callsite {
            name,
            def_path: None,
            function: OnceLock::new(),
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
            allocs: [
                AllocTotals::new(),
                AllocTotals::new(),
                AllocTotals::new(),
                AllocTotals::new(),
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

    /// Marks the callsite as a method's: its `function` label becomes `Type::name`, the
    /// type read from `def_path`, which returns `std::any::type_name` of a fn item declared
    /// inside the method (`shop::Cart::total::anchor`, or `<shop::Cart as
    /// core::fmt::Display>::fmt::anchor` in a trait impl). The type's name is its last path
    /// segment without generic arguments (`Wrapper<T>` is `Wrapper`). It is read once, at
    /// the first registration, so a call costs the same as a free fn's.
    ///
    /// ```
    /// use perf_core::callsite::{Callsite, Outcome};
    ///
    /// struct Cart;
    ///
    /// impl Cart {
    ///     fn total(&self) {
    ///         fn anchor() -> &'static str {
    ///             std::any::type_name_of_val(&anchor)
    ///         }
    ///         static TOTAL: Callsite = Callsite::new("total", module_path!()).in_impl(anchor);
    ///         TOTAL.start().finish(Outcome::Ok);
    ///     }
    /// }
    ///
    /// Cart.total();
    /// assert_eq!(perf_core::summary("Cart::total").unwrap().count, 1);
    /// ```
    pub const fn in_impl(mut self, def_path: fn() -> &'static str) -> Self {
        self.def_path = Some(def_path);
        self
    }

    /// The `function` label: the function's name, or `Type::name` for a method.
    pub fn name(&self) -> &str {
        self.function.get_or_init(|| match self.def_path {
            None => Cow::Borrowed(self.name),
            Some(def_path) => Cow::Owned(method_name(def_path(), self.name)),
        })
    }

    /// The slow-call threshold, if any.
    pub fn slow_threshold(&self) -> Option<Duration> {
        (self.slow_nanos > 0).then(|| Duration::from_nanos(self.slow_nanos))
    }

    /// The histogram of one outcome.
    pub fn histogram(&self, outcome: Outcome) -> &LatencyHistogram {
        &self.outcomes[outcome as usize]
    }

    /// The allocation sums of one outcome (all zero unless the counting allocator is
    /// installed).
    pub fn allocations(&self, outcome: Outcome) -> &AllocTotals {
        &self.allocs[outcome as usize]
    }

    /// Starts timing one call: one clock read, and a mark of the thread's allocation
    /// counters when the counting allocator is installed.
    #[inline]
    pub fn start(&'static self) -> Guard {
        let allocs = CallAllocs::sync();
        Guard {
            callsite: self,
            allocs,
            start: clock::now_nanos(),
        }
    }

    /// Times one async call: `fut` is the call's work, `outcome` names how a returned value
    /// ended (see [`TimedCall`]). The clock is read now, so create it where the call starts:
    /// at the first poll of the `async fn`'s own future.
    #[inline]
    pub fn call<F, O>(&'static self, fut: F, outcome: O) -> TimedCall<F, O>
    where
        F: Future,
        O: FnOnce(&F::Output) -> Outcome,
    {
        TimedCall {
            fut: ManuallyDrop::new(fut),
            outcome: Some(outcome),
            callsite: self,
            start: clock::now_nanos(),
            allocs: 0,
            bytes: 0,
            done: false,
        }
    }

    /// Records a call that took `nanos` with `outcome` and allocated `allocs` times,
    /// `bytes` in all. The record itself (a first record registers the series, which
    /// allocates) is bookkeeping, not the call's or an enclosing call's allocations.
    /// Out of line: the timed paths inline only [`record`](Self::record), once.
    #[inline(never)]
    fn record_allocating(&'static self, nanos: u64, outcome: Outcome, allocs: u64, bytes: u64) {
        crate::alloc::bookkeeping(|| {
            self.allocs[outcome as usize].add(allocs, bytes);
            self.record(nanos, outcome);
        });
    }

    /// Records a call that took `nanos` with `outcome`. Always inlined: a timed fn's hot
    /// path then makes no call of its own into perf-core (see BENCHMARKS.md, "Async
    /// `#[timed]` as one `TimedCall` future").
    #[inline(always)]
    pub fn record(&'static self, nanos: u64, outcome: Outcome) {
        let i = outcome as usize;
        if !self.registered[i].load(Relaxed) {
            self.register(outcome);
        }
        self.outcomes[i].record_nanos(nanos);
        if self.slow_nanos != 0 && nanos > self.slow_nanos {
            self.slow.observe(
                self.name(),
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
        let function: &'static str = self.name();
        let mut labels = function_labels(function, self.module, outcome.as_str());
        labels.extend(self.labels.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        Registry::global().push(Series {
            name: function.into(),
            family: Family::FunctionCalls,
            labels,
            source: Source::Static(&self.outcomes[i]),
            buckets: self.buckets,
            allocs: Some(&self.allocs[i]),
        });
    }
}

/// `Type::name` for a method `name` whose inner item has the def path `def_path`: the
/// segment before the method's is its impl's (`Type`, `Type<_>` or `<Type as Trait>`), or
/// its trait's for a default method. Only `name` when the path has no such segment.
fn method_name(def_path: &str, name: &str) -> String {
    let mut segments = top_level_segments(def_path);
    // The inner item itself, then the closures an `async fn` body lives in.
    segments.pop();
    while segments.last() == Some(&"{{closure}}") {
        segments.pop();
    }
    segments.pop();
    match segments.last() {
        Some(owner) => format!("{}::{name}", type_name(owner)),
        None => name.to_owned(),
    }
}

/// The short name of the type an impl segment names: `Cart` for `crate::m::Cart`,
/// `Wrapper<_>`, `<&crate::m::Cart as core::fmt::Display>` or `dyn crate::m::Shape`; a
/// slice or tuple keeps its shape with every path shortened (`[Cart]`, `(Cart, u8)`).
fn type_name(segment: &str) -> String {
    let mut ty = segment;
    if let Some(inner) = ty.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        ty = top_level_split(inner, " as ").map_or(inner, |(ty, _)| ty);
    }
    loop {
        let stripped = ty
            .trim_start_matches('&')
            .trim_start_matches("mut ")
            .trim_start_matches("dyn ");
        if stripped == ty {
            break;
        }
        ty = stripped;
    }
    if ty.starts_with(['[', '(', '*']) {
        return shorten_paths(ty);
    }
    let last = top_level_segments(ty).pop().unwrap_or(ty);
    last.split('<').next().unwrap_or(last).to_owned()
}

/// `ty` with each path cut to its last segment: `(a::B, c::D<e::F>)` is `(B, D<F>)`.
fn shorten_paths(ty: &str) -> String {
    let mut out = String::with_capacity(ty.len());
    let mut ident = String::new();
    let mut rest = ty;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            ident.clear();
            rest = after;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            ident.push(c);
        } else {
            out.push_str(&ident);
            ident.clear();
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push_str(&ident);
    out
}

/// `path` split at each `::` that is not inside `<>`, `()` or `[]`.
fn top_level_segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some((head, tail)) = top_level_split(rest, "::") {
        segments.push(head);
        rest = tail;
    }
    segments.push(rest);
    segments
}

/// `s` split at the first `sep` outside brackets (an `->` closes none).
fn top_level_split<'a>(s: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    let mut depth = 0usize;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' if prev == '-' => {}
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && s[i..].starts_with(sep) => {
                return Some((&s[..i], &s[i + sep.len()..]));
            }
            _ => {}
        }
        prev = c;
    }
    None
}

/// Times one call: created by [`Callsite::start`], records when [`finish`](Guard::finish)ed
/// or dropped. Dropped unfinished, it records `panic` if the thread is unwinding and
/// `cancelled` otherwise (an async call's future dropped mid-way).
#[must_use = "the call is timed until the guard is finished or dropped"]
pub struct Guard {
    callsite: &'static Callsite,
    start: u64,
    allocs: CallAllocs,
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
        // Read before the timing is recorded: a first record registers the series, which
        // allocates, and that is not the call's doing.
        if installed() {
            let (allocs, bytes) = self.allocs.taken();
            self.callsite
                .record_allocating(nanos, outcome, allocs, bytes);
        } else {
            self.callsite.record(nanos, outcome);
        }
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

/// Times one async call of a [`Callsite`]: the future of its work, created by
/// [`Callsite::call`], whose output it returns unchanged.
///
/// It records when the work completes, with the outcome its `outcome` function gives the
/// output; dropped before that, it records `panic` if the thread is unwinding and
/// `cancelled` otherwise. When the counting allocator is installed, each poll's allocations
/// are measured on the thread that ran the poll and added to the call's, so the numbers stay
/// right when a multi-thread runtime moves the future between workers. Without it, a poll
/// costs one predictable branch more than the work's own poll.
///
/// ```
/// use perf_core::callsite::{Callsite, Outcome};
///
/// static FETCH: Callsite = Callsite::new("fetch", module_path!());
///
/// let call = FETCH.call(async { Ok::<u32, String>(7) }, Outcome::of_result);
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(std::pin::pin!(call).poll(&mut cx).is_ready());
/// assert_eq!(perf_core::summary_with("fetch", &[("result", "ok")]).unwrap().count, 1);
/// # use std::future::Future;
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TimedCall<F, O> {
    /// Dropped first in `drop`, so a cancelled call's time includes dropping its work.
    fut: ManuallyDrop<F>,
    /// Taken when the work completes.
    outcome: Option<O>,
    callsite: &'static Callsite,
    start: u64,
    /// The call's allocations so far (kept only while the counting allocator is installed).
    allocs: u64,
    bytes: u64,
    /// Recorded: the work completed.
    done: bool,
}

impl<F, O> std::fmt::Debug for TimedCall<F, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedCall")
            .field("function", &self.callsite.name())
            .field("allocs", &self.allocs)
            .field("bytes", &self.bytes)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<F, O> Future for TimedCall<F, O>
where
    F: Future,
    O: FnOnce(&F::Output) -> Outcome,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: never moved out, and dropped in place.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        if !installed() {
            let Poll::Ready(out) = fut.poll(cx) else {
                return Poll::Pending;
            };
            let outcome = this.outcome(&out);
            let nanos = clock::now_nanos().saturating_sub(this.start);
            this.callsite.record(nanos, outcome);
            return Poll::Ready(out);
        }
        let (a, b) = mark();
        let poll = fut.poll(cx);
        let (a2, b2) = mark();
        this.allocs = this.allocs.wrapping_add(a2.wrapping_sub(a));
        this.bytes = this.bytes.wrapping_add(b2.wrapping_sub(b));
        let Poll::Ready(out) = poll else {
            return Poll::Pending;
        };
        let outcome = this.outcome(&out);
        let nanos = clock::now_nanos().saturating_sub(this.start);
        this.callsite
            .record_allocating(nanos, outcome, this.allocs, this.bytes);
        Poll::Ready(out)
    }
}

impl<F, O> TimedCall<F, O> {
    /// The outcome of the work's output, the call marked done. Done only after the
    /// `outcome` function returns: if it panics, `drop` records the call as `panic`.
    #[inline(always)]
    fn outcome<T>(&mut self, out: &T) -> Outcome
    where
        O: FnOnce(&T) -> Outcome,
    {
        let outcome = self.outcome.take().map_or(Outcome::Ok, |f| f(out));
        self.done = true;
        outcome
    }

    /// Records a call dropped before its work completed.
    #[cold]
    #[inline(never)]
    fn unfinished(&self) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            Outcome::Cancelled
        };
        let nanos = clock::now_nanos().saturating_sub(self.start);
        if installed() {
            self.callsite
                .record_allocating(nanos, outcome, self.allocs, self.bytes);
        } else {
            self.callsite.record(nanos, outcome);
        }
    }
}

impl<F, O> Drop for TimedCall<F, O> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `fut` is dropped once, here, in place (it is pinned), and not used after.
        unsafe { ManuallyDrop::drop(&mut self.fut) };
        if !self.done {
            self.unfinished();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::method_name;

    #[test]
    fn a_method_is_named_by_its_type() {
        for (def_path, name, expected) in [
            ("app::shop::Cart::total::anchor", "total", "Cart::total"),
            (
                "app::Cart::fetch::{{closure}}::anchor",
                "fetch",
                "Cart::fetch",
            ),
            ("app::m::Wrapper<_>::get::anchor", "get", "Wrapper::get"),
            ("app::m::Shape::area::anchor", "area", "Shape::area"),
            (
                "<&app::m::Cart as core::fmt::Display>::fmt::anchor",
                "fmt",
                "Cart::fmt",
            ),
            (
                "<app::m::Wrapper<fn() -> u8> as app::m::Loc>::loc::anchor",
                "loc",
                "Wrapper::loc",
            ),
            (
                "<dyn app::m::Shape as app::m::Loc>::loc::anchor",
                "loc",
                "Shape::loc",
            ),
            (
                "<[app::m::Wrapper<u8>] as app::Loc>::loc::anchor",
                "loc",
                "[Wrapper<u8>]::loc",
            ),
            (
                "<(app::m::Cart, app::m::Wrapper<u8>) as app::Loc>::loc::anchor",
                "loc",
                "(Cart, Wrapper<u8>)::loc",
            ),
            ("anchor", "f", "f"),
        ] {
            assert_eq!(method_name(def_path, name), expected, "{def_path}");
        }
    }
}
