//! Unit tests of the text exposition.

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

/// A xorshift generator: reproducible test values without a dependency.
fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
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
    // Random values over every magnitude, and round numbers of every magnitude.
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..100_000 {
        let x = next();
        check(x >> (x % 64));
        check((x % 1000) * 10u64.pow((x % 17) as u32));
    }
}

#[test]
fn empty_registry_renders_nothing() {
    assert_eq!(render(&Registry::new(), &RenderOptions::default()), "");
}

/// The exposition as it was written before the sparse read: each series' dense `Snapshot`,
/// every line through `format!`. Kept as the reference the fast path must equal.
fn reference_render(r: &Registry, opts: &RenderOptions) -> String {
    let mut series = r.series();
    series.sort_by(|a, b| family_name(a).cmp(family_name(b)));
    let mut out = String::new();
    let mut calls = Vec::new();
    let mut header_of = None;
    for s in &series {
        let snap = s.histogram().snapshot();
        if snap.count() == 0 {
            continue;
        }
        let name = family_name(s);
        if header_of != Some(name) {
            header_of = Some(name);
            let help = match s.family {
                Family::FunctionCalls => "Duration of function calls timed by perf, by result.",
                Family::Named => "Latency histogram recorded by perf.",
            };
            out += &format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        }
        let mut labels: Vec<String> = opts
            .global_labels
            .iter()
            .filter(|(k, _)| s.label(k).is_none())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(s.labels())
            .map(|(k, v)| {
                let v = v.replace('\\', "\\\\").replace('"', "\\\"");
                format!("{k}=\"{}\"", v.replace('\n', "\\n"))
            })
            .collect();
        let bounds = s.buckets.unwrap_or_else(|| {
            opts.metric_buckets
                .iter()
                .find(|(m, _)| m == name)
                .map_or(&opts.buckets, |(_, b)| b)
        });
        let nanos: Vec<u64> = bounds.iter().map(|b| (b * 1e9).round() as u64).collect();
        let cumulative = snap.cumulative_counts(&nanos);
        let with = |labels: &[String]| match labels.len() {
            0 => String::new(),
            _ => format!("{{{}}}", labels.join(",")),
        };
        let plain = with(&labels);
        for (le, count) in bounds.iter().map(|b| b.to_string()).zip(cumulative) {
            labels.push(format!("le=\"{le}\""));
            out += &format!("{name}_bucket{} {count}\n", with(&labels));
            labels.pop();
        }
        labels.push("le=\"+Inf\"".into());
        out += &format!("{name}_bucket{} {}\n", with(&labels), snap.count());
        out += &format!("{name}_sum{plain} {}\n", snap.sum_nanos() as f64 / 1e9);
        out += &format!("{name}_count{plain} {}\n", snap.count());
        if s.family == Family::FunctionCalls {
            calls.push(format!("{FUNCTION_CALLS}{plain} {}\n", snap.count()));
        }
    }
    if !calls.is_empty() {
        out += &format!(
            "# HELP {FUNCTION_CALLS} Calls of functions timed by perf, by result.\n\
             # TYPE {FUNCTION_CALLS} counter\n{}",
            calls.concat()
        );
    }
    out
}

/// Many series of every shape, rendered twice by one renderer (its buffers reused) and
/// compared with the reference: values of every magnitude, several shards, resets, a
/// series' own buckets, a metric's buckets, global labels, escaping, empty series.
#[test]
fn many_series_render_as_the_reference_does() {
    let r = Registry::new();
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let own: &'static [f64] = &[0.0005, 0.002, 0.3, 4.0];
    for i in 0..400u64 {
        let source = match i % 4 {
            0 => Source::Owned(
                r.histogram("a_seconds", &[("endpoint", &format!("e{i}"))])
                    .unwrap(),
            ),
            1 => Source::Owned(
                r.histogram(
                    "b_seconds",
                    &[("q", &format!("x\"\\\n{i}")), ("service", "own")],
                )
                .unwrap(),
            ),
            _ => {
                let h: &'static LatencyHistogram = Box::leak(Box::new(LatencyHistogram::new()));
                let result = if i % 4 == 2 { "ok" } else { "error" };
                r.push(Series {
                    name: format!("f{i}").into(),
                    family: Family::FunctionCalls,
                    labels: crate::registry::function_labels("f", "m::n", result),
                    source: Source::Static(h),
                    buckets: (i % 8 == 3).then_some(own),
                    allocs: None,
                });
                Source::Static(h)
            }
        };
        let values: Vec<u64> = (0..i % 150).map(|_| next() >> (20 + next() % 44)).collect();
        crate::histogram::record_on_two_threads(source.histogram(), &values, i % 7 == 0);
    }
    let opts = RenderOptions {
        global_labels: vec![
            ("service".into(), "api".into()),
            ("zone".into(), "z".into()),
        ],
        // Out of order as a user may give them: each sample still counts once.
        metric_buckets: vec![("b_seconds".into(), vec![0.00001, 0.1, 0.001, 60.0])],
        ..Default::default()
    };
    let expected = reference_render(&r, &opts);
    assert_eq!(expected.matches("_count{").count(), 396);
    let mut renderer = Renderer::new(&opts);
    assert_eq!(renderer.render(&r), expected);
    assert_eq!(renderer.render(&r), expected);
}
