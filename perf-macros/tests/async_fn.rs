//! `#[timed]` on async code: `async fn`, fns returning `impl Future`, `#[async_trait]`
//! methods. The timing lives inside the future: it starts at the first poll, records
//! `cancelled` when the future is dropped mid-way, `panic` when it unwinds (the `error_if`
//! predicate's own panic included), and nothing when it is never polled.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use perf_core::timed;

fn count(name: &str, result: &str) -> u64 {
    perf_core::summary_with(name, &[("result", result)]).map_or(0, |s| s.count)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[derive(Debug, PartialEq)]
struct Failed;

#[timed]
async fn async_ok(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x + 1
}

#[timed]
async fn async_result(fail: bool) -> Result<u32, Failed> {
    tokio::task::yield_now().await;
    if fail {
        return Err(Failed);
    }
    let n: u32 = "41".parse().map_err(|_| Failed)?;
    Ok(n + 1)
}

#[test]
fn async_fn_records_one_sample_per_call_with_its_outcome() {
    let rt = runtime();
    assert_eq!(rt.block_on(async_ok(1)), 2);
    assert_eq!(rt.block_on(async_result(false)), Ok(42));
    assert_eq!(rt.block_on(async_result(true)), Err(Failed));
    assert_eq!(rt.block_on(async_result(true)), Err(Failed));
    assert_eq!(count("async_ok", "ok"), 1);
    assert_eq!(count("async_result", "ok"), 1);
    assert_eq!(count("async_result", "error"), 2);
}

#[timed]
async fn async_sleeps_forever() {
    std::future::pending::<()>().await;
}

#[test]
fn dropped_after_first_poll_is_cancelled() {
    let rt = runtime();
    let r = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(5), async_sleeps_forever()).await
    });
    assert!(r.is_err());
    assert_eq!(count("async_sleeps_forever", "cancelled"), 1);
    assert_eq!(count("async_sleeps_forever", "ok"), 0);
}

#[timed]
async fn async_never_polled() -> u8 {
    1
}

#[test]
fn dropped_before_first_poll_records_nothing() {
    drop(async_never_polled());
    assert!(perf_core::summary("async_never_polled").is_none());
}

#[timed]
async fn async_panics(msg: &'static str) {
    tokio::task::yield_now().await;
    panic!("{msg}");
}

#[test]
fn a_panic_inside_the_future_is_recorded_and_goes_on() {
    let rt = runtime();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async_panics("boom"))
    }));
    assert!(r.is_err());
    assert_eq!(count("async_panics", "panic"), 1);
    assert_eq!(count("async_panics", "cancelled"), 0);
}

fn is_empty(v: &[u8]) -> bool {
    v.is_empty()
}

#[timed(error_if = is_empty)]
async fn async_error_if(n: usize) -> Vec<u8> {
    tokio::task::yield_now().await;
    vec![7; n]
}

#[test]
fn error_if_flags_what_an_async_fn_returned() {
    let rt = runtime();
    assert_eq!(rt.block_on(async_error_if(0)), Vec::<u8>::new());
    assert_eq!(rt.block_on(async_error_if(2)), vec![7, 7]);
    assert_eq!(rt.block_on(async_error_if(0)), Vec::<u8>::new());
    assert_eq!(count("async_error_if", "error"), 2);
    assert_eq!(count("async_error_if", "ok"), 1);
}

fn refuses_to_judge(_: &u32) -> bool {
    panic!("predicate failed");
}

#[timed(error_if = refuses_to_judge)]
async fn async_predicate_panics() -> u32 {
    tokio::task::yield_now().await;
    5
}

#[test]
fn a_panic_in_the_error_if_predicate_is_recorded_as_a_panic() {
    let rt = runtime();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async_predicate_panics())
    }));
    assert!(r.is_err());
    assert_eq!(count("async_predicate_panics", "panic"), 1);
    assert_eq!(count("async_predicate_panics", "ok"), 0);
    assert_eq!(count("async_predicate_panics", "cancelled"), 0);
}

/// Polls `fut` by hand: the time between building the future and its first poll must not
/// be counted.
#[test]
fn timing_starts_at_the_first_poll_not_at_construction() {
    #[timed]
    fn async_built_early() -> impl Future<Output = u8> {
        async move { 7 }
    }
    let mut fut = Box::pin(async_built_early());
    std::thread::sleep(Duration::from_millis(300));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(7));
    let s = perf_core::summary_with("async_built_early", &[("result", "ok")]).unwrap();
    assert_eq!(s.count, 1);
    assert!(s.max < Duration::from_millis(300), "{:?}", s.max);
}

#[timed]
fn async_boxed(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, Failed>> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        if fail {
            Err(Failed)
        } else {
            Ok(1)
        }
    })
}

#[test]
fn fn_returning_a_boxed_future_times_the_work_and_reads_the_result() {
    let rt = runtime();
    assert_eq!(rt.block_on(async_boxed(false)), Ok(1));
    assert_eq!(rt.block_on(async_boxed(true)), Err(Failed));
    assert_eq!(count("async_boxed", "ok"), 1);
    assert_eq!(count("async_boxed", "error"), 1);
}

#[async_trait]
trait Store {
    async fn get(&self, key: &str) -> Result<String, Failed>;

    #[timed]
    async fn async_trait_default(&self) -> usize {
        self.get("a").await.map_or(0, |v| v.len())
    }
}

struct Memory;

#[async_trait]
impl Store for Memory {
    #[timed(name = "async_trait_get")]
    async fn get(&self, key: &str) -> Result<String, Failed> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        match key {
            "a" => Ok("apple".into()),
            _ => Err(Failed),
        }
    }
}

#[test]
fn async_trait_methods_time_the_work_inside_the_future() {
    let rt = runtime();
    let store = Memory;
    let fut = store.get("a");
    // Building the boxed future did no work and recorded nothing.
    assert!(perf_core::summary("async_trait_get").is_none());
    assert_eq!(rt.block_on(fut), Ok("apple".into()));
    assert_eq!(rt.block_on(store.get("b")), Err(Failed));
    assert_eq!(rt.block_on(store.async_trait_default()), 5);
    let ok = perf_core::summary_with("async_trait_get", &[("result", "ok")]).unwrap();
    assert_eq!(ok.count, 2);
    // The sleep inside the future is in the sample: the work was timed, not the boxing.
    assert!(ok.min >= Duration::from_millis(19), "{:?}", ok.min);
    assert_eq!(count("async_trait_get", "error"), 1);
    assert_eq!(count("Store::async_trait_default", "ok"), 1);
}

struct Cache;

#[timed]
#[async_trait]
impl Store for Cache {
    async fn get(&self, key: &str) -> Result<String, Failed> {
        let _ = key;
        Err(Failed)
    }
}

#[test]
fn timed_above_async_trait_on_the_impl_block() {
    let rt = runtime();
    assert_eq!(rt.block_on(Cache.get("x")), Err(Failed));
    assert_eq!(count("Cache::get", "error"), 1);
}

#[timed]
fn async_borrowing(data: &[u8]) -> impl Future<Output = usize> + '_ {
    async move { data.len() }
}

#[test]
fn returned_future_may_borrow_arguments() {
    let rt = runtime();
    let v = vec![1, 2, 3];
    assert_eq!(rt.block_on(async_borrowing(&v)), 3);
    assert_eq!(count("async_borrowing", "ok"), 1);
}

struct Conn {
    sent: u32,
}

impl Conn {
    #[timed]
    async fn async_method(&mut self, n: u32) -> Result<u32, Failed> {
        self.sent += n;
        Ok(self.sent)
    }
}

#[test]
fn async_methods_with_mut_self() {
    let rt = runtime();
    let mut c = Conn { sent: 0 };
    assert_eq!(rt.block_on(c.async_method(2)), Ok(2));
    assert_eq!(rt.block_on(c.async_method(3)), Ok(5));
    assert_eq!(count("Conn::async_method", "ok"), 2);
}
