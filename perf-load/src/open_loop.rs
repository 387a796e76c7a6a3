//! [`OpenLoop`]: requests start at the schedule's instants whether or not earlier ones have
//! finished, so a stalled target shows up in the latency instead of slowing the load down.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::time::Instant;

use crate::error::ConfigError;
use crate::pacer::Pacer;
use crate::pacing_thread::{pace, PreciseSleeps, ThreadClock};
use crate::recorder::{InFlight, Recorder};
use crate::report::{Mode, Report, RunShape};
use crate::run_options::{call, RunOptions, Ticker};
use crate::schedule::Schedule;
use crate::target::Target;
#[cfg(target_os = "linux")]
use crate::timer_fd::TimerFd;

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
/// its `Display` text. Runs on the caller's tokio runtime, which needs its time driver
/// and, on Linux, its I/O driver (`enable_all`, as `#[tokio::main]` and `Runtime::new`
/// set up). On a multi-threaded runtime the precise [`Pacer`] sleeps on the OS's
/// nanosecond timer (a timerfd on Linux, a thread of its own elsewhere) rather than
/// tokio's millisecond one.
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
        let target = Arc::new(target);
        let threaded = self.pacer == Pacer::Precise
            && Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread;
        let mut ticker = if threaded {
            self.pace_precisely(&rec, target).await
        } else {
            self.pace_in_a_task(&rec, target).await
        };
        while rec.in_flight.load(Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            ticker.maybe(&rec);
        }
        ticker.last(&rec);
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

    /// The precise pacer on a multi-threaded runtime: on Linux a task on the workers that
    /// sleeps on a timerfd, elsewhere (or with no file descriptor left) a thread of its own.
    async fn pace_precisely(&self, rec: &Arc<Recorder>, target: Arc<impl Target>) -> Ticker {
        #[cfg(target_os = "linux")]
        if let Ok(timer) = TimerFd::new() {
            return self.pace_on_a_timer_fd(timer, rec, target).await;
        }
        self.pace_on_a_thread(rec, target).await
    }

    /// A task on the workers sleeps on a timerfd until each instant and, on each wake, starts
    /// every request already due. The epoll wake that runs it is the only OS wake between
    /// an instant and its request's first poll: the requests go to this worker's own queue
    /// (the next one to run), where a pacing thread's would wait for a worker to wake.
    #[cfg(target_os = "linux")]
    async fn pace_on_a_timer_fd(
        &self,
        mut timer: TimerFd,
        rec: &Arc<Recorder>,
        target: Arc<impl Target>,
    ) -> Ticker {
        let (this, rec2) = (self.clone(), Arc::clone(rec));
        self.generate(rec, async move {
            let mut ticker = this.ticker(&rec2);
            let mut instants = this.schedule.instants().map(|o| rec2.start + o).peekable();
            let mut behind = 0u32;
            while let Some(&next) = instants.peek() {
                if next > Instant::now() {
                    behind = 0;
                    // A timerfd that fails (it does not, short of a kernel bug): the
                    // yielding pacer waits instead.
                    if timer.sleep_until(next).await.is_err() {
                        this.pacer.wait_until(next).await;
                    }
                } else {
                    // Behind schedule nothing is awaited: yielding now and then lets the
                    // requests already started run on this worker too.
                    behind += 1;
                    if behind % 32 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                let now = Instant::now();
                while let Some(intended) = instants.next_if(|&at| at <= now) {
                    ticker.maybe(&rec2);
                    this.start(&rec2, &target, intended);
                }
            }
            ticker
        })
        .await
    }

    /// The precise pacer on a multi-threaded runtime off Linux (or with no timerfd to be
    /// had): a blocking-pool thread sleeps with the OS timer and spawns each request onto the
    /// runtime (tokio's clock cannot be paused there, so the OS clock is the run's clock).
    async fn pace_on_a_thread(&self, rec: &Arc<Recorder>, target: Arc<impl Target>) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_on_drop = StopOnDrop(Arc::clone(&stop));
        let (this, rec2) = (self.clone(), Arc::clone(rec));
        let pacing = tokio::task::spawn_blocking(move || {
            let _precise = PreciseSleeps::new();
            let mut ticker = this.ticker(&rec2);
            let offsets = this.schedule.instants();
            pace(&ThreadClock, rec2.start, offsets, &stop, |intended| {
                ticker.maybe(&rec2);
                this.start(&rec2, &target, intended);
            });
            ticker
        });
        // The thread only spawns tasks; if it panicked (a bug), what it recorded is reported.
        pacing.await.unwrap_or_else(|_| self.ticker(rec))
    }

    /// The timer pacer, or a current-thread runtime (where tokio's clock may be paused): the
    /// generator is a task that waits with the pacer between requests.
    async fn pace_in_a_task(&self, rec: &Arc<Recorder>, target: Arc<impl Target>) -> Ticker {
        let (this, rec2) = (self.clone(), Arc::clone(rec));
        self.generate(rec, async move {
            let mut ticker = this.ticker(&rec2);
            for (n, offset) in this.schedule.instants().enumerate() {
                let intended = rec2.start + offset;
                this.pacer.wait_until(intended).await;
                // Behind schedule the pacer does not wait: yielding now and then lets the
                // requests already started run on this worker too.
                if n % 32 == 31 {
                    tokio::task::yield_now().await;
                }
                ticker.maybe(&rec2);
                this.start(&rec2, &target, intended);
            }
            ticker
        })
        .await
    }

    /// Runs `generator` as a task of its own, aborted if the run's future is dropped first.
    async fn generate(
        &self,
        rec: &Recorder,
        generator: impl Future<Output = Ticker> + Send + 'static,
    ) -> Ticker {
        let generator = tokio::spawn(generator);
        let abort = AbortOnDrop(generator.abort_handle());
        // A generator that panicked (a bug) still leaves what it recorded to report.
        let ticker = generator.await.unwrap_or_else(|_| self.ticker(rec));
        drop(abort);
        ticker
    }

    fn ticker(&self, rec: &Recorder) -> Ticker {
        Ticker::new(
            rec.start,
            self.options.progress.clone(),
            self.schedule.count(),
        )
    }

    /// Starts the request meant for `intended` on a task of its own, or counts it as dropped
    /// when the in-flight cap is reached. Its lag is taken when that task first runs: the
    /// moment the request really starts, after any wait in the runtime's queue.
    fn start(&self, rec: &Arc<Recorder>, target: &Arc<impl Target>, intended: Instant) {
        if rec.in_flight.load(Relaxed) >= self.max_in_flight {
            rec.dropped.fetch_add(1, Relaxed);
            return;
        }
        let guard = InFlight::enter(rec);
        let target = Arc::clone(target);
        let timeout = self.options.timeout;
        tokio::spawn(async move {
            let rec = guard.recorder();
            let actual = Instant::now();
            rec.started(intended, actual);
            call(rec, &*target, intended, actual, timeout).await;
        });
    }
}

/// Stops the generator when the run's future is dropped before it ends.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Stops the pacing thread when the run's future is dropped before it ends.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Relaxed);
    }
}
