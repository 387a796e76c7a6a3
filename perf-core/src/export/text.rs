//! Renders a registry's histograms as Prometheus text exposition (format 0.0.4).

use std::fmt::Write;

use crate::names::{
    DEFAULT_LATENCY_BUCKETS, FUNCTION_ALLOCATED_BYTES, FUNCTION_ALLOCATIONS, FUNCTION_CALLS,
    FUNCTION_DURATION, HEAP_ALLOCATIONS, HEAP_LIVE_BYTES,
};
use crate::registry::{Family, Registry, Series};
use crate::Snapshot;

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

/// One set of bucket upper bounds: in nanoseconds to count against, and as `le` text.
struct BucketSet {
    nanos: Vec<u64>,
    le: Vec<String>,
}

impl BucketSet {
    fn new(bounds: &[f64]) -> Self {
        BucketSet {
            nanos: bounds.iter().map(|le| (le * 1e9).round() as u64).collect(),
            le: bounds.iter().map(|le| format!("{le}")).collect(),
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
    /// The last exposition's length, reserved up front for the next one.
    last_len: usize,
}

fn family_name(series: &Series) -> &str {
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
            last_len: 0,
        }
    }

    /// See [`render`].
    pub(crate) fn render(&mut self, registry: &Registry) -> String {
        let mut series = registry.series();
        // Stable: within a family, series keep their registration order.
        series.sort_by(|a, b| family_name(a).cmp(family_name(b)));
        let mut out = String::with_capacity(self.last_len + self.last_len / 8);
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
                let snap = s.histogram().snapshot();
                if snap.count() == 0 {
                    continue;
                }
                if !header {
                    header = true;
                    let help = if name == FUNCTION_DURATION {
                        "Duration of function calls timed by perf, by result."
                    } else {
                        "Latency histogram recorded by perf."
                    };
                    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
                }
                self.histogram(&mut out, name, s, &snap);
                if name == FUNCTION_DURATION {
                    calls.push((i, snap.count()));
                }
            }
            first = end;
        }
        if !calls.is_empty() {
            let _ = writeln!(
                out,
                "# HELP {FUNCTION_CALLS} Calls of functions timed by perf, by result.\n\
                 # TYPE {FUNCTION_CALLS} counter"
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
        self.write_labels(std::iter::empty(), |_| false);
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

    /// `_bucket` lines with cumulative counts, exact `_sum` and `_count`.
    fn histogram(&mut self, out: &mut String, name: &str, series: &Series, snap: &Snapshot) {
        self.set_labels(series);
        let set = match series.buckets {
            Some(own) => {
                let at = match self.own.iter().position(|(b, _)| std::ptr::eq(*b, own)) {
                    Some(at) => at,
                    None => {
                        self.own.push((own, BucketSet::new(own)));
                        self.own.len() - 1
                    }
                };
                &self.own[at].1
            }
            None => self
                .per_metric
                .iter()
                .find(|(metric, _)| metric == name)
                .map_or(&self.default, |(_, set)| set),
        };
        // Only non-empty buckets are visited: a histogram's samples sit in a few of them.
        let mut filled = snap.buckets().peekable();
        let mut seen = 0u64;
        for (le, &bound) in set.le.iter().zip(&set.nanos) {
            while let Some((_, count)) = filled.next_if(|(v, _)| *v <= bound) {
                seen += count;
            }
            self.bucket(out, name, le, seen);
        }
        self.bucket(out, name, "+Inf", snap.count());
        self.line(out, name, "_sum");
        write_seconds(out, snap.sum_nanos());
        out.push('\n');
        self.line(out, name, "_count");
        out.push_str(itoa::Buffer::new().format(snap.count()));
        out.push('\n');
    }

    fn bucket(&self, out: &mut String, name: &str, le: &str, count: u64) {
        out.push_str(name);
        out.push_str("_bucket{");
        out.push_str(&self.labels);
        if !self.labels.is_empty() {
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(le);
        out.push_str("\"} ");
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
    fn set_labels(&mut self, series: &Series) {
        self.write_labels(series.labels(), |k| series.label(k).is_some());
    }

    /// The global labels for which `has` is false, then `own`.
    fn write_labels<'a>(
        &mut self,
        own: impl Iterator<Item = (&'a str, &'a str)>,
        has: impl Fn(&str) -> bool,
    ) {
        self.labels.clear();
        for (k, v) in self.global_labels.iter().filter(|(k, _)| !has(k)) {
            push_label(&mut self.labels, k, v);
        }
        for (k, v) in own {
            push_label(&mut self.labels, k, v);
        }
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
mod tests {
    use super::*;
    use crate::registry::Source;
    use crate::LatencyHistogram;
    use std::time::Duration;

    const PINNED: &str = concat!(
        "# HELP batch_seconds Latency histogram recorded by perf.\n",
        "# TYPE batch_seconds histogram\n",
        "batch_seconds_bucket{service=\"api\",le=\"1.5\"} 0\n",
        "batch_seconds_bucket{service=\"api\",le=\"1000000000000000000000\"} 1\n",
        "batch_seconds_bucket{service=\"api\",le=\"+Inf\"} 1\n",
        "batch_seconds_sum{service=\"api\"} 2\n",
        "batch_seconds_count{service=\"api\"} 1\n",
        "# HELP function_calls_duration_seconds Duration of function calls timed by perf, by result.\n",
        "# TYPE function_calls_duration_seconds histogram\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\",le=\"0.000001\"} 1\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\",le=\"0.01\"} 4\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\",le=\"1\"} 4\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\",le=\"25\"} 4\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\",le=\"+Inf\"} 5\n",
        "function_calls_duration_seconds_sum{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\"} 30.009\n",
        "function_calls_duration_seconds_count{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\"} 5\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\",le=\"0.001\"} 0\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\",le=\"0.5\"} 1\n",
        "function_calls_duration_seconds_bucket{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\",le=\"+Inf\"} 1\n",
        "function_calls_duration_seconds_sum{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\"} 0.0025\n",
        "function_calls_duration_seconds_count{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\"} 1\n",
        "# HELP queue_wait_seconds Latency histogram recorded by perf.\n",
        "# TYPE queue_wait_seconds histogram\n",
        "queue_wait_seconds_bucket{service=\"api\",queue=\"a\\\"b\\\\c\\nd\",le=\"0.000001\"} 1\n",
        "queue_wait_seconds_bucket{service=\"api\",queue=\"a\\\"b\\\\c\\nd\",le=\"0.01\"} 1\n",
        "queue_wait_seconds_bucket{service=\"api\",queue=\"a\\\"b\\\\c\\nd\",le=\"1\"} 2\n",
        "queue_wait_seconds_bucket{service=\"api\",queue=\"a\\\"b\\\\c\\nd\",le=\"25\"} 2\n",
        "queue_wait_seconds_bucket{service=\"api\",queue=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 2\n",
        "queue_wait_seconds_sum{service=\"api\",queue=\"a\\\"b\\\\c\\nd\"} 0.12345679\n",
        "queue_wait_seconds_count{service=\"api\",queue=\"a\\\"b\\\\c\\nd\"} 2\n",
        "# HELP function_calls_total Calls of functions timed by perf, by result.\n",
        "# TYPE function_calls_total counter\n",
        "function_calls_total{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"ok\"} 5\n",
        "function_calls_total{service=\"api\",function=\"pay\",module=\"shop::cart\",result=\"error\"} 1\n",
    );

    #[test]
    fn buckets_are_cumulative_and_sum_is_exact() {
        let r = Registry::new();
        let h = r.histogram("x_seconds", &[("k", "a\"b")]).unwrap();
        h.record(Duration::from_micros(50));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(20));
        let text = render(&r, &RenderOptions::default());
        assert!(
            text.contains("x_seconds_bucket{k=\"a\\\"b\",le=\"0.0001\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("x_seconds_bucket{k=\"a\\\"b\",le=\"0.005\"} 2\n"));
        assert!(text.contains("x_seconds_bucket{k=\"a\\\"b\",le=\"10\"} 2\n"));
        assert!(text.contains("x_seconds_bucket{k=\"a\\\"b\",le=\"+Inf\"} 3\n"));
        assert!(
            text.contains("x_seconds_sum{k=\"a\\\"b\"} 20.00305\n"),
            "{text}"
        );
        assert!(text.contains("x_seconds_count{k=\"a\\\"b\"} 3\n"));
    }

    #[test]
    fn a_metric_can_have_its_own_buckets() {
        let r = Registry::new();
        r.histogram("own_seconds", &[])
            .unwrap()
            .record_nanos(1_500_000_000);
        r.histogram("other_seconds", &[]).unwrap().record_nanos(1);
        let opts = RenderOptions {
            metric_buckets: vec![("own_seconds".into(), vec![1.0, 2.0])],
            ..Default::default()
        };
        let text = render(&r, &opts);
        assert!(text.contains("own_seconds_bucket{le=\"1\"} 0\n"), "{text}");
        assert!(text.contains("own_seconds_bucket{le=\"2\"} 1\n"));
        assert_eq!(text.matches("own_seconds_bucket").count(), 3);
        assert!(text.contains("other_seconds_bucket{le=\"0.0001\"} 1\n"));
    }

    #[test]
    fn global_labels_come_first_and_do_not_override() {
        let r = Registry::new();
        r.histogram("y", &[("service", "own")])
            .unwrap()
            .record_nanos(1);
        let opts = RenderOptions {
            global_labels: vec![
                ("service".into(), "global".into()),
                ("env".into(), "t".into()),
            ],
            ..Default::default()
        };
        let text = render(&r, &opts);
        assert!(
            text.contains("y_count{env=\"t\",service=\"own\"} 1"),
            "{text}"
        );
    }

    /// Every shape of line the exposition has, byte for byte: two families in name order,
    /// series in registration order, global labels first, escaping, a series' own buckets,
    /// a metric's buckets, empty series and an all-empty family left out, the counter of
    /// timed functions last.
    #[test]
    fn the_exposition_text_is_pinned_byte_for_byte() {
        let r = Registry::new();
        let leak = || -> &'static LatencyHistogram { Box::leak(Box::new(LatencyHistogram::new())) };
        let (ok, err, idle) = (leak(), leak(), leak());
        for (h, result, buckets) in [
            (ok, "ok", None),
            (idle, "ok", None),
            (err, "error", Some(&[0.001, 0.5][..])),
        ] {
            r.push(Series {
                name: "pay".into(),
                family: Family::FunctionCalls,
                labels: crate::registry::function_labels("pay", "shop::cart", result),
                source: Source::Static(h),
                buckets,
                allocs: None,
            });
        }
        for v in [1, 999_999, 1_000_000, 7_000_000, 30_000_000_000] {
            ok.record_nanos(v);
        }
        err.record_nanos(2_500_000);
        let q = r
            .histogram("queue_wait_seconds", &[("queue", "a\"b\\c\nd")])
            .unwrap();
        q.record_nanos(123_456_789);
        q.record_nanos(1);
        r.histogram("idle_seconds", &[]).unwrap();
        r.histogram("batch_seconds", &[])
            .unwrap()
            .record_nanos(2_000_000_000);
        let opts = RenderOptions {
            global_labels: vec![("service".into(), "api".into())],
            buckets: vec![0.000001, 0.01, 1.0, 25.0],
            metric_buckets: vec![("batch_seconds".into(), vec![1.5, 1e21])],
        };
        assert_eq!(render(&r, &opts), PINNED);

        let bare = Registry::new();
        bare.histogram("bare_seconds", &[])
            .unwrap()
            .record_nanos(40_000);
        let defaults = RenderOptions {
            buckets: vec![0.00005],
            ..Default::default()
        };
        assert_eq!(
            render(&bare, &defaults),
            concat!(
                "# HELP bare_seconds Latency histogram recorded by perf.\n",
                "# TYPE bare_seconds histogram\n",
                "bare_seconds_bucket{le=\"0.00005\"} 1\n",
                "bare_seconds_bucket{le=\"+Inf\"} 1\n",
                "bare_seconds_sum 0.00004\n",
                "bare_seconds_count 1\n",
            )
        );
    }

    #[test]
    fn sums_are_written_as_display_writes_them() {
        let check = |nanos: u64| {
            let mut out = String::new();
            write_seconds(&mut out, nanos);
            assert_eq!(out, format!("{}", nanos as f64 / 1e9), "{nanos}");
        };
        for nanos in [
            0,
            1,
            10,
            999_999_999,
            1_000_000_000,
            20_003_050_000,
            17_072_103_431_570_312, // a tie of two shortest strings
            999_999_999_999_999,
            1_000_000_000_000_001,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            u64::MAX,
        ] {
            check(nanos);
        }
        // xorshift over every magnitude, and round numbers of every magnitude.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x >> (x % 64));
            check((x % 1000) * 10u64.pow((x % 17) as u32));
        }
    }

    #[test]
    fn empty_registry_renders_nothing() {
        assert_eq!(render(&Registry::new(), &RenderOptions::default()), "");
    }
}
