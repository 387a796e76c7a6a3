//! The cardinality guard folds a label's excess values into `__overflow__`, for facade
//! metrics and for perf's own histograms.

use metrics_util::layers::Layer;

#[test]
fn facade_labels_past_the_limit_are_folded() {
    let (recorder, exporter) = perf_core::export::prometheus()
        .max_label_values(3)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for user in ["a", "b", "c", "d", "e"] {
            metrics::counter!("requests_total", "user" => user).increment(1);
        }
    });
    let text = exporter.render();
    for user in ["a", "b", "c"] {
        assert!(
            text.contains(&format!("requests_total{{user=\"{user}\"}} 1")),
            "{text}"
        );
    }
    assert!(
        text.contains("requests_total{user=\"__overflow__\"} 2"),
        "{text}"
    );
    assert!(!text.contains("user=\"e\""));
}

#[test]
fn registry_labels_past_the_limit_are_folded() {
    let registry = perf_core::Registry::new();
    registry.label_guard().set_max(2);
    for user in ["a", "b", "c", "d"] {
        registry
            .histogram("lookup_seconds", &[("user", user)])
            .unwrap()
            .record_nanos(10);
    }
    let overflow = registry
        .summary_with("lookup_seconds", &[("user", "__overflow__")])
        .unwrap();
    assert_eq!(overflow.count, 2);
    assert_eq!(registry.summary("lookup_seconds").unwrap().count, 4);
}

#[test]
fn the_layer_composes_with_any_recorder() {
    let inner = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = inner.snapshotter();
    let recorder = perf_core::export::CardinalityLayer::new(1).layer(inner);
    metrics::with_local_recorder(&recorder, || {
        metrics::gauge!("g", "k" => "1").set(1.0);
        metrics::gauge!("g", "k" => "2").set(2.0);
        metrics::gauge!("g", "k" => "3").set(3.0);
    });
    // The inner recorder sees the first value as written and the later ones folded into one
    // series (a gauge keeps the last value set).
    type Gauge = (String, Vec<(String, String)>, f64);
    let mut seen: Vec<Gauge> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let metrics_util::debugging::DebugValue::Gauge(v) = value else {
                panic!("not a gauge: {value:?}");
            };
            (key.name().to_owned(), labels, v.into_inner())
        })
        .collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    let label = |v: &str| vec![("k".to_owned(), v.to_owned())];
    assert_eq!(
        seen,
        [
            ("g".to_owned(), label("1"), 1.0),
            ("g".to_owned(), label("__overflow__"), 3.0),
        ]
    );
}
