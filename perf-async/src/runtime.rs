//! Covering a tokio application without `tokio_unstable`: [`spawn`] for one named task,
//! [`task::spawn`] as a drop-in for `tokio::spawn`, [`block_on`] for the root future; and
//! [`RuntimeGauges`], which exports tokio's stable runtime metrics through `metrics`.
//!
//! # What is covered
//! * The root future passed to [`block_on`], and every task spawned through [`spawn`],
//!   [`spawn_on`] or [`task::spawn`]: each poll is timed, and the watchdog sees it.
//!   `use perf_async::task::spawn;` in place of `use tokio::spawn;` covers every spawn of a
//!   module without touching the calls, each reported at its own `file:line`.
//! * Futures wrapped by hand inside any task.
//!
//! # What is not
//! * Tasks that libraries spawn with `tokio::spawn` themselves (hyper's connection tasks,
//!   for instance): stable tokio has no hook around a task's poll (`on_before_task_poll` needs
//!   `tokio_unstable`). Wrap the futures you hand such libraries (a tower service's response
//!   future) to cover them.
//! * `spawn_blocking` closures: blocking there is what they are for.
//!
//! # Deliberate blocking: [`block_in_place`]
//! Time in [`block_in_place`] (also [`task::block_in_place`]) is not a slow poll: it hands
//! the worker's other tasks to another thread (tokio's `block_in_place`) and the wrapper
//! takes that time off the poll's duration, counting it apart
//! ([`BlockingStats::total_block_in_place_count`](crate::BlockingStats::total_block_in_place_count)),
//! so it passes [`assert_no_blocking!`](crate::assert_no_blocking). Blocking in the same
//! poll outside it is still reported. `tokio::task::block_in_place` called directly *is*
//! reported as a slow poll: tokio offers no hook around it and nothing on the thread tells
//! it apart from a blocking call, so use this crate's (a drop-in).
//! * Time a task waits in the run queue: that is scheduling delay, not a slow poll (see
//!   tokio's own `RuntimeMetrics` for it).

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::detect::{handed_off, DetectBlocking};
use crate::error::ConfigError;
use crate::names::{LABEL_RUNTIME, LABEL_WORKER};

/// Spawns `fut` on the current runtime as a task named `name`, its polls timed and reported
/// at the caller's `file:line`. Panics outside a runtime, as `tokio::spawn` does.
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let v = rt.block_on(async { perf_async::spawn("worker", async { 5 }).await.unwrap() });
/// assert_eq!(v, 5);
/// ```
#[track_caller]
pub fn spawn<F>(name: &'static str, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let wrapped = DetectBlocking::new(fut, Config::new().with_name(name), Location::caller());
    tokio::spawn(wrapped)
}

/// Spawns `fut` as a task named `name` on the runtime of `handle`.
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let h = perf_async::spawn_on(rt.handle(), "worker", async { 5 });
/// assert_eq!(rt.block_on(h).unwrap(), 5);
/// ```
#[track_caller]
pub fn spawn_on<F>(handle: &Handle, name: &'static str, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let wrapped = DetectBlocking::new(fut, Config::new().with_name(name), Location::caller());
    handle.spawn(wrapped)
}

/// Runs `fut` to completion on `runtime`, its polls timed (the application's `main`
/// future). Tasks it spawns are covered when spawned through this crate.
///
/// ```
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
/// assert_eq!(perf_async::block_on(&rt, async { 3 }), 3);
/// ```
#[track_caller]
pub fn block_on<F: Future>(runtime: &Runtime, fut: F) -> F::Output {
    runtime.block_on(DetectBlocking::new(
        fut,
        Config::new().with_name("main"),
        Location::caller(),
    ))
}

/// Blocks the current thread on `f` deliberately: tokio's `block_in_place`, which hands the
/// worker's other tasks to another thread, with the time it takes kept out of the poll's
/// duration, so it is neither a slow poll nor a failure of
/// [`assert_no_blocking!`](crate::assert_no_blocking). It is counted apart, in
/// [`BlockingStats::total_block_in_place_count`](crate::BlockingStats::total_block_in_place_count)
/// and `_duration`.
///
/// Where tokio cannot hand the thread off (a current-thread runtime, where tokio's own
/// function panics) `f` runs in place: it stalls that runtime for its duration and is still
/// counted as deliberate, not as a slow poll, since the caller said so. That is what lets
/// code written for the multi-thread runtime pass `assert_no_blocking!`, whose runtime is
/// current-thread. Outside a runtime `f` just runs.
///
/// Calling `tokio::task::block_in_place` directly is still reported as a slow poll: tokio
/// offers no hook around it (see [the module docs](self)).
///
/// ```
/// use std::time::Duration;
/// use perf_async::{BlockingMonitor, Config, FutureExt};
///
/// let monitor = BlockingMonitor::new();
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     perf_async::block_in_place(|| std::thread::sleep(Duration::from_millis(20)));
/// }.detect_blocking_with(Config::new().with_monitor(&monitor)));
/// let stats = monitor.stats();
/// assert_eq!((stats.total_slow_poll_count, stats.total_block_in_place_count), (0, 1));
/// ```
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    handed_off(|| match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    })
}

/// Drop-in replacements for `tokio::task` functions that cover the tasks they spawn.
pub mod task {
    use super::*;

    /// [`block_in_place`](crate::block_in_place) under tokio's path: `tokio::task::block_in_place`,
    /// with its blocking counted as deliberate, not as a slow poll.
    ///
    /// ```
    /// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    /// let v = rt.block_on(async { perf_async::task::block_in_place(|| 2 + 2) });
    /// assert_eq!(v, 4);
    /// ```
    pub fn block_in_place<F, R>(f: F) -> R
    where
        F: FnOnce() -> R,
    {
        super::block_in_place(f)
    }

    /// `tokio::spawn`, with every poll of the task timed and reported at the caller's
    /// `file:line`.
    ///
    /// ```
    /// use perf_async::task::spawn;
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(DetectBlocking::new(fut, Config::new(), Location::caller()))
    }
}

/// Gauge names exported by [`RuntimeGauges`], each with a `runtime` label (kept with the
/// crate's other metric names).
pub mod gauge_names {
    pub use crate::names::{
        ALIVE_TASKS, GLOBAL_QUEUE_DEPTH, WORKERS, WORKER_BUSY_SECONDS, WORKER_PARKS,
    };
}

/// Exports a runtime's stable `tokio::runtime::RuntimeMetrics` through `metrics`: workers,
/// alive tasks, global queue depth, and per worker the busy time and park count.
///
/// [`sample`](Self::sample) writes them once; [`spawn`](Self::spawn) does it at an interval
/// from a task on the runtime, which ends when the runtime shuts down or the sampler drops.
///
/// ```
/// use std::time::Duration;
/// use perf_async::RuntimeGauges;
///
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap();
/// let gauges = RuntimeGauges::new(rt.handle().clone(), "api");
/// gauges.sample();
/// let _running = gauges.spawn(Duration::from_secs(1))?;
/// # Ok::<(), perf_async::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeGauges {
    handle: Handle,
    name: &'static str,
}

/// A running [`RuntimeGauges`] sampler; dropping it stops the sampling task.
#[derive(Debug)]
pub struct GaugeSampler {
    task: JoinHandle<()>,
}

impl Drop for GaugeSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeGauges {
    /// Gauges of the runtime of `handle`, labelled `runtime=name`.
    pub fn new(handle: Handle, name: &'static str) -> Self {
        RuntimeGauges { handle, name }
    }

    /// Reads the runtime's metrics once and writes them to the `metrics` recorder.
    pub fn sample(&self) {
        use gauge_names::*;
        crate::names::describe_runtime_gauges();
        let m = self.handle.metrics();
        let rt = [(LABEL_RUNTIME, self.name)];
        metrics::gauge!(WORKERS, &rt).set(m.num_workers() as f64);
        metrics::gauge!(ALIVE_TASKS, &rt).set(m.num_alive_tasks() as f64);
        metrics::gauge!(GLOBAL_QUEUE_DEPTH, &rt).set(m.global_queue_depth() as f64);
        #[cfg(target_has_atomic = "64")]
        for w in 0..m.num_workers() {
            let labels = [
                (LABEL_RUNTIME, self.name.to_owned()),
                (LABEL_WORKER, w.to_string()),
            ];
            metrics::counter!(WORKER_PARKS, &labels).absolute(m.worker_park_count(w));
            // Counters are integers: busy time goes out as a gauge holding the running
            // total in seconds (see `WORKER_BUSY_SECONDS` for its name).
            metrics::gauge!(WORKER_BUSY_SECONDS, &labels)
                .set(m.worker_total_busy_duration(w).as_secs_f64());
        }
    }

    /// Samples every `every` from a task on the runtime. Zero is an error.
    pub fn spawn(&self, every: Duration) -> Result<GaugeSampler, ConfigError> {
        if every.is_zero() {
            return Err(ConfigError::ZeroInterval {
                what: "runtime gauge",
            });
        }
        let me = self.clone();
        let task = self.handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.sample();
            }
        });
        Ok(GaugeSampler { task })
    }
}
