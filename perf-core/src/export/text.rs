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
    use std::time::Duration;

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

    #[test]
    fn empty_registry_renders_nothing() {
        assert_eq!(render(&Registry::new(), &RenderOptions::default()), "");
    }
}
