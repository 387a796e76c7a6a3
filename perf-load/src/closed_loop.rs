//! [`ClosedLoop`]: N virtual users, each sending its next request only after the answer to
//! the last (and an optional think time), like locust's `HttpUser` with `wait_time`.
//!
//! A closed loop sends less when the target stalls, so its raw latency hides the stall
//! (coordinated omission). With an expected interval it also reports the latency corrected
//! by HdrHistogram's `record_correct`, beside the raw one.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::error::ConfigError;
use crate::recorder::{InFlight, Recorder};
use crate::report::{Mode, Report, RunShape};
use crate::run_options::{call, RunOptions, Ticker};
use crate::summary::of_hdr;
use crate::target::Target;
use crate::timeline::new_histogram;

/// A closed-loop load run.
///
/// ```
/// use std::time::Duration;
/// use perf_load::ClosedLoop;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = ClosedLoop::new(2, Duration::from_millis(100))
///     .unwrap()
///     .think(Duration::from_millis(10))
///     .expected_interval(Duration::from_millis(10))
///     .run(|| async { Ok::<_, String>(()) })
///     .await;
/// assert_eq!(report.users, Some(2));
/// assert!(report.corrected_latency.is_some());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ClosedLoop {
    users: usize,
    duration: Duration,
    think: Duration,
    expected_interval: Option<Duration>,
    options: RunOptions,
}

impl ClosedLoop {
    /// `users` virtual users sending for `duration`.
    pub fn new(users: usize, duration: Duration) -> Result<Self, ConfigError> {
        if users == 0 {
            return Err(ConfigError::Zero("the number of users"));
        }
        if duration.is_zero() {
            return Err(ConfigError::ZeroDuration);
        }
        Ok(ClosedLoop {
            users,
            duration,
            think: Duration::ZERO,
            expected_interval: None,
            options: RunOptions::default(),
        })
    }

    /// Each user waits `think` after each answer before its next request.
    pub fn think(mut self, think: Duration) -> Self {
        self.think = think;
        self
    }

    /// The interval at which each user *meant* to send. A request that took longer stands
    /// for the requests that could not be sent meanwhile; the corrected latency adds them
    /// back (`record_correct`). Zero turns the correction off.
    pub fn expected_interval(mut self, interval: Duration) -> Self {
        self.expected_interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// The request timeout, error-kind count and progress callback.
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// Runs the users against `target` until the duration is over and each user's last
    /// request has finished.
    pub async fn run(&self, target: impl Target) -> Report {
        let rec = Arc::new(Recorder::new());
        let target = Arc::new(target);
        let deadline = rec.start + self.duration;
        let mut users = tokio::task::JoinSet::new();
        for _ in 0..self.users {
            let (rec, target, cfg) = (Arc::clone(&rec), Arc::clone(&target), self.clone());
            users.spawn(async move { cfg.user(&rec, &*target, deadline).await });
        }
        let mut ticker = Ticker::new(rec.start, self.options.progress.clone(), 0);
        let mut corrected: Option<Histogram<u64>> = None;
        loop {
            let joined = tokio::time::timeout(Duration::from_millis(250), users.join_next()).await;
            ticker.maybe(&rec);
            match joined {
                Ok(None) => break,
                Ok(Some(Ok(Some(h)))) => match corrected.as_mut() {
                    // Same settings on both sides: adding cannot fail.
                    Some(c) => {
                        let _ = c.add(&h);
                    }
                    None => corrected = Some(h),
                },
                Ok(Some(_)) | Err(_) => {}
            }
        }
        ticker.last(&rec);
        let mut report = Report::from_recorder(
            &rec,
            RunShape {
                mode: Mode::ClosedLoop,
                users: Some(self.users),
                target_rate: None,
                rate_window: self.duration,
                top_errors: self.options.top_errors,
            },
        );
        report.corrected_latency = corrected.as_ref().map(of_hdr);
        report.expected_interval = self.expected_interval;
        report
    }

    async fn user(
        &self,
        rec: &Arc<Recorder>,
        target: &impl Target,
        deadline: Instant,
    ) -> Option<Histogram<u64>> {
        let mut corrected = self.expected_interval.map(|_| new_histogram());
        while Instant::now() < deadline {
            let _guard = InFlight::enter(rec);
            let start = Instant::now();
            rec.started(start, start);
            call(rec, target, start, start, self.options.timeout).await;
            if let (Some(h), Some(every)) = (corrected.as_mut(), self.expected_interval) {
                let took = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let every = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX);
                // Auto-resizing: only a value beyond u64 could fail, and none is.
                let _ = h.record_correct(took.max(1), every);
            }
            drop(_guard);
            if !self.think.is_zero() {
                tokio::time::sleep_until(deadline.min(Instant::now() + self.think)).await;
            }
        }
        corrected
    }
}
