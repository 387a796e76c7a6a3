//! One wrapping location (`file:line:column` and task name): its `metrics` handles, cached
//! once so the hot path never looks a metric up, and the monitor that holds its statistics
//! unless the wrapper names another. Sites live for the whole process.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{OnceLock, RwLock};

use crate::monitor::{BlockingMonitor, BlockingStats};

/// `async_polls_total`: polls of wrapped futures.
pub const POLLS_TOTAL: &str = "async_polls_total";
/// `async_slow_polls_total`: polls longer than their threshold.
pub const SLOW_POLLS_TOTAL: &str = "async_slow_polls_total";
/// `async_slow_poll_duration_seconds`: histogram of slow polls' durations.
pub const SLOW_POLL_DURATION: &str = "async_slow_poll_duration_seconds";
/// `async_stalls_total`: polls the watchdog saw still running past their threshold.
pub const STALLS_TOTAL: &str = "async_stalls_total";

pub(crate) struct Site {
    pub(crate) location: &'static Location<'static>,
    pub(crate) task: Option<&'static str>,
    pub(crate) monitor: BlockingMonitor,
    pub(crate) polls: metrics::Counter,
    pub(crate) slow_polls: metrics::Counter,
    pub(crate) slow_duration: metrics::Histogram,
    pub(crate) stalls: metrics::Counter,
}

type Key = (&'static str, u32, u32, Option<&'static str>);

fn sites() -> &'static RwLock<HashMap<Key, &'static Site>> {
    static SITES: OnceLock<RwLock<HashMap<Key, &'static Site>>> = OnceLock::new();
    SITES.get_or_init(Default::default)
}

/// The site of `location` and `task`, created (with its metric handles, from the recorder
/// installed at that moment) on first use.
pub(crate) fn site(
    location: &'static Location<'static>,
    task: Option<&'static str>,
) -> &'static Site {
    let key = (location.file(), location.line(), location.column(), task);
    if let Some(s) = sites().read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return s;
    }
    let mut map = sites().write().unwrap_or_else(|e| e.into_inner());
    map.entry(key).or_insert_with(|| {
        let loc = format!("{}:{}", location.file(), location.line());
        let mut labels = vec![metrics::Label::new("location", loc)];
        if let Some(t) = task {
            labels.push(metrics::Label::new("task", t));
        }
        // A site is created once per wrapping location and task name (both static), so
        // leaking it is bounded by the program's code, and lets the watchdog hold a plain
        // pointer to it.
        Box::leak(Box::new(Site {
            location,
            task,
            monitor: BlockingMonitor::new(),
            polls: metrics::counter!(POLLS_TOTAL, labels.clone()),
            slow_polls: metrics::counter!(SLOW_POLLS_TOTAL, labels.clone()),
            slow_duration: metrics::histogram!(SLOW_POLL_DURATION, labels.clone()),
            stalls: metrics::counter!(STALLS_TOTAL, labels),
        }))
    })
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
    let list: Vec<&'static Site> = sites()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .copied()
        .collect();
    let mut out: Vec<LocationStats> = list
        .into_iter()
        .map(|s| LocationStats {
            location: s.location,
            task: s.task,
            stats: s.monitor.stats(),
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
    fn same_location_and_task_share_a_site() {
        let here = Location::caller();
        let a = site(here, Some("t"));
        let b = site(here, Some("t"));
        let c = site(here, None);
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, c));
        assert!(a.monitor.same_as(&b.monitor));
    }
}
