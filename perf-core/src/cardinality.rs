//! The cardinality guard: a label that takes more distinct values than allowed is folded
//! into [`OVERFLOW`], with one WARN, so an unbounded value (a user id) cannot blow up memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// The label value that stands for every value past the limit.
pub const OVERFLOW: &str = "__overflow__";

/// Default number of distinct values one label of one metric may take.
pub const DEFAULT_MAX_LABEL_VALUES: usize = 1000;

/// Counts the distinct values of each (metric, label key) and folds the excess.
///
/// ```
/// use perf_core::cardinality::{LabelGuard, OVERFLOW};
///
/// let guard = LabelGuard::new(2);
/// assert_eq!(guard.admit("m", "user", "a"), "a");
/// assert_eq!(guard.admit("m", "user", "b"), "b");
/// assert_eq!(guard.admit("m", "user", "c"), OVERFLOW);
/// assert_eq!(guard.admit("m", "user", "a"), "a");
/// ```
#[derive(Debug)]
pub struct LabelGuard {
    max: AtomicUsize,
    seen: Mutex<HashMap<(String, String), HashSet<String>>>,
}

impl Default for LabelGuard {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LABEL_VALUES)
    }
}

impl LabelGuard {
    /// A guard allowing `max` distinct values per label of each metric.
    pub fn new(max: usize) -> Self {
        LabelGuard {
            max: AtomicUsize::new(max),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the limit (values already admitted stay).
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Relaxed);
    }

    /// The value to use for `key=value` on `metric`: `value` itself, or [`OVERFLOW`] once
    /// the label has `max` other values. Warns once per (metric, key) when folding starts.
    pub fn admit<'a>(&self, metric: &str, key: &str, value: &'a str) -> &'a str {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let values = seen.entry((metric.to_owned(), key.to_owned())).or_default();
        if values.contains(value) {
            return value;
        }
        let max = self.max.load(Relaxed);
        if values.len() < max {
            values.insert(value.to_owned());
            return value;
        }
        if values.insert(OVERFLOW.to_owned()) {
            tracing::warn!(
                target: "perf::cardinality",
                metric,
                label = key,
                max,
                "label {key} of {metric} has more than {max} distinct values; further values are recorded as {OVERFLOW}"
            );
        }
        OVERFLOW
    }
}
