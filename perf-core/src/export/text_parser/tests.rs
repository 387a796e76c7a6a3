use super::*;
use proptest::prelude::*;

fn pairs(m: &Metric) -> Vec<(&str, &str)> {
    m.label
        .iter()
        .map(|l| (l.name.as_deref().unwrap(), l.value.as_deref().unwrap()))
        .collect()
}

fn only(text: &str) -> MetricFamily {
    let parsed = parse(text);
    assert_eq!(parsed.skipped, 0, "{text}");
    assert_eq!(parsed.families.len(), 1, "{:?}", parsed.families);
    parsed.families.into_iter().next().unwrap()
}

fn kind(f: &MetricFamily) -> MetricType {
    MetricType::try_from(f.r#type.unwrap()).unwrap()
}

fn bucket(le: f64, count: u64) -> Bucket {
    Bucket {
        upper_bound: Some(le),
        cumulative_count: Some(count),
    }
}

/// What metrics-exporter-prometheus renders for a facade recorded in `record`.
fn facade_text(
    builder: metrics_exporter_prometheus::PrometheusBuilder,
    record: impl FnOnce(),
) -> String {
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, record);
    handle.render()
}

#[test]
fn a_facade_counter_and_gauge_keep_their_values_help_and_labels() {
    let text = facade_text(
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .add_global_label("service", "a \"b\" \\ c\nd"),
        || {
            metrics::describe_counter!("jobs_total", "Jobs done, \\ and\nmore.");
            metrics::counter!("jobs_total", "queue" => "mail").increment(9_007_199_254_740_993);
            metrics::gauge!("queue_depth").set(-7.25);
        },
    );
    assert_eq!(
        text,
        "# HELP jobs_total Jobs done, \\\\ and\\nmore.\n\
         # TYPE jobs_total counter\n\
         jobs_total{service=\"a \\\"b\\\" \\\\ c\\nd\",queue=\"mail\"} 9007199254740993\n\n\
         # TYPE queue_depth gauge\n\
         queue_depth{service=\"a \\\"b\\\" \\\\ c\\nd\"} -7.25\n\n"
    );
    let parsed = parse(&text);
    assert_eq!(parsed.skipped, 0);
    let [jobs, depth] = &parsed.families[..] else {
        panic!("{:?}", parsed.families)
    };
    assert_eq!(jobs.name.as_deref(), Some("jobs_total"));
    assert_eq!(jobs.help.as_deref(), Some("Jobs done, \\ and\nmore."));
    assert_eq!(kind(jobs), MetricType::Counter);
    assert_eq!(
        pairs(&jobs.metric[0]),
        [("service", "a \"b\" \\ c\nd"), ("queue", "mail")]
    );
    // A float cannot hold 2^53 + 1; the counter's value is the nearest one, as in the text.
    assert_eq!(
        jobs.metric[0].counter.as_ref().unwrap().value,
        Some(9_007_199_254_740_992.0)
    );
    assert_eq!(
        (depth.help.as_deref(), kind(depth)),
        (None, MetricType::Gauge)
    );
    assert_eq!(depth.metric[0].gauge.as_ref().unwrap().value, Some(-7.25));
}

#[test]
fn a_facade_histogram_keeps_its_cumulative_buckets_sum_and_count() {
    let text = facade_text(
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&[0.01, 0.1, 1.0])
            .unwrap(),
        || {
            let h = metrics::histogram!("llm_seconds", "model" => "m");
            for v in [0.005, 0.05, 0.05, 0.5, 5.0] {
                h.record(v);
            }
        },
    );
    assert_eq!(
        text,
        "# TYPE llm_seconds histogram\n\
         llm_seconds_bucket{model=\"m\",le=\"0.01\"} 1\n\
         llm_seconds_bucket{model=\"m\",le=\"0.1\"} 3\n\
         llm_seconds_bucket{model=\"m\",le=\"1\"} 4\n\
         llm_seconds_bucket{model=\"m\",le=\"+Inf\"} 5\n\
         llm_seconds_sum{model=\"m\"} 5.605\n\
         llm_seconds_count{model=\"m\"} 5\n\n"
    );
    let f = only(&text);
    assert_eq!(kind(&f), MetricType::Histogram);
    assert_eq!(f.metric.len(), 1);
    assert_eq!(pairs(&f.metric[0]), [("model", "m")]);
    let h = f.metric[0].histogram.as_ref().unwrap();
    assert_eq!((h.sample_count, h.sample_sum), (Some(5), Some(5.605)));
    assert_eq!(
        h.bucket,
        [
            bucket(0.01, 1),
            bucket(0.1, 3),
            bucket(1.0, 4),
            bucket(f64::INFINITY, 5)
        ]
    );
    assert_eq!((h.schema, h.positive_span.len()), (None, 0));
}

#[test]
fn a_facade_summary_keeps_its_quantiles_sum_and_count() {
    let text = facade_text(
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_quantiles(&[0.0, 0.5, 1.0])
            .unwrap(),
        || {
            let h = metrics::histogram!("batch_size");
            for v in [3.0, 3.0, 8.0] {
                h.record(v);
            }
        },
    );
    let line = |q: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("batch_size{{quantile=\"{q}\"}} ")))
            .unwrap_or_else(|| panic!("{q} in {text}"))
            .parse::<f64>()
            .unwrap()
    };
    let f = only(&text);
    assert_eq!(
        (f.name.as_deref(), kind(&f)),
        (Some("batch_size"), MetricType::Summary)
    );
    let s = f.metric[0].summary.as_ref().unwrap();
    assert!(f.metric[0].label.is_empty());
    assert_eq!((s.sample_count, s.sample_sum), (Some(3), Some(14.0)));
    let quantiles: Vec<(f64, f64)> = s
        .quantile
        .iter()
        .map(|q| (q.quantile.unwrap(), q.value.unwrap()))
        .collect();
    assert_eq!(
        quantiles,
        [(0.0, line("0")), (0.5, line("0.5")), (1.0, line("1"))]
    );
    assert_eq!((quantiles[0].1, quantiles[2].1), (3.0, 8.0));
}

#[test]
fn series_of_a_family_keep_their_order_and_gather_their_lines() {
    let f = only(
        "# TYPE h histogram\n\
         h_bucket{k=\"b\",le=\"1\"} 2\n\
         h_bucket{k=\"a\",le=\"1\"} 1\n\
         h_bucket{le=\"+Inf\",k=\"b\"} 3\n\
         h_sum{k=\"b\"} 4\n\
         h_count{k=\"b\"} 3\n\
         h_bucket{k=\"a\",le=\"+Inf\"} 1\n",
    );
    assert_eq!(f.metric.len(), 2);
    assert_eq!(pairs(&f.metric[0]), [("k", "b")]);
    let b = f.metric[0].histogram.as_ref().unwrap();
    assert_eq!(b.bucket, [bucket(1.0, 2), bucket(f64::INFINITY, 3)]);
    assert_eq!((b.sample_count, b.sample_sum), (Some(3), Some(4.0)));
    // Without `_count` and `_sum` lines: the count of the `+Inf` bucket, no sum.
    let a = f.metric[1].histogram.as_ref().unwrap();
    assert_eq!((a.sample_count, a.sample_sum), (Some(1), None));
}

#[test]
fn values_as_go_and_rust_write_them() {
    let text = "# TYPE g gauge\n\
                g{k=\"1\"} +Inf\ng{k=\"2\"} -Inf\ng{k=\"3\"} inf\ng{k=\"4\"} 1e-3 1700000000000\n\
                g{k=\"5\"} NaN\n\
                # TYPE c counter\nc 18446744073709551615\n";
    let parsed = parse(text);
    assert_eq!(parsed.skipped, 0);
    let values: Vec<f64> = parsed.families[0]
        .metric
        .iter()
        .map(|m| m.gauge.as_ref().unwrap().value.unwrap())
        .collect();
    assert_eq!(
        values[..4],
        [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, 0.001]
    );
    assert!(values[4].is_nan());
    assert_eq!(parse_count("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_count("3e0"), Some(3));
    assert_eq!(parse_count("18446744073709551616"), None);
    assert_eq!(parse_count("1.5"), None);
    assert_eq!(parse_count("-1"), None);
}

#[test]
fn a_sample_without_a_type_is_untyped_and_other_comments_are_ignored() {
    let parsed = parse("# a comment\n\n  \nfree{a=\"x\",} 2\n#\n");
    assert_eq!(parsed.skipped, 0);
    let f = &parsed.families[0];
    assert_eq!(kind(f), MetricType::Untyped);
    assert_eq!(pairs(&f.metric[0]), [("a", "x")]);
    assert_eq!(f.metric[0].untyped.as_ref().unwrap().value, Some(2.0));
}

#[test]
fn each_line_it_cannot_read_is_skipped_and_counted() {
    let bad = [
        "no_value",
        "two_values 1 2 3",
        "bad_value abc",
        "bad_timestamp 1 x",
        "9starts_with_digit 1",
        "{only=\"labels\"} 1",
        "open{k=\"v\" 1",
        "unquoted{k=v} 1",
        "twice{k=\"a\",k=\"b\"} 1",
        "bad_key{9k=\"a\"} 1",
        "glued{k=\"a\"}1",
        "# TYPE",
        "# TYPE t wrong_kind",
        "# HELP 9bad help",
        "# TYPE h histogram\nh 1",
        "# TYPE h histogram\nh_bucket 1",
        "# TYPE h histogram\nh_bucket{le=\"x\"} 1",
        "# TYPE h histogram\nh_count 1.5",
        "# TYPE s summary\ns 1",
        "# TYPE s summary\ns_bucket{le=\"1\"} 1",
        "# TYPE c counter\n# TYPE c gauge",
        "c 1\n# TYPE c counter",
        "# HELP c a\n# HELP c b",
        "dup 1\ndup 2",
    ];
    for text in bad {
        assert_eq!(parse(text).skipped, 1, "{text:?}");
    }
    // The lines around a skipped one are read.
    let parsed = parse("a 1\nnonsense here\nb 2\n");
    assert_eq!(parsed.skipped, 1);
    assert_eq!(parsed.families.len(), 2);
}

proptest! {
    #[test]
    fn any_bytes_are_read_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let parsed = parse(&text);
        prop_assert!(parsed.skipped <= text.lines().count());
    }

    #[test]
    fn text_near_the_format_is_read_without_a_panic(
        text in "([a-z_]{1,6}(\\{([a-z]{1,3}=\"[a-z\\\\\"n ]{0,4}\",?){0,3}\\})? ?[-+0-9.eInfaN]{0,6}( [0-9]{0,3})?\n|# (HELP|TYPE) [a-z_]{1,6} [a-z\\\\ ]{0,10}\n){0,12}",
    ) {
        let parsed = parse(&text);
        let samples = parsed.families.iter().map(|f| f.metric.len()).sum::<usize>();
        prop_assert!(samples + parsed.skipped <= text.lines().count());
    }
}
