//! [`OpenLoop`]: requests start at the schedule's instants whether or not earlier ones have
//! finished, so a stalled target shows up in the latency instead of slowing the load down.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ConfigError;
use crate::pacer::Pacer;
use crate::recorder::{InFlight, Recorder};
use crate::report::{Mode, Report, RunShape};
use crate::run_options::{call, RunOptions, Ticker};
use crate::schedule::Schedule;
use crate::target::Target;

/// Requests in flight at most, unless [`OpenLoop::max_in_flight`] says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000;

/// An open-loop load run (k6's arrival-rate executors, wrk2's constant throughput).
///
/// Each request starts at its [`Schedule`] instant on a task of its own. Its latency is
/// measured from the instant it should have started, its service time from the instant it
/// did. A request that would exceed the in-flight cap is counted as `dropped`, never
/// delayed; one that starts more than 1 ms late is counted as `late` and its lag recorded.
///
/// The target is any closure returning a future of `Result<T, E>`; an `Err` is counted by
/// its `Display` text. Runs on the caller's tokio runtime (a multi-threaded one, so the
/// generator is not slowed by the requests it starts).
///
/// ```
/// use std::time::Duration;
/// use perf_load::{OpenLoop, Schedule};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let schedule = Schedule::constant(100.0, Duration::from_millis(200)).unwrap();
/// let report = OpenLoop::new(schedule)
///     .max_in_flight(50)
///     .run(|| async {
///         tokio::time::sleep(Duration::from_millis(2)).await;
///         Ok::<_, String>(())
///     })
///     .await;
/// assert_eq!(report.requests, 20);
/// assert!(report.service_time.p50 >= Duration::from_millis(2));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct OpenLoop {
    schedule: Schedule,
    max_in_flight: usize,
    pacer: Pacer,
    options: RunOptions,
}

impl OpenLoop {
    /// A run of `schedule` with the default cap, timeout and pacer.
    pub fn new(schedule: Schedule) -> Self {
        OpenLoop {
            schedule,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            pacer: Pacer::default(),
            options: RunOptions::default(),
        }
    }

    /// A constant `rate` for `duration`: `OpenLoop::new(Schedule::constant(rate, duration)?)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(perf_load::OpenLoop::constant(-1.0, Duration::from_secs(1)).is_err());
    /// ```
    pub fn constant(rate: f64, duration: Duration) -> Result<Self, ConfigError> {
        Ok(Self::new(Schedule::constant(rate, duration)?))
    }

    /// At most `n` requests in flight; a request over the cap is counted as dropped. `n` is
    /// raised to 1 if 0.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The request timeout, error-kind count and progress callback.
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// How the generator waits between requests.
    pub fn pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = pacer;
        self
    }

    /// The same settings with another schedule.
    pub fn with_schedule(self, schedule: Schedule) -> Self {
        OpenLoop { schedule, ..self }
    }

    /// The schedule this run follows.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Runs the schedule against `target` and returns the report once every started request
    /// has finished or timed out.
    pub async fn run(&self, target: impl Target) -> Report {
        let rec = Arc::new(Recorder::new());
        // The generator runs as a task on the runtime's workers: while it waits for the next
        // instant it yields to the requests' tasks instead of spinning a thread of its own.
        let generator = tokio::spawn(self.clone().generate(Arc::clone(&rec), Arc::new(target)));
        let abort = AbortOnDrop(generator.abort_handle());
        // A generator that panicked (a bug) still leaves what it recorded to report.
        let _ = generator.await;
        drop(abort);
        Report::from_recorder(
            &rec,
            RunShape {
                mode: Mode::OpenLoop,
                users: None,
                target_rate: Some(self.schedule.mean_rate()),
                rate_window: self.schedule.duration(),
                top_errors: self.options.top_errors,
            },
        )
    }

    async fn generate(self, rec: Arc<Recorder>, target: Arc<impl Target>) {
        let planned = self.schedule.count();
        let mut ticker = Ticker::new(rec.start, self.options.progress.clone(), planned);
        for (n, offset) in self.schedule.instants().enumerate() {
            let intended = rec.start + offset;
            self.pacer.wait_until(intended).await;
            // Behind schedule the pacer does not wait: yielding now and then lets the requests
            // already started run on this worker too.
            if n % 32 == 31 {
                tokio::task::yield_now().await;
            }
            ticker.maybe(&rec);
            if rec.in_flight.load(Relaxed) >= self.max_in_flight {
                rec.dropped.fetch_add(1, Relaxed);
                continue;
            }
            let guard = InFlight::enter(&rec);
            let target = Arc::clone(&target);
            let timeout = self.options.timeout;
            tokio::spawn(async move {
                let rec = guard.recorder();
                let actual = Instant::now();
                rec.started(intended, actual);
                call(rec, &*target, intended, actual, timeout).await;
            });
        }
        while rec.in_flight.load(Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            ticker.maybe(&rec);
        }
        ticker.last(&rec);
    }
}

/// Stops the generator when the run's future is dropped before it ends.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
