//! The locations where futures are wrapped (`file:line:column` and task name), each with its
//! `metrics` handles, cached once so the hot path never looks a metric up, and the monitor
//! that holds its statistics unless the wrapper names another. They live for the whole
//! process; [`locations`] reads them back.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{OnceLock, RwLock};

use crate::monitor::{BlockingMonitor, BlockingStats};
use crate::names::{
    LABEL_LOCATION, LABEL_TASK, POLLS_TOTAL, SLOW_POLLS_TOTAL, SLOW_POLL_DURATION, STALLS_TOTAL,
};

/// One wrapping location: what the wrappers made there record into.
pub(crate) struct LocationEntry {
    /// Where the futures were wrapped.
    pub(crate) caller: &'static Location<'static>,
    pub(crate) task: Option<&'static str>,
    pub(crate) monitor: BlockingMonitor,
    pub(crate) polls: metrics::Counter,
    pub(crate) slow_polls: metrics::Counter,
    pub(crate) slow_duration: metrics::Histogram,
    pub(crate) stalls: metrics::Counter,
}

type Key = (&'static str, u32, u32, Option<&'static str>);

fn entries() -> &'static RwLock<HashMap<Key, &'static LocationEntry>> {
    static ENTRIES: OnceLock<RwLock<HashMap<Key, &'static LocationEntry>>> = OnceLock::new();
    ENTRIES.get_or_init(Default::default)
}

impl LocationEntry {
    /// The entry of `caller` and `task`, created (with its metric handles, from the
    /// recorder installed at that moment) on first use.
    pub(crate) fn of(
        caller: &'static Location<'static>,
        task: Option<&'static str>,
    ) -> &'static LocationEntry {
        let key = (caller.file(), caller.line(), caller.column(), task);
        if let Some(e) = entries()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return e;
        }
        let mut map = entries().write().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_insert_with(|| {
            let loc = format!("{}:{}", caller.file(), caller.line());
            let mut labels = vec![metrics::Label::new(LABEL_LOCATION, loc)];
            if let Some(t) = task {
                labels.push(metrics::Label::new(LABEL_TASK, t));
            }
            crate::names::describe_poll_metrics();
            // An entry is created once per wrapping location and task name (both static),
            // so leaking it is bounded by the program's code, and lets the watchdog hold a
            // plain pointer to it.
            Box::leak(Box::new(LocationEntry {
                caller,
                task,
                monitor: BlockingMonitor::new(),
                polls: metrics::counter!(POLLS_TOTAL, labels.clone()),
                slow_polls: metrics::counter!(SLOW_POLLS_TOTAL, labels.clone()),
                slow_duration: metrics::histogram!(SLOW_POLL_DURATION, labels.clone()),
                stalls: metrics::counter!(STALLS_TOTAL, labels),
            }))
        })
    }
}

/// Statistics of one wrapping location (futures wrapped there without a monitor of their own).
#[derive(Clone, Debug)]
pub struct LocationStats {
    /// Where the futures were wrapped.
    pub location: &'static Location<'static>,
    /// Their task name, if any.
    pub task: Option<&'static str>,
    /// What was recorded.
    pub stats: BlockingStats,
}

/// Statistics of every location that wrapped a future, most slow-poll time first.
///
/// ```
/// use perf_async::FutureExt;
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async { 1 }.detect_blocking_named("doc-example"));
/// let all = perf_async::locations();
/// let mine = all.iter().find(|l| l.task == Some("doc-example")).unwrap();
/// assert_eq!(mine.stats.total_poll_count, 1);
/// ```
pub fn locations() -> Vec<LocationStats> {
    let list: Vec<&'static LocationEntry> = entries()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .copied()
        .collect();
    let mut out: Vec<LocationStats> = list
        .into_iter()
        .map(|e| LocationStats {
            location: e.caller,
            task: e.task,
            stats: e.monitor.stats(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.stats
            .total_slow_poll_duration
            .cmp(&a.stats.total_slow_poll_duration)
            .then_with(|| a.location.file().cmp(b.location.file()))
            .then_with(|| a.location.line().cmp(&b.location.line()))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_location_and_task_share_an_entry() {
        let here = Location::caller();
        let a = LocationEntry::of(here, Some("t"));
        let b = LocationEntry::of(here, Some("t"));
        let c = LocationEntry::of(here, None);
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, c));
        assert!(a.monitor.same_as(&b.monitor));
    }
}
