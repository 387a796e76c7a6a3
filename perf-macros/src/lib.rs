//! Attribute macros of perf: [`#[timed]`](macro@timed) times any fn into a latency
//! histogram with the call's outcome. Use them through `perf_core::timed` or `perf::timed`;
//! the generated code names only `::perf_core::__private` paths.
#![warn(missing_docs)]

mod async_body;
mod timed;

use proc_macro::TokenStream;

/// Times every call of a fn (or of every method of an impl block) into a latency histogram,
/// with the call's outcome.
///
/// ```
/// use perf_core::timed;
///
/// #[timed]
/// fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
///     input.trim().parse()
/// }
///
/// #[timed(slow = "250ms", labels(tier = "gold"))]
/// async fn fetch(id: u32) -> u32 {
///     id * 2
/// }
///
/// parse("42").unwrap();
/// parse("forty-two").unwrap_err();
/// assert_eq!(perf_core::summary_with("parse", &[("result", "ok")]).unwrap().count, 1);
/// assert_eq!(perf_core::summary_with("parse", &[("result", "error")]).unwrap().count, 1);
/// ```
///
/// Each call records exactly one sample into a `static` callsite generated for the fn, under
/// `function_calls_duration_seconds{function, module, result}` and, from the same counts,
/// `function_calls_total{function, module, result}` (see `perf_core::export`). The
/// `module` label is the fn's `module_path!()`. A generic fn has one callsite for all its
/// instantiations.
///
/// # Outcomes (the `result` label)
/// * `ok`: the call returned, and the value is not an error.
/// * `error`: the fn returns a `Result` (any alias of it: `io::Result<T>`,
///   `anyhow::Result<T>`) and it was `Err`; or `error_if = path` said so. The `Result` is
///   recognised from the returned value's type at compile time, so a fn returning a bare
///   type parameter `T` that happens to be a `Result` records `ok`: use `error_if` there.
/// * `panic`: the call unwound. The sample is recorded while unwinding and the panic goes
///   on.
/// * `cancelled`: an async call whose future was dropped after it was first polled and
///   before it finished (a timeout, the losing branch of `select!`).
///
/// # Async
/// For an `async fn`, and for a fn whose body ends in `async move { ... }` or
/// `Box::pin(async move { ... })` (what `#[async_trait]` generates, so `#[timed]` works on
/// the methods of an `#[async_trait]` impl), the timing lives inside the future: it starts
/// at the first poll and ends when the future completes, so it measures the work, not the
/// building of the future. A future dropped **before its first poll** did no work and
/// records nothing.
///
/// # Options
/// * `name = "checkout"`: the `function` label (default: the fn's name).
/// * `labels(tier = "gold", ...)`: static labels on every series of the fn.
/// * `slow = "250ms"`: a call slower than this emits one rate-limited `tracing` WARN
///   (target `perf::slow`). Parsed at compile time (`humantime` syntax).
/// * `span`: also enter an INFO `tracing` span named like the metric around the call (around
///   each poll for async), so one attribute gives both a span and a histogram.
/// * `buckets = [0.001, 0.01, 0.1]`: this fn's Prometheus bucket bounds, in seconds.
/// * `error_if = path`: a `fn(&T) -> bool` that says whether a returned value is an error.
/// * `crate = path`: where perf-core is, for a crate that re-exports it
///   (`#[timed(crate = perf::core)]` when only the `perf` facade is a dependency).
/// * `skip`: inside a timed impl block, leave this method untimed.
///
/// ```
/// use perf_core::timed;
///
/// struct Cart(Vec<u32>);
///
/// fn is_empty(v: &[u32]) -> bool {
///     v.is_empty()
/// }
///
/// #[timed(labels(service = "shop"))]
/// impl Cart {
///     /// Every method is timed, with its own name.
///     fn total(&self) -> u32 {
///         self.0.iter().sum()
///     }
///
///     #[timed(error_if = is_empty, buckets = [0.000_001, 0.001])]
///     fn items(&self) -> Vec<u32> {
///         self.0.clone()
///     }
///
///     #[timed(skip)]
///     fn len(&self) -> usize {
///         self.0.len()
///     }
/// }
///
/// let cart = Cart(vec![]);
/// assert_eq!(cart.total(), 0);
/// cart.items();
/// assert_eq!(perf_core::summary_with("items", &[("result", "error")]).unwrap().count, 1);
/// ```
///
/// # What it costs
/// Two clock reads (TSC through `quanta` where the kernel marks it stable) and one record
/// into the callsite's per-thread histogram shard: no allocation, lock, lookup by name or
/// shared write per call. `cargo bench --bench timed` measures it against a bare fn and a
/// hand-written `Instant` pair plus cached `metrics` handle.
///
/// # Compile errors
/// A `const fn`, an unknown or duplicate option, a value of the wrong type and anything
/// that is not a fn or an impl block are `compile_error!`s at the offending token:
///
/// ```compile_fail
/// #[perf_core::timed]
/// const fn answer() -> u32 { 42 }
/// ```
///
/// ```compile_fail
/// #[perf_core::timed(slow = "quick")]
/// fn handle() {}
/// ```
///
/// ```compile_fail
/// #[perf_core::timed(nmae = "handle")]
/// fn handle() {}
/// ```
///
/// ```compile_fail
/// #[perf_core::timed(span, span)]
/// fn handle() {}
/// ```
///
/// ```compile_fail
/// #[perf_core::timed]
/// struct Handler;
/// ```
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    timed::timed(args.into(), item.into()).into()
}
