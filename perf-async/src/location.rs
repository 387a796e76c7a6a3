//! The locations where futures are wrapped (`file:line:column` and task name), each with its
//! `metrics` handles, cached so the hot path never looks a metric up (and registered again
//! when another recorder comes into effect), and the monitor that holds its statistics
//! unless the wrapper names another. They live for the whole process; [`locations`] reads
//! them back.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicPtr, Ordering::Acquire, Ordering::Release};
use std::sync::{Mutex, OnceLock, RwLock};

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
    labels: Vec<metrics::Label>,
    /// The handles of the recorder in effect at the last use. Never null: it points into
    /// `registered`, whose handles are never freed.
    bound: AtomicPtr<Handles>,
    /// One registration per recorder seen, so that switching back to a recorder (threads
    /// with and without a local recorder polling the same location) finds its handles
    /// again instead of registering, and leaking, new ones each time.
    registered: Mutex<Vec<&'static Handles>>,
}

/// A location's `metrics` handles, registered with one recorder.
pub(crate) struct Handles {
    recorder: usize,
    pub(crate) polls: metrics::Counter,
    pub(crate) slow_polls: metrics::Counter,
    pub(crate) slow_duration: metrics::Histogram,
    pub(crate) stalls: metrics::Counter,
}

/// The recorder `metrics` would use on this thread now (a local one, the global one, or its
/// no-op), by address.
///
/// The global recorder is set once and never freed, so its address names it for good. A
/// local recorder created where a dropped one lived is taken for it: its first wrapped polls
/// at a location already used with the dropped one are lost to it. Tests that switch local
/// recorders keep each alive while it is compared (the usual shape).
#[inline]
fn current_recorder() -> usize {
    metrics::with_recorder(|r| r as *const dyn metrics::Recorder as *const () as usize)
}

fn register(labels: &[metrics::Label], recorder: usize) -> Handles {
    // Each recorder the handles are registered with gets the HELP text too.
    crate::names::describe_poll_metrics();
    Handles {
        recorder,
        polls: metrics::counter!(POLLS_TOTAL, labels.to_vec()),
        slow_polls: metrics::counter!(SLOW_POLLS_TOTAL, labels.to_vec()),
        slow_duration: metrics::histogram!(SLOW_POLL_DURATION, labels.to_vec()),
        stalls: metrics::counter!(STALLS_TOTAL, labels.to_vec()),
    }
}

type Key = (&'static str, u32, u32, Option<&'static str>);

fn entries() -> &'static RwLock<HashMap<Key, &'static LocationEntry>> {
    static ENTRIES: OnceLock<RwLock<HashMap<Key, &'static LocationEntry>>> = OnceLock::new();
    ENTRIES.get_or_init(Default::default)
}

/// A slot of the per-thread cache: the `Location`'s address, the task name (compared by
/// address and length) and the entry they resolved to.
type CacheSlot = (usize, Option<&'static str>, Option<&'static LocationEntry>);

const CACHE_SLOTS: usize = 64;

thread_local! {
    /// The entries this thread looked up last, direct-mapped by the `Location`'s address:
    /// most futures are wrapped at a few hot call sites, so wrapping one reads neither the
    /// global map's lock (a shared cache line) nor hashes the file name.
    static CACHE: [Cell<CacheSlot>; CACHE_SLOTS] =
        const { [const { Cell::new((0, None, None)) }; CACHE_SLOTS] };
}

fn same_task(a: Option<&'static str>, b: Option<&'static str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        _ => false,
    }
}

impl LocationEntry {
    /// The entry of `caller` and `task`, created on first use.
    ///
    /// A call site's `Location` is a static, so its address identifies it for the
    /// per-thread cache; a miss (or a second copy of the same static) falls back to the
    /// global map, keyed by value, which gives the same entry.
    #[inline]
    pub(crate) fn of(
        caller: &'static Location<'static>,
        task: Option<&'static str>,
    ) -> &'static LocationEntry {
        let addr = caller as *const Location<'static> as usize;
        let salt = task.map_or(0, |t| t.as_ptr() as usize);
        // Fibonacci hashing: the top 6 bits of the product pick one of the 64 slots.
        let hash =
            (addr as u64 ^ (salt as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (hash >> 58) as usize % CACHE_SLOTS;
        let cached = CACHE.try_with(|c| {
            let (a, t, e) = c[slot].get();
            e.filter(|_| a == addr && same_task(t, task))
        });
        if let Ok(Some(e)) = cached {
            return e;
        }
        let e = Self::lookup(caller, task);
        let _ = CACHE.try_with(|c| c[slot].set((addr, task, Some(e))));
        e
    }

    #[cold]
    fn lookup(
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
            // Entries and their handles are never freed: an entry is created once per
            // wrapping location and task name (both static), and handles once per recorder
            // seen, so the leak is bounded, and the watchdog and `bound` can hold plain
            // pointers to them.
            let handles: &'static Handles =
                Box::leak(Box::new(register(&labels, current_recorder())));
            Box::leak(Box::new(LocationEntry {
                caller,
                task,
                monitor: BlockingMonitor::new(),
                labels,
                bound: AtomicPtr::new(handles as *const Handles as *mut Handles),
                registered: Mutex::new(vec![handles]),
            }))
        })
    }

    /// The handles of the recorder in effect on this thread: one thread-local read, one
    /// global load and a compare while the recorder stays the same.
    #[inline]
    pub(crate) fn handles(&self) -> &'static Handles {
        let recorder = current_recorder();
        // SAFETY: `bound` only ever holds pointers to leaked `Handles` (see `of`, `rebind`).
        let bound: &'static Handles = unsafe { &*self.bound.load(Acquire) };
        if bound.recorder == recorder {
            bound
        } else {
            self.rebind(recorder)
        }
    }

    #[cold]
    #[inline(never)]
    fn rebind(&self, recorder: usize) -> &'static Handles {
        let mut registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        let handles = match registered.iter().find(|h| h.recorder == recorder) {
            Some(h) => *h,
            None => {
                let h: &'static Handles = Box::leak(Box::new(register(&self.labels, recorder)));
                registered.push(h);
                h
            }
        };
        self.bound
            .store(handles as *const Handles as *mut Handles, Release);
        handles
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

    #[test]
    fn equal_task_names_at_other_addresses_share_an_entry() {
        let here = Location::caller();
        let name = String::from("shared-name");
        let copy: &'static str = Box::leak(name.clone().into_boxed_str());
        let other: &'static str = Box::leak(name.into_boxed_str());
        let a = LocationEntry::of(here, Some(copy));
        let b = LocationEntry::of(here, Some(other));
        let prefix = LocationEntry::of(here, Some(&copy[..6]));
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, prefix));
        assert_eq!(prefix.task, Some("shared"));
        // From another thread, whose cache is empty: still the same entry.
        let c =
            std::thread::spawn(move || LocationEntry::of(here, Some(copy)) as *const _ as usize)
                .join()
                .unwrap();
        assert_eq!(c, a as *const _ as usize);
    }
}
