//! Attribute macros of perf: [`#[timed]`](macro@timed) times any fn into a latency
//! histogram with the call's outcome. Use them through `perf_core::timed` or `perf::timed`;
//! the generated code names only `::perf_core::__private` paths.
#![warn(missing_docs)]

// The layout, one line per module:
mod args; //       the argument-parsing kit: option keywords, collected errors, value parsers
mod assert_allocations; // `assert_allocations!`: its clauses and expansion
mod async_body; // recognising an async body (`async fn`, a returned `async` block, `Box::pin`)
mod item; //       where an error about the kind of item points
mod llm_call; //   `#[llm_call]`: its options (`attr`) and expansion (`expand`), built on `#[timed]`
mod timed; //      `#[timed]`: its options (`attr`) and expansion (`expand`)

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
/// # Method names
/// A method's `function` label is `Type::method` (`Cart::total`; `Cart::fmt` in
/// `impl Display for Cart`; `Wrapper::get` for every `Wrapper<T>`; `Shape::area` for a
/// trait's default method), so the `new`, `get` or `fmt` of two types in one module are two
/// series, not one merged by `summary()` nor two that Prometheus would drop as duplicates.
/// The type is read once, at the first call, from `std::any::type_name` of an item the macro
/// declares inside the method (a `static` cannot name `Self`): the per-call cost is a free
/// fn's. `#[timed]` on an impl block knows every method is one. On a single method, the
/// macro sees only the fn: it is known to be a method when it has a `self` receiver or names
/// `Self` in its signature (`fn new() -> Self`). An associated fn that does neither
/// (`fn new() -> Cart`) looks like a free fn and keeps its bare name: time it through its
/// impl block or give it `name = "Cart::new"`. A `name = "..."` is used as written.
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
/// * `name = "checkout"`: the `function` label, as written (default: the fn's name,
///   `Type::method` for a method).
/// * `labels(tier = "gold", ...)`: static labels on every series of the fn. A key is a
///   Prometheus label name (ASCII letters, digits, `_`) and none of `function`, `module`,
///   `result` (set by `#[timed]`), `le`, `quantile` or `__...` (Prometheus's own): a
///   compile error otherwise, since the scrape would be rejected.
/// * `slow = "250ms"`: a call slower than this emits one rate-limited `tracing` WARN
///   (target `perf::slow`). Parsed at compile time (`humantime` syntax).
/// * `span`: also enter an INFO `tracing` span named like the metric around the call (around
///   each poll for async), so one attribute gives both a span and a histogram. A span's name
///   is fixed at compile time, so a method's span is named by the method alone.
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
///     /// Every method is timed, named by its type: `Cart::total`.
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
/// assert_eq!(perf_core::summary_with("Cart::items", &[("result", "error")]).unwrap().count, 1);
/// ```
///
/// # `#[track_caller]`
/// A sync body runs inside a closure (so `return` and `?` keep their meaning), and closures
/// cannot be `#[track_caller]` on stable Rust. On a `#[timed] #[track_caller]` fn the chain
/// of callers therefore stops at the body: a panic or `Location::caller()` inside it reports
/// the body's own line, not the caller's. Put `#[timed]` on the caller instead when the
/// location matters.
///
/// # What it costs
/// Two clock reads (TSC through `quanta` where the kernel marks it stable) and one record
/// into the callsite's per-thread histogram shard: no allocation, lock, lookup by name or
/// shared write per call. `cargo bench --bench timed` measures it against a bare fn and a
/// hand-written `Instant` pair plus cached `metrics` handle.
///
/// # Compile errors
/// A `const fn`, an unknown or duplicate option, a value of the wrong type, a reserved or
/// invalid label key and anything that is not a fn or an impl block are `compile_error!`s at
/// the offending token:
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
/// #[perf_core::timed(labels(le = "x"))]
/// fn handle() {}
/// ```
///
/// ```compile_fail
/// #[perf_core::timed]
/// struct Handler;
/// ```
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    timed::timed(args.into(), item.into(), None).into()
}

/// [`#[timed]`](macro@timed) as the `perf` facade re-exports it (`perf::timed`): the same
/// macro, whose generated code names `::perf::core::__private` instead of
/// `::perf_core::__private`, so a crate that depends only on `perf` needs nothing else.
/// See [`macro@timed`] for everything it does.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn timed_via_facade(args: TokenStream, item: TokenStream) -> TokenStream {
    timed::timed(
        args.into(),
        item.into(),
        Some(syn::parse_quote!(::perf::core)),
    )
    .into()
}

/// Meters an async fn that calls a model: checks budgets before the call, then records its
/// latency, token usage, cost and outcome with a `perf_llm::LlmMeter`, and times it like
/// [`#[timed]`](macro@timed). Use it through `perf_llm::llm_call` or `perf::llm_call`; the
/// generated code names only `::perf_llm::__private` paths.
///
/// ```
/// use perf_llm::llm_call;
///
/// #[derive(Debug)]
/// enum AskError {
///     Http(u16),
///     Budget(perf_llm::BudgetExceeded),
/// }
///
/// impl From<perf_llm::BudgetExceeded> for AskError {
///     fn from(e: perf_llm::BudgetExceeded) -> Self {
///         AskError::Budget(e)
///     }
/// }
///
/// #[llm_call(provider = "openai", operation = "chat")]
/// async fn ask(prompt: &str) -> Result<serde_json::Value, AskError> {
///     // ... send `prompt`, parse the JSON answer ...
///     Ok(serde_json::json!({"id": "chatcmpl-1", "model": "gpt-4o-mini", "usage": {
///         "prompt_tokens": 1000, "completion_tokens": 100,
///         "prompt_tokens_details": {"cached_tokens": 800}}}))
/// }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(ask("hello")).unwrap();
/// let t = perf_llm::LlmMeter::global().totals();
/// let t = t.iter().find(|t| t.model == "gpt-4o-mini").unwrap();
/// assert_eq!((t.calls, t.usage.input, t.usage.cache_read), (1, 1000, 800));
/// // 200 × $0.15/M + 800 × $0.075/M + 100 × $0.60/M
/// assert_eq!(t.cost.total.to_string(), "0.00015");
/// assert_eq!(perf_core::summary_with("ask", &[("result", "ok")]).unwrap().count, 1);
/// ```
///
/// # What it needs
/// An `async fn`, or a fn whose body ends in `async move { ... }` or
/// `Box::pin(async move { ... })` (what `#[async_trait]` writes, so it works on the methods
/// of an `#[async_trait]` impl), returning `Result<R, E>` (any alias of it) where
/// `R: perf_llm::LlmResponse` — implemented for `serde_json::Value` and the provider types
/// in `perf_llm::providers`. Unless `budget = false`, also `E: From<perf_llm::BudgetExceeded>`
/// (`anyhow::Error` and `Box<dyn Error + Send + Sync>` have it; with thiserror, a
/// `#[from] BudgetExceeded` variant).
///
/// # What one call does
/// 1. At the first poll, the `#[timed]` clock starts and the options' expressions are
///    evaluated (`model`, `user`, `endpoint`, `meter`), before the body runs.
/// 2. Budgets: the call is admitted on the meter's hard budgets for its user, endpoint and
///    model, and holds a reservation on them until it ends: settled to its exact cost when
///    recorded, released if it fails, is cancelled or panics. Its cost is not known before
///    it is sent, so on a budget with a `per_call` reservation
///    (`Budget::hard().per_call(usd)`) it holds that much, and calls run concurrently
///    while spent + reserved stays within the limit; on a budget without one, a call is
///    admitted only while the limit is not reached and no other such call is in flight,
///    so the spend passes the limit by at most one call's cost. If a budget refuses, the
///    fn returns `Err(E::from(BudgetExceeded))` **without running the body** (the error's
///    `reason` says which rule refused), and no LLM call is recorded (none was sent); the
///    `#[timed]` series records `result="error"`.
/// 3. The body runs; the LLM latency is measured around it.
/// 4. `Ok(r)`: one `LlmCall` is recorded with `r.usage()` (cost from the meter's price
///    table), the model (the `model` option, else `r.model()`), `r.request_id()`, the
///    provider and operation. `Err(e)`: it is recorded with `error_type` =
///    `std::any::type_name::<E>()` (the error's type, as OpenTelemetry's `error.type`
///    advises), usage missing and no cost. A future dropped mid-way records the call as
///    `cancelled`, a panic as the error type `panic`.
///
/// The `#[timed]` part records `function_calls_duration_seconds{function, module, result}`
/// under the fn's name with `result` = `ok`, `error`, `panic` or `cancelled`, so the fn is
/// in `perf_core::report()` like any timed fn.
///
/// # Options
/// * `provider = "openai"` (required): `gen_ai_provider_name`.
/// * `operation = "chat"`: `gen_ai_operation_name` (default `chat`; `embeddings`,
///   `text_completion` …).
/// * `model = <expr>`: the model asked for, an expression over the fn's arguments
///   (`model = req.model.clone()`, `model = model`); anything `Into<String>`. Without it,
///   the model is the response's `model()`, a failed call's model is empty, and the call
///   is admitted on the budget of the model this fn's last response named (remembered per
///   fn; its first call has no model budget to check). Give `model =` when one fn calls
///   several models, so each call is checked on its own model's budget.
/// * `user = <expr>`, `endpoint = <expr>`: budget keys (`Into<String>`); never metric
///   labels.
/// * `meter = <expr>`: the meter to record with, anything that borrows as a
///   `perf_llm::LlmMeter` (`&METER`, `self.meter.clone()` for an `Arc<LlmMeter>`); default
///   `LlmMeter::global()`.
/// * `budget = false`: skip the budget check (and the `From<BudgetExceeded>` bound).
/// * `crate = path`: where perf-llm is, for a crate that re-exports it
///   (`#[llm_call(crate = perf::llm, provider = "openai")]` when only the `perf` facade is a
///   dependency).
///
/// ```
/// use std::sync::{Arc, LazyLock};
/// use perf_llm::{llm_call, LlmMeter};
///
/// static METER: LazyLock<LlmMeter> = LazyLock::new(LlmMeter::new);
///
/// struct Request {
///     model: String,
///     user: String,
/// }
///
/// #[llm_call(
///     provider = "anthropic",
///     model = req.model.clone(),
///     user = req.user.as_str(),
///     meter = &*METER,
/// )]
/// async fn complete(req: &Request) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
///     Err("connection reset".into())
/// }
///
/// let req = Request { model: "claude-3-5-haiku".into(), user: "alice".into() };
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert!(rt.block_on(complete(&req)).is_err());
/// let t = &METER.totals()[0];
/// assert_eq!((t.model.as_str(), t.calls, t.errors), ("claude-3-5-haiku", 1, 1));
/// ```
///
/// # What it costs
/// Besides the model call itself: the `#[timed]` guard, two more clock reads, the budget
/// reservation (a read lock, a hash lookup and a mutex per key, only when the meter has
/// budgets) and the meter's `record` (pricing, a mutex per series, `metrics` handles cached
/// per series, one `tracing` event): about a microsecond, the same as the metering written
/// by hand, and more with budgets (reserved and settled per key). `cargo bench --bench llm_call` measures it against both baselines.
///
/// # Compile errors
/// A fn that is not async (nor returns an `async` block), a return type that is not a
/// `Result` of an `LlmResponse`, an error type without `From<BudgetExceeded>`, a missing
/// `provider`, an unknown or duplicate option and a value of the wrong type are
/// `compile_error!`s at the offending token:
///
/// ```compile_fail
/// #[perf_llm::llm_call(provider = "openai")]
/// fn ask() -> Result<serde_json::Value, std::io::Error> { todo!() }
/// ```
///
/// ```compile_fail
/// #[perf_llm::llm_call(operation = "chat")]
/// async fn ask() -> Result<serde_json::Value, perf_llm::BudgetExceeded> { todo!() }
/// ```
///
/// ```compile_fail
/// #[perf_llm::llm_call(provider = "openai")]
/// async fn ask() -> Result<serde_json::Value, std::io::Error> { todo!() }
/// ```
#[proc_macro_attribute]
pub fn llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    llm_call::llm_call(args.into(), item.into(), None).into()
}

/// [`#[llm_call]`](macro@llm_call) as the `perf` facade re-exports it (`perf::llm_call`):
/// the same macro, whose generated code names `::perf::llm` unless `crate = path` is given,
/// so a crate that depends only on `perf` needs no other dependency.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn llm_call_via_facade(args: TokenStream, item: TokenStream) -> TokenStream {
    llm_call::llm_call(
        args.into(),
        item.into(),
        Some(syn::parse_quote!(::perf::llm)),
    )
    .into()
}

/// Runs a closure once and checks what it allocated on this thread; evaluates to its
/// `AllocStats`. Use it as `perf_core::assert_allocations!` or `perf::assert_allocations!`.
///
/// Clauses: `allocs`, `deallocs`, `reallocs`, `bytes` (bytes allocated), `bytes_freed`,
/// `net` (bytes left allocated), `peak` (most bytes live at once, above the start), with
/// `==`, `<=` or `<`, against any integer. The closure's value is dropped after the count,
/// so returning a `Vec` counts it in `net`.
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// let mut buf = Vec::with_capacity(64);
/// perf_core::assert_allocations!(|| { buf.clear(); buf.extend_from_slice(b"hello") }, allocs == 0);
/// let s = perf_core::assert_allocations!(|| format!("{}", 42).len(), allocs <= 1, bytes <= 64, net == 0);
/// assert_eq!(s.allocs, 1);
/// ```
///
/// # Panics
/// When a clause does not hold, with every failing clause and the measured stats; at once,
/// with how to install it, when `perf_core::alloc::Counting` is not the global allocator
/// (never a vacuous pass):
///
/// ```should_panic
/// perf_core::assert_allocations!(|| (), allocs == 0);
/// ```
///
/// # Compile errors
/// An unknown statistic or another comparison is a `compile_error!` at its token:
///
/// ```compile_fail
/// perf_core::assert_allocations!(|| (), alocs == 0);
/// ```
///
/// ```compile_fail
/// perf_core::assert_allocations!(|| (), allocs != 0);
/// ```
#[proc_macro]
pub fn assert_allocations(input: TokenStream) -> TokenStream {
    assert_allocations::assert_allocations(input.into(), syn::parse_quote!(::perf_core)).into()
}

/// [`assert_allocations!`] as the `perf` facade re-exports it: its expansion names
/// `::perf::core`.
#[doc(hidden)]
#[proc_macro]
pub fn assert_allocations_via_facade(input: TokenStream) -> TokenStream {
    assert_allocations::assert_allocations(input.into(), syn::parse_quote!(::perf::core)).into()
}
