//! [`LevelProgress`]: where an LLM benchmark is each time one of its requests ends, for a
//! progress bar or a log line.

use std::fmt;
use std::sync::Arc;

use crate::llm::level::Level;

/// Where a benchmark is after a request ended: which level, and how many of its requests
/// are done.
///
/// ```
/// use perf_load::llm::{Level, LevelProgress};
///
/// let p = LevelProgress { level: Level::Concurrency(4), index: 2, levels: 5, done: 10,
///     errors: 1, requests: 50 };
/// assert_eq!(p.to_string(), "concurrency 4 (level 3 of 5): 10/50 requests done, 1 errors");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelProgress {
    /// The level running.
    pub level: Level,
    /// Its place among the levels, from 0.
    pub index: usize,
    /// How many levels the benchmark has.
    pub levels: usize,
    /// Requests of this level that ended, streamed to their end or failed.
    pub done: u64,
    /// Of which failed.
    pub errors: u64,
    /// Requests this level sends.
    pub requests: u64,
}

impl fmt::Display for LevelProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (level {} of {}): {}/{} requests done, {} errors",
            self.level,
            self.index + 1,
            self.levels,
            self.done,
            self.requests,
            self.errors
        )
    }
}

/// Called each time a request of a benchmark ends ([`LlmBenchmark::on_request`]).
///
/// [`LlmBenchmark::on_request`]: crate::llm::LlmBenchmark::on_request
pub type LevelProgressFn = Arc<dyn Fn(&LevelProgress) + Send + Sync>;

/// The callback, so the types holding it can still derive `Debug`.
#[derive(Clone)]
pub(crate) struct OnRequest(pub(crate) LevelProgressFn);

impl fmt::Debug for OnRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnRequest(..)")
    }
}
