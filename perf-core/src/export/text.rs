//! Renders a registry's histograms as Prometheus text exposition (format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::names::{DEFAULT_LATENCY_BUCKETS, FUNCTION_CALLS, FUNCTION_DURATION};
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

/// Escapes a label value as the exposition format requires.
pub(crate) fn escape(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn labels(series: &Series, opts: &RenderOptions, extra: Option<(&str, &str)>) -> String {
    let mut out = String::new();
    let all = opts
        .global_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| series.label(k).is_none())
        .chain(series.labels())
        .chain(extra);
    for (i, (k, v)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape(v, &mut out);
        out.push('"');
    }
    if out.is_empty() {
        out
    } else {
        format!("{{{out}}}")
    }
}

fn seconds(nanos: u64) -> String {
    let s = nanos as f64 / 1e9;
    format!("{s}")
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
    let mut families: BTreeMap<String, Vec<(Series, crate::Snapshot)>> = BTreeMap::new();
    for s in registry.series() {
        let snap = s.histogram().snapshot();
        if snap.count() == 0 {
            continue;
        }
        let name = match s.family {
            Family::FunctionCalls => FUNCTION_DURATION.to_owned(),
            Family::Named => s.name.to_string(),
        };
        families.entry(name).or_default().push((s, snap));
    }
    let mut out = String::new();
    for (name, members) in &families {
        let help = if name == FUNCTION_DURATION {
            "Duration of function calls timed by perf, by result."
        } else {
            "Latency histogram recorded by perf."
        };
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (series, snap) in members {
            let buckets = series.buckets.unwrap_or_else(|| {
                opts.metric_buckets
                    .iter()
                    .find(|(metric, _)| metric == name)
                    .map_or(&opts.buckets, |(_, b)| b)
            });
            let bounds: Vec<u64> = buckets.iter().map(|le| (le * 1e9).round() as u64).collect();
            for (le, count) in buckets.iter().zip(snap.cumulative_counts(&bounds)) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {count}",
                    labels(series, opts, Some(("le", &format!("{le}")))),
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                labels(series, opts, Some(("le", "+Inf"))),
                snap.count()
            );
            let plain = labels(series, opts, None);
            let _ = writeln!(out, "{name}_sum{plain} {}", seconds(snap.sum_nanos()));
            let _ = writeln!(out, "{name}_count{plain} {}", snap.count());
        }
    }
    if let Some(members) = families.get(FUNCTION_DURATION) {
        let _ = writeln!(
            out,
            "# HELP {FUNCTION_CALLS} Calls of functions timed by perf, by result."
        );
        let _ = writeln!(out, "# TYPE {FUNCTION_CALLS} counter");
        for (series, snap) in members {
            let _ = writeln!(
                out,
                "{FUNCTION_CALLS}{} {}",
                labels(series, opts, None),
                snap.count()
            );
        }
    }
    out
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
    fn empty_registry_renders_nothing() {
        assert_eq!(render(&Registry::new(), &RenderOptions::default()), "");
    }
}
