//! The protobuf exposition, decoded with `prost` against the client model
//! (`io.prometheus.client`): schema, spans, deltas, zero bucket, sum and count of
//! hand-checked histograms agree with the in-process snapshot; the wire bytes carry the
//! field numbers of `metrics.proto`; the facade's series come in the same response; the
//! per-histogram form and the bucket limit apply.

use std::num::NonZeroUsize;

use perf_core::export::client_model::{decode_delimited, Histogram, MetricFamily, MetricType};
use perf_core::export::{
    self, HistogramFormat, NativeOptions, RenderOptions, NATIVE_SCHEMA, NATIVE_ZERO_THRESHOLD,
};
use perf_core::Registry;

fn render(registry: &Registry, native: &NativeOptions) -> Vec<MetricFamily> {
    let bytes = export::render_protobuf(registry, &RenderOptions::default(), native);
    decode_delimited(&bytes).expect("a stream of length-delimited MetricFamily messages")
}

fn only_histogram(families: &[MetricFamily]) -> &Histogram {
    assert_eq!(families.len(), 1, "{families:?}");
    assert_eq!(families[0].metric.len(), 1);
    families[0].metric[0].histogram.as_ref().unwrap()
}

/// The native buckets as `(index, count)`, from spans and deltas.
fn native_buckets(h: &Histogram) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let (mut index, mut count) = (0i32, 0i64);
    let mut deltas = h.positive_delta.iter();
    for (n, span) in h.positive_span.iter().enumerate() {
        index += span.offset.unwrap();
        if n > 0 {
            // A later span's offset is the gap after the previous span's last bucket.
            index += 1;
        }
        for k in 0..span.length.unwrap() {
            if k > 0 {
                index += 1;
            }
            count += deltas.next().expect("a delta per bucket of the spans");
            assert!(count > 0, "perf writes only filled buckets: {h:?}");
            out.push((index, count as u64));
        }
    }
    assert!(deltas.next().is_none(), "more deltas than buckets: {h:?}");
    out
}

/// `(lower, upper]` in seconds of native bucket `index` at `schema`.
fn bounds(schema: i32, index: i32) -> (f64, f64) {
    let step = 2f64.powi(-schema);
    (
        2f64.powf((index - 1) as f64 * step),
        2f64.powf(index as f64 * step),
    )
}

#[test]
fn one_value() {
    let r = Registry::new();
    r.histogram("job_seconds", &[("queue", "mail")])
        .unwrap()
        .record_nanos(3_000_000);
    let families = render(&r, &NativeOptions::default());
    let f = &families[0];
    assert_eq!(f.name.as_deref(), Some("job_seconds"));
    assert_eq!(f.r#type, Some(MetricType::Histogram as i32));
    assert_eq!(
        f.help.as_deref(),
        Some("Latency histogram recorded by perf.")
    );
    let label = &f.metric[0].label;
    assert_eq!(label.len(), 1);
    assert_eq!(
        (label[0].name.as_deref(), label[0].value.as_deref()),
        (Some("queue"), Some("mail"))
    );
    let h = only_histogram(&families);
    assert_eq!(h.sample_count, Some(1));
    assert_eq!(h.sample_sum, Some(0.003));
    assert_eq!(h.schema, Some(NATIVE_SCHEMA));
    assert_eq!(h.zero_threshold, Some(NATIVE_ZERO_THRESHOLD));
    assert_eq!(h.zero_count, Some(0));
    // 3 ms is read back by perf as its bucket's midpoint 2_998_271 ns (octave 2^21, width
    // 32_768): log2(0.002998271) * 64 = -536.43, so native bucket -536.
    assert_eq!(native_buckets(h), [(-536, 1)]);
    let (lower, upper) = bounds(6, -536);
    assert!(lower < 0.002998271 && 0.002998271 <= upper);
    assert!(h.negative_span.is_empty() && h.negative_delta.is_empty());
    // The classic buckets, as the text has them: 0 up to 2.5 ms, 1 from 5 ms, +Inf last.
    let classic: Vec<(f64, u64)> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound.unwrap(), b.cumulative_count.unwrap()))
        .collect();
    let text = export::render(&r, &RenderOptions::default());
    assert_eq!(
        classic.len(),
        text.matches("job_seconds_bucket").count(),
        "{text}"
    );
    for (le, count) in &classic {
        let le = if le.is_infinite() {
            "+Inf".to_owned()
        } else {
            format!("{le}")
        };
        let line = format!("job_seconds_bucket{{queue=\"mail\",le=\"{le}\"}} {count}\n");
        assert!(text.contains(&line), "{line} not in {text}");
    }
    assert_eq!(classic.last(), Some(&(f64::INFINITY, 1)));
}

#[test]
fn all_values_in_one_bucket() {
    // 1.000 ms to 1.007 ms are all in perf's bucket [999_424, 1_007_616) ns, whose midpoint
    // 1_003_519 ns is in native bucket ceil(log2(0.001003519) * 64) = -637.
    let r = Registry::new();
    let h = r.histogram("tight_seconds", &[]).unwrap();
    for us in 0..8u64 {
        h.record_nanos(1_000_000 + us * 1_000);
    }
    let families = render(&r, &NativeOptions::default());
    let n = only_histogram(&families);
    assert_eq!(n.sample_count, Some(8));
    assert_eq!(n.sample_sum, Some(0.008028));
    assert_eq!(n.positive_span.len(), 1);
    assert_eq!(
        (n.positive_span[0].offset, n.positive_span[0].length),
        (Some(-637), Some(1))
    );
    assert_eq!(n.positive_delta, [8]);
    let (lower, upper) = bounds(6, -637);
    let q = h.snapshot().quantile_nanos(0.5) as f64 / 1e9;
    assert!(lower < q && q <= upper, "{q} in ({lower}, {upper}]");
}

#[test]
fn values_from_one_nanosecond_to_one_hour() {
    let r = Registry::new();
    let h = r.histogram("wide_seconds", &[]).unwrap();
    h.record_nanos(0);
    let values: Vec<u64> = (0..=12)
        .map(|e| 10u64.pow(e))
        .chain([3_600_000_000_000])
        .collect();
    for &v in &values {
        h.record_nanos(v);
    }
    let snap = h.snapshot();
    let families = render(&r, &NativeOptions::default());
    let n = only_histogram(&families);
    assert_eq!(n.sample_count, Some(15));
    assert_eq!(n.sample_sum, Some(snap.sum_nanos() as f64 / 1e9));
    assert_eq!(n.zero_count, Some(1), "the 0 ns sample");
    assert_eq!(n.schema, Some(6), "14 filled buckets fit the limit");
    let buckets = native_buckets(n);
    assert_eq!(buckets.len(), values.len(), "{buckets:?}");
    // 1 ns: ceil(log2(1e-9) * 64) = ceil(-1913.4). 1 h is read back by perf as
    // 3_590_592_659_455 ns (its bucket's midpoint): ceil(log2(3590.59) * 64) = ceil(755.8).
    assert_eq!(buckets.first(), Some(&(-1913, 1)));
    assert_eq!(buckets.last(), Some(&(756, 1)));
    // Each sample sits in the native bucket holding perf's own reading of it: the
    // snapshot's buckets, lowest first, skipping the 0 ns one.
    for ((index, count), (nanos, perf_count)) in buckets.iter().zip(snap.buckets().skip(1)) {
        assert_eq!(*count, perf_count);
        let (lower, upper) = bounds(6, *index);
        let v = nanos as f64 / 1e9;
        assert!(lower < v && v <= upper, "{v} s in ({lower}, {upper}]");
    }
}

#[test]
fn the_wire_bytes_have_the_field_numbers_of_metrics_proto() {
    let r = Registry::new();
    r.histogram("b_seconds", &[])
        .unwrap()
        .record_nanos(3_000_000);
    let bytes = export::render_protobuf(&r, &RenderOptions::default(), &NativeOptions::default());
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // MetricFamily.name (1, string) right after the length prefix; type (3, enum) HISTOGRAM.
    let len = prost::decode_length_delimiter(&bytes[..]).unwrap();
    let start = prost::length_delimiter_len(len);
    assert_eq!(start + len, bytes.len(), "one family");
    assert_eq!(bytes[start..start + 3], [0x0A, 9, b'b']);
    assert!(has(&[0x18, 4]));
    // Histogram.sample_count (1, uint64) = 1; schema (5, sint32) = zigzag(6) = 12;
    // zero_threshold (6, double) = 2^-128, little endian; zero_count (7, uint64) = 0.
    assert!(has(&[0x08, 1]));
    assert!(has(&[0x28, 12]));
    let mut threshold = vec![0x31];
    threshold.extend_from_slice(&NATIVE_ZERO_THRESHOLD.to_le_bytes());
    assert!(has(&threshold));
    assert!(has(&[0x38, 0]));
    // positive_span (12, message) {offset: zigzag(-536) = 1071 = varint AF 08, length: 1};
    // positive_delta (13, sint64, unpacked as proto2 writes it) = zigzag(1) = 2.
    assert!(has(&[0x62, 5, 0x08, 0xAF, 0x08, 0x10, 1]));
    assert!(has(&[0x68, 2]));
}

#[test]
fn each_histogram_in_the_form_asked_for() {
    static R: Registry = Registry::new();
    R.histogram("classic_seconds", &[])
        .unwrap()
        .record_nanos(10);
    R.histogram("native_seconds", &[]).unwrap().record_nanos(10);
    R.histogram("both_seconds", &[]).unwrap().record_nanos(10);
    let native = NativeOptions {
        format: HistogramFormat::Both,
        metric_formats: vec![
            ("classic_seconds".into(), HistogramFormat::Classic),
            ("native_seconds".into(), HistogramFormat::Native),
        ],
        ..Default::default()
    };
    let families = render(&R, &native);
    let by_name = |name: &str| {
        let f = families
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .unwrap();
        f.metric[0].histogram.clone().unwrap()
    };
    let classic = by_name("classic_seconds");
    assert!(classic.schema.is_none() && classic.positive_span.is_empty());
    assert_eq!(
        classic.bucket.len(),
        export::DEFAULT_LATENCY_BUCKETS.len() + 1
    );
    let native = by_name("native_seconds");
    assert!(native.bucket.is_empty());
    assert_eq!(native.schema, Some(6));
    let both = by_name("both_seconds");
    assert!(!both.bucket.is_empty() && both.schema == Some(6));
    for h in [classic, native, both] {
        assert_eq!((h.sample_count, h.sample_sum), (Some(1), Some(10e-9)));
    }
}

#[test]
fn a_wide_series_is_served_at_a_lower_schema_within_the_limit() {
    let r = Registry::new();
    let h = r.histogram("spread_seconds", &[]).unwrap();
    // 1 µs to 10 ms in 0.5% steps: about 1850 values filling every native bucket at
    // schema 6 (850 of them); a limit of 160 needs schema 3 (8 per octave: 107).
    let mut v = 1_000.0f64;
    while v < 10_000_000.0 {
        h.record_nanos(v as u64);
        v *= 1.005;
    }
    let limit = |n| NativeOptions {
        bucket_limit: NonZeroUsize::new(n).unwrap(),
        ..Default::default()
    };
    let at_160 = render(&r, &limit(160));
    let n = only_histogram(&at_160);
    assert_eq!(n.schema, Some(3));
    let buckets = native_buckets(n);
    assert_eq!(buckets.len(), 107);
    assert_eq!(
        buckets.iter().map(|(_, c)| c).sum::<u64>(),
        h.snapshot().count()
    );
    let unlimited = render(&r, &limit(100_000));
    assert_eq!(only_histogram(&unlimited).schema, Some(6));
}

#[test]
fn the_facade_series_and_function_calls_come_in_the_same_response() {
    // The only test of this file on the global registry.
    let (recorder, exporter) = export::prometheus()
        .add_global_label("service", "t")
        .unwrap()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs_total", "queue" => "mail").increment(3);
        metrics::gauge!("queue_depth").set(7.0);
    });
    {
        let _t = perf_core::time("proto_block");
    }
    let families = decode_delimited(&exporter.render_protobuf()).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {families:?}"))
    };
    let labels = |f: &MetricFamily| -> Vec<(String, String)> {
        f.metric[0]
            .label
            .iter()
            .map(|l| (l.name.clone().unwrap(), l.value.clone().unwrap()))
            .collect()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let duration = family("function_calls_duration_seconds");
    assert_eq!(
        labels(duration),
        [
            pair("service", "t"),
            pair("function", "proto_block"),
            pair("module", ""),
            pair("result", "ok")
        ]
    );
    let h = duration.metric[0].histogram.as_ref().unwrap();
    assert_eq!((h.sample_count, h.schema), (Some(1), Some(6)));
    let calls = family("function_calls_total");
    assert_eq!(calls.r#type, Some(MetricType::Counter as i32));
    assert_eq!(labels(calls), labels(duration));
    assert_eq!(calls.metric[0].counter.as_ref().unwrap().value, Some(1.0));
    let jobs = family("jobs_total");
    assert_eq!(labels(jobs), [pair("service", "t"), pair("queue", "mail")]);
    assert_eq!(jobs.metric[0].counter.as_ref().unwrap().value, Some(3.0));
    let depth = family("queue_depth");
    assert_eq!(depth.r#type, Some(MetricType::Gauge as i32));
    assert_eq!(depth.metric[0].gauge.as_ref().unwrap().value, Some(7.0));
    // perf's families first, then the facade's.
    let position = |name: &str| {
        families
            .iter()
            .position(|f| f.name.as_deref() == Some(name))
    };
    assert!(position("function_calls_total") < position("jobs_total"));
}

/// metrics-exporter-prometheus generates its messages from `metrics.proto` with
/// prost-build: its native histogram decodes with perf's hand-written messages, field by
/// field. The bytes were rendered once by metrics-exporter-prometheus 0.18.3 with its
/// `protobuf` feature (left out of perf's build, which would run `protoc`), from:
///
/// ```ignore
/// let config = NativeHistogramConfig::new(1.1, 160, 1e-9).unwrap();
/// let recorder = PrometheusBuilder::new()
///     .set_native_histogram_for_metric(Matcher::Full("lat_seconds".into()), config)
///     .build_recorder();
/// metrics::with_local_recorder(&recorder, || {
///     let h = metrics::histogram!("lat_seconds", "k" => "v");
///     for v in [0.003, 0.003, 0.5, 0.0] {
///         h.record(v);
///     }
/// });
/// recorder.handle().render_protobuf()
/// ```
#[test]
fn the_generated_messages_of_metrics_exporter_prometheus_decode_with_these() {
    let bytes = include_bytes!("fixtures/mep_native_histogram.bin");
    let families = decode_delimited(bytes).unwrap();
    let f = &families[0];
    assert_eq!(f.name.as_deref(), Some("lat_seconds"));
    assert_eq!(f.r#type, Some(MetricType::Histogram as i32));
    assert_eq!(f.metric[0].label[0].name.as_deref(), Some("k"));
    let h = only_histogram(&families);
    assert_eq!(h.sample_count, Some(4));
    assert_eq!(h.sample_sum, Some(0.506));
    // A factor of 1.1 is served at schema 3 (2^(1/8) = 1.09).
    assert_eq!(h.schema, Some(3));
    assert_eq!(h.zero_threshold, Some(1e-9));
    assert_eq!(h.zero_count, Some(1));
    let buckets = native_buckets(h);
    let counts: Vec<u64> = buckets.iter().map(|(_, c)| *c).collect();
    assert_eq!(counts, [2, 1]);
    for ((index, _), v) in buckets.iter().zip([0.003, 0.5]) {
        let (lower, upper) = bounds(3, *index);
        assert!(lower < v && v <= upper, "{v} in ({lower}, {upper}]");
    }
}
