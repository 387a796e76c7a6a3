//! [`RunOptions`]: what open- and closed-loop runs share (request timeout, how many error
//! kinds the report names, a progress callback), and the one call of the target they make.

use std::time::Duration;

use tokio::time::Instant;

use crate::recorder::{ProgressFn, Recorder};
use crate::target::Target;

/// How long one request may take before it counts as a `timeout` error.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Error kinds a report lists by name.
pub const DEFAULT_TOP_ERRORS: usize = 10;

/// Settings every run has: request timeout, error kinds named, progress callback.
///
/// ```
/// use std::time::Duration;
/// use perf_load::{OpenLoop, RunOptions};
///
/// let run = OpenLoop::constant(10.0, Duration::from_secs(1)).unwrap()
///     .options(RunOptions::default().timeout(Duration::from_secs(2)).top_errors(3));
/// ```
#[derive(Clone)]
pub struct RunOptions {
    pub(crate) timeout: Duration,
    pub(crate) top_errors: usize,
    pub(crate) progress: Option<ProgressFn>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: DEFAULT_TIMEOUT,
            top_errors: DEFAULT_TOP_ERRORS,
            progress: None,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("timeout", &self.timeout)
            .field("top_errors", &self.top_errors)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl RunOptions {
    /// A request still running after `timeout` is abandoned and counted as a `timeout` error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The report names the `n` most frequent error kinds and sums the rest.
    pub fn top_errors(mut self, n: usize) -> Self {
        self.top_errors = n;
        self
    }

    /// Calls `f` about once a second with the run's progress.
    pub fn on_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }
}

/// Calls the target once, under `timeout`, and records the outcome.
pub(crate) async fn call(
    rec: &Recorder,
    target: &impl Target,
    intended: Instant,
    actual: Instant,
    timeout: Duration,
) -> bool {
    match tokio::time::timeout(timeout, target.call()).await {
        Ok(Ok(_)) => {
            rec.finished(intended, actual, None);
            true
        }
        Ok(Err(e)) => {
            rec.finished(intended, actual, Some(&e.to_string()));
            false
        }
        Err(_) => {
            rec.finished(intended, actual, Some("timeout"));
            false
        }
    }
}

/// Calls the progress callback about once a second.
pub(crate) struct Ticker {
    next: Instant,
    f: Option<ProgressFn>,
    planned: u64,
}

impl Ticker {
    pub(crate) fn new(start: Instant, f: Option<ProgressFn>, planned: u64) -> Self {
        Ticker {
            next: start + Duration::from_secs(1),
            f,
            planned,
        }
    }

    pub(crate) fn maybe(&mut self, rec: &Recorder) {
        if let Some(f) = &self.f {
            let now = Instant::now();
            if now >= self.next {
                self.next = now + Duration::from_secs(1);
                f(&rec.progress(self.planned));
            }
        }
    }

    pub(crate) fn last(&self, rec: &Recorder) {
        if let Some(f) = &self.f {
            f(&rec.progress(self.planned));
        }
    }
}
