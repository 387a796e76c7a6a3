//! The registry: every named histogram, with its labels, readable back by name.
//!
//! `#[timed]` callsites and [`time`](crate::time) register into the global registry; a
//! [`Registry::new`] is a local one that a test owns.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::alloc::AllocTotals;
use crate::cardinality::LabelGuard;
use crate::error::{check_label_keys, check_metric_name, NameError};
use crate::histogram::{LatencyHistogram, Snapshot};
use crate::names::{LABEL_FUNCTION, LABEL_MODULE, LABEL_RESULT};
use crate::summary::LatencySummary;

/// A label: key and value.
pub type Label = (Cow<'static, str>, Cow<'static, str>);

/// The labels every `function_calls_*` series starts with: `function`, `module`, `result`.
pub(crate) fn function_labels(
    function: &'static str,
    module: &'static str,
    result: &'static str,
) -> Vec<Label> {
    vec![
        (LABEL_FUNCTION.into(), function.into()),
        (LABEL_MODULE.into(), module.into()),
        (LABEL_RESULT.into(), result.into()),
    ]
}

/// Where a series' samples live.
#[derive(Clone)]
pub(crate) enum Source {
    Static(&'static LatencyHistogram),
    Owned(Arc<LatencyHistogram>),
}

impl Source {
    pub(crate) fn histogram(&self) -> &LatencyHistogram {
        match self {
            Source::Static(h) => h,
            Source::Owned(h) => h,
        }
    }
}

/// One histogram in a registry: the name it is read back by, the Prometheus family it is
/// exported as, its labels.
#[derive(Clone)]
pub struct Series {
    pub(crate) name: Cow<'static, str>,
    pub(crate) family: Family,
    pub(crate) labels: Vec<Label>,
    pub(crate) source: Source,
    pub(crate) buckets: Option<&'static [f64]>,
    /// A timed function's allocation sums, beside its timing.
    pub(crate) allocs: Option<&'static AllocTotals>,
}

/// How a series is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    /// `function_calls_duration_seconds` + `function_calls_total`, labels
    /// `function`, `module`, `result` (autometrics-compatible).
    FunctionCalls,
    /// A histogram the user named (`Registry::histogram`), exported under its own name.
    Named,
}

impl Series {
    /// The name it is read back by (a function's name for `#[timed]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its labels.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The value of label `key`, if it has one.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Its histogram.
    pub fn histogram(&self) -> &LatencyHistogram {
        self.source.histogram()
    }

    /// Allocations and bytes allocated by its calls (a timed function's series), when
    /// perf's counting allocator is installed.
    pub fn allocations(&self) -> Option<(u64, u64)> {
        self.allocs
            .filter(|_| crate::alloc::installed())
            .map(|a| a.totals())
    }

    fn matches(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// A user-named histogram's identity: its name and sorted labels.
type NamedKey = (String, Vec<(String, String)>);

/// A set of named latency histograms with labels.
///
/// ```
/// use std::time::Duration;
/// use perf_core::Registry;
///
/// let registry = Registry::new();
/// let h = registry.histogram("db_query", &[("table", "users")]).unwrap();
/// h.record(Duration::from_millis(3));
/// assert_eq!(registry.summary("db_query").unwrap().count, 1);
/// assert!(registry.summary_with("db_query", &[("table", "orders")]).is_none());
/// ```
// `Default` is `new()`: every field starts empty.
#[derive(Default)]
pub struct Registry {
    series: Mutex<Vec<Series>>,
    named: Mutex<BTreeMap<NamedKey, Arc<LatencyHistogram>>>,
    guard: std::sync::OnceLock<LabelGuard>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("series", &self.series().len())
            .finish()
    }
}

static GLOBAL: Registry = Registry::new();

impl Registry {
    /// An empty registry (for tests, or a component that keeps its own).
    pub const fn new() -> Self {
        Registry {
            series: Mutex::new(Vec::new()),
            named: Mutex::new(BTreeMap::new()),
            guard: std::sync::OnceLock::new(),
        }
    }

    /// The process-wide registry that `#[timed]` and [`time`](crate::time) record into, and
    /// that the exporter renders unless its builder names another
    /// ([`PrometheusBuilder::registry`](crate::export::PrometheusBuilder::registry)).
    pub fn global() -> &'static Registry {
        &GLOBAL
    }

    /// The cardinality guard of this registry's label values.
    pub fn label_guard(&self) -> &LabelGuard {
        self.guard.get_or_init(LabelGuard::default)
    }

    pub(crate) fn push(&self, series: Series) {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(series);
    }

    /// A copy of every series.
    pub fn series(&self) -> Vec<Series> {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The histogram named `name` with these labels, created on first use. Exported to
    /// Prometheus under `name` (so name it like a metric: `db_query_duration_seconds`).
    /// A label past the cardinality limit gets the value `__overflow__`.
    ///
    /// Fails with a [`NameError`] on a name or label key Prometheus would reject: an
    /// invalid name, a reserved key (`le`, `quantile`, `__…`), a key given twice.
    pub fn histogram(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<Arc<LatencyHistogram>, NameError> {
        check_metric_name(name)?;
        check_label_keys(labels.iter().map(|(k, _)| *k))?;
        let guard = self.label_guard();
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), guard.admit(name, k, v).to_owned()))
            .collect();
        labels.sort();
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        let key = (name.to_owned(), labels);
        if let Some(h) = named.get(&key) {
            return Ok(h.clone());
        }
        let h = Arc::new(LatencyHistogram::new());
        self.push(Series {
            name: Cow::Owned(name.to_owned()),
            family: Family::Named,
            labels: key
                .1
                .iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
                .collect(),
            source: Source::Owned(h.clone()),
            buckets: None,
            allocs: None,
        });
        named.insert(key, h.clone());
        Ok(h)
    }

    /// A snapshot merging every series called `name` whose labels include `labels`, or
    /// `None` if there is none or none has samples.
    pub fn snapshot_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<Snapshot> {
        let mut out: Option<Snapshot> = None;
        for s in self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.name == name && s.matches(labels))
        {
            out.get_or_insert_with(Snapshot::empty)
                .merge(&s.histogram().snapshot());
        }
        out.filter(|s| s.count() > 0)
    }

    /// The summary of every series called `name` (all label sets merged: every outcome of
    /// a function, every route of a handler).
    pub fn summary(&self, name: &str) -> Option<LatencySummary> {
        self.summary_with(name, &[])
    }

    /// The summary of the series called `name` whose labels include `labels`, e.g.
    /// `[("result", "error")]`.
    pub fn summary_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<LatencySummary> {
        self.snapshot_with(name, labels).map(|s| s.summary())
    }

    /// Forgets every sample of every series (the series stay registered), and their
    /// allocation sums.
    pub fn reset(&self) {
        for s in self.series() {
            s.histogram().reset();
            if let Some(a) = s.allocs {
                a.reset();
            }
        }
    }
}
