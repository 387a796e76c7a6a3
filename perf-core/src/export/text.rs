//! Renders a registry's histograms as Prometheus text exposition (format 0.0.4).

use std::fmt::Write;

use crate::histogram::{buckets_at_or_below, Counts, CountsReader};
use crate::names::{
    DEFAULT_LATENCY_BUCKETS, FUNCTION_ALLOCATED_BYTES, FUNCTION_ALLOCATIONS, FUNCTION_CALLS,
    FUNCTION_DURATION, HEAP_ALLOCATIONS, HEAP_LIVE_BYTES,
};
use crate::registry::{Family, Registry, Series};

/// What rendering needs besides the series: labels added to every series, default buckets.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Labels added to every series, e.g. `service="checkout"`.
    pub global_labels: Vec<(String, String)>,
    /// Bucket upper bounds in seconds for histograms without their own.
    pub buckets: Vec<f64>,
    /// Bucket upper bounds for the histograms exported under one metric name (a
    /// [`Registry::histogram`] name), overriding `buckets`.
    pub metric_buckets: Vec<(String, Vec<f64>)>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            global_labels: Vec::new(),
            buckets: DEFAULT_LATENCY_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
        }
    }
}

/// The help text of a histogram family perf exports.
pub(crate) fn help_of(family: &str) -> &'static str {
    if family == FUNCTION_DURATION {
        "Duration of function calls timed by perf, by result."
    } else {
        "Latency histogram recorded by perf."
    }
}

/// The help text of `function_calls_total`.
pub(crate) const FUNCTION_CALLS_HELP: &str = "Calls of functions timed by perf, by result.";

/// Escapes a label value as the exposition format requires.
pub(crate) fn escape(v: &str, out: &mut String) {
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Writes `nanos` in seconds as `format!("{}", nanos as f64 / 1e9)` does, without the
/// float formatter when that is exact: below 2^53 the division is correctly rounded, and a
/// decimal of at most 15 significant digits is the only shortest string that reads back as
/// its nearest `f64`, so `Display` writes exactly that decimal. (A formatter like `ryu`
/// breaks ties between two shortest strings differently from `Display`.)
fn write_seconds(out: &mut String, nanos: u64) {
    const NANOS_PER_SEC: u64 = 1_000_000_000;
    let mut significant = nanos;
    while significant != 0 && significant % 10 == 0 {
        significant /= 10;
    }
    if nanos >= 1 << 53 || significant >= 1_000_000_000_000_000 {
        let _ = write!(out, "{}", nanos as f64 / 1e9);
        return;
    }
    let mut digits = itoa::Buffer::new();
    out.push_str(digits.format(nanos / NANOS_PER_SEC));
    let frac = nanos % NANOS_PER_SEC;
    if frac != 0 {
        let frac = digits.format(frac);
        out.push('.');
        out.extend(std::iter::repeat_n('0', 9 - frac.len()));
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// One set of bucket upper bounds: as the number of histogram buckets at or below each (the
/// samples of a `_bucket` line are those of the histogram buckets below that index), as the
/// end of a `_bucket` line up to its value (`0.5"} `), and in nanoseconds and seconds for
/// the protobuf exposition's classic buckets.
pub(crate) struct BucketSet {
    ends: Vec<usize>,
    le: Vec<String>,
    pub(crate) nanos: Vec<u64>,
    pub(crate) seconds: Vec<f64>,
}

impl BucketSet {
    fn new(bounds: &[f64]) -> Self {
        let nanos: Vec<u64> = bounds.iter().map(|le| (le * 1e9).round() as u64).collect();
        BucketSet {
            ends: nanos.iter().map(|&n| buckets_at_or_below(n)).collect(),
            le: bounds.iter().map(|le| format!("{le}\"}} ")).collect(),
            nanos,
            seconds: bounds.to_vec(),
        }
    }
}

/// Renders with the bucket sets' text prepared once and the scratch buffers kept: the
/// exporter holds one across scrapes.
pub(crate) struct Renderer {
    global_labels: Vec<(String, String)>,
    default: BucketSet,
    per_metric: Vec<(String, BucketSet)>,
    /// The sets of series that carry their own buckets, found as they come.
    own: Vec<(&'static [f64], BucketSet)>,
    /// The label pairs of the series being written, without braces.
    labels: String,
    /// The start of the series' `_bucket` lines, up to the `le` value: `name_bucket{…,le="`.
    bucket_head: String,
    /// The buffers each histogram's counts are read into, kept across series and scrapes.
    reader: CountsReader,
    /// The last exposition's length, reserved up front for the next one.
    last_len: usize,
}

pub(crate) fn family_name(series: &Series) -> &str {
    match series.family {
        Family::FunctionCalls => FUNCTION_DURATION,
        Family::Named => &series.name,
    }
}

impl Renderer {
    pub(crate) fn new(opts: &RenderOptions) -> Self {
        Renderer {
            global_labels: opts.global_labels.clone(),
            default: BucketSet::new(&opts.buckets),
            per_metric: opts
                .metric_buckets
                .iter()
                .map(|(name, b)| (name.clone(), BucketSet::new(b)))
                .collect(),
            own: Vec::new(),
            labels: String::new(),
            bucket_head: String::new(),
            reader: CountsReader::default(),
            last_len: 0,
        }
    }

    /// See [`render`].
    pub(crate) fn render(&mut self, registry: &Registry) -> String {
        let mut series = registry.series();
        // Stable: within a family, series keep their registration order.
        series.sort_by(|a, b| family_name(a).cmp(family_name(b)));
        let mut out = String::with_capacity(self.last_len + self.last_len / 8);
        let mut sized = self.last_len != 0;
        // Taken out for the render, so that the reads it lends can be held while `self` writes.
        let mut reader = std::mem::take(&mut self.reader);
        let mut calls: Vec<(usize, u64)> = Vec::new();
        let mut first = 0;
        while first < series.len() {
            let name = family_name(&series[first]);
            let end = first
                + series[first..]
                    .iter()
                    .take_while(|s| family_name(s) == name)
                    .count();
            let mut header = false;
            for (i, s) in series.iter().enumerate().take(end).skip(first) {
                let snap = s.histogram().read_counts(&mut reader);
                if snap.count() == 0 {
                    continue;
                }
                if !header {
                    header = true;
                    let help = help_of(name);
                    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
                }
                self.histogram(&mut out, name, s, &snap);
                if !sized {
                    // A first render has no length to go by: take the first series' for all,
                    // rather than copy the text at every doubling.
                    sized = true;
                    out.reserve(out.len() * (series.len() - i));
                }
                if name == FUNCTION_DURATION {
                    calls.push((i, snap.count()));
                }
            }
            first = end;
        }
        self.reader = reader;
        if !calls.is_empty() {
            let _ = writeln!(
                out,
                "# HELP {FUNCTION_CALLS} {FUNCTION_CALLS_HELP}\n# TYPE {FUNCTION_CALLS} counter"
            );
            for &(i, count) in &calls {
                self.set_labels(&series[i]);
                self.line(&mut out, FUNCTION_CALLS, "");
                out.push_str(itoa::Buffer::new().format(count));
                out.push('\n');
            }
        }
        let allocs: Vec<(usize, (u64, u64))> = calls
            .iter()
            .filter_map(|&(i, _)| Some((i, series[i].allocations()?)))
            .collect();
        if !allocs.is_empty() {
            for (name, help, pick) in [
                (
                    FUNCTION_ALLOCATIONS,
                    "Allocations made by calls of functions timed by perf, callees included.",
                    0,
                ),
                (
                    FUNCTION_ALLOCATED_BYTES,
                    "Bytes allocated by calls of functions timed by perf, callees included.",
                    1,
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for &(i, (a, b)) in &allocs {
                    self.set_labels(&series[i]);
                    self.line(&mut out, name, "");
                    out.push_str(itoa::Buffer::new().format(if pick == 0 { a } else { b }));
                    out.push('\n');
                }
            }
        }
        self.heap(&mut out);
        self.last_len = out.len();
        out
    }

    /// The process's heap, when perf's counting allocator is installed: process-wide, so
    /// written with whichever registry is rendered, under the global labels only.
    fn heap(&mut self, out: &mut String) {
        let Some(heap) = crate::alloc::heap() else {
            return;
        };
        self.labels.clear();
        for (k, v) in &self.global_labels {
            push_label(&mut self.labels, k, v);
        }
        for (name, kind, help, value) in [
            (
                HEAP_LIVE_BYTES,
                "gauge",
                "Heap bytes allocated and not yet freed, counted by perf's allocator.",
                heap.live_bytes,
            ),
            (
                HEAP_ALLOCATIONS,
                "counter",
                "Heap allocations made by the process, counted by perf's allocator.",
                heap.allocs,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            self.line(out, name, "");
            out.push_str(itoa::Buffer::new().format(value));
            out.push('\n');
        }
    }

    /// The classic buckets of `series` in family `name`: its own, its metric's, or the
    /// default ones. A series' own set is prepared on first sight, so this takes `&mut`.
    pub(crate) fn bucket_set(&mut self, name: &str, series: &Series) -> &BucketSet {
        let at = self.own_set(series);
        self.set_at(at, name)
    }

    /// Where the set of a series that carries its own buckets is, prepared if new.
    fn own_set(&mut self, series: &Series) -> Option<usize> {
        let own = series.buckets?;
        Some(
            match self.own.iter().position(|(b, _)| std::ptr::eq(*b, own)) {
                Some(at) => at,
                None => {
                    self.own.push((own, BucketSet::new(own)));
                    self.own.len() - 1
                }
            },
        )
    }

    fn set_at(&self, own: Option<usize>, name: &str) -> &BucketSet {
        match own {
            Some(at) => &self.own[at].1,
            None => self
                .per_metric
                .iter()
                .find(|(metric, _)| metric == name)
                .map_or(&self.default, |(_, set)| set),
        }
    }

    /// `_bucket` lines with cumulative counts, exact `_sum` and `_count`.
    fn histogram(&mut self, out: &mut String, name: &str, series: &Series, snap: &Counts) {
        self.set_labels(series);
        self.bucket_head.clear();
        self.bucket_head.push_str(name);
        self.bucket_head.push_str("_bucket{");
        self.bucket_head.push_str(&self.labels);
        if !self.labels.is_empty() {
            self.bucket_head.push(',');
        }
        self.bucket_head.push_str("le=\"");
        let at = self.own_set(series);
        let set = self.set_at(at, name);
        let (mut seen, mut below) = (0u64, 0usize);
        for (le, &end) in set.le.iter().zip(&set.ends) {
            // `max`: bounds out of order count nothing twice.
            seen += snap.count_in(below..end);
            below = below.max(end);
            Self::bucket(out, &self.bucket_head, le, seen);
        }
        Self::bucket(out, &self.bucket_head, "+Inf\"} ", snap.count());
        self.line(out, name, "_sum");
        write_seconds(out, snap.sum_nanos());
        out.push('\n');
        self.line(out, name, "_count");
        out.push_str(itoa::Buffer::new().format(snap.count()));
        out.push('\n');
    }

    /// One `_bucket` line from its head (see `bucket_head`) and its `le` ending.
    fn bucket(out: &mut String, head: &str, le: &str, count: u64) {
        out.push_str(head);
        out.push_str(le);
        out.push_str(itoa::Buffer::new().format(count));
        out.push('\n');
    }

    /// Writes `name`, `suffix`, the labels in braces (if any) and the space before a value.
    fn line(&self, out: &mut String, name: &str, suffix: &str) {
        out.push_str(name);
        out.push_str(suffix);
        if !self.labels.is_empty() {
            out.push('{');
            out.push_str(&self.labels);
            out.push('}');
        }
        out.push(' ');
    }

    /// The global labels the series does not set itself, then the series' own.
    pub(crate) fn labels_of<'a>(
        &'a self,
        series: &'a Series,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.global_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| series.label(k).is_none())
            .chain(series.labels())
    }

    /// Writes [`labels_of`](Self::labels_of) the series as the text's label pairs.
    fn set_labels(&mut self, series: &Series) {
        let mut labels = std::mem::take(&mut self.labels);
        labels.clear();
        for (k, v) in self.labels_of(series) {
            push_label(&mut labels, k, v);
        }
        self.labels = labels;
    }
}

/// Appends `k="v"` to a label list, after a comma unless it is the first.
fn push_label(labels: &mut String, k: &str, v: &str) {
    if !labels.is_empty() {
        labels.push(',');
    }
    labels.push_str(k);
    labels.push_str("=\"");
    escape(v, labels);
    labels.push('"');
}

/// Renders every series of `registry` that has samples: one histogram family per metric
/// name (`_bucket`, exact `_sum` and `_count`), and for timed functions the
/// `function_calls_total` counter from the same counts.
///
/// ```
/// use std::time::Duration;
/// use perf_core::{export, Registry};
///
/// let registry = Registry::new();
/// registry
///     .histogram("db_query_duration_seconds", &[("table", "users")])
///     .unwrap()
///     .record(Duration::from_millis(3));
/// let text = export::render(&registry, &export::RenderOptions::default());
/// assert!(text.contains("db_query_duration_seconds_count{table=\"users\"} 1"));
/// ```
pub fn render(registry: &Registry, opts: &RenderOptions) -> String {
    Renderer::new(opts).render(registry)
}

#[cfg(test)]
mod tests;
