//! Renders a registry's histograms as the protobuf exposition (length-delimited
//! `io.prometheus.client.MetricFamily` messages): the same families, series, labels, classic
//! buckets, sums and counts as the text, and in addition each histogram's native buckets
//! (see [`native`](super::native) for the mapping and its error).

use prost::Message;

use super::client_model::{
    Bucket, BucketSpan, Counter, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use super::native::{NativeBuckets, NativeOptions, NATIVE_ZERO_THRESHOLD};
use super::text::{family_name, help_of, RenderOptions, Renderer, FUNCTION_CALLS_HELP};
use crate::names::{FUNCTION_CALLS, FUNCTION_DURATION};
use crate::registry::{Registry, Series};
use crate::Snapshot;

/// The `Content-Type` of the protobuf exposition, and what a scraper's `Accept` asks for.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

impl Renderer {
    /// See [`render_protobuf`]. Appends to `out`.
    pub(crate) fn render_protobuf(
        &mut self,
        registry: &Registry,
        native: &NativeOptions,
        out: &mut Vec<u8>,
    ) {
        let mut series = registry.series();
        // Stable: within a family, series keep their registration order, as in the text.
        series.sort_by(|a, b| family_name(a).cmp(family_name(b)));
        let mut calls = Vec::new();
        for family in series.chunk_by(|a, b| family_name(a) == family_name(b)) {
            let name = family_name(&family[0]);
            let format = native.format_of(name);
            let mut metrics = Vec::new();
            for s in family {
                let snap = s.histogram().snapshot();
                if snap.count() == 0 {
                    continue;
                }
                let label = self.label_pairs(s);
                let mut h = Histogram {
                    sample_count: Some(snap.count()),
                    sample_sum: Some(snap.sum_nanos() as f64 / 1e9),
                    ..Default::default()
                };
                if format.classic() {
                    h.bucket = self.classic_buckets(name, s, &snap);
                }
                if format.native() {
                    set_native(&mut h, &NativeBuckets::of(&snap, native.bucket_limit));
                }
                if name == FUNCTION_DURATION {
                    calls.push(Metric {
                        label: label.clone(),
                        counter: Some(Counter {
                            value: Some(snap.count() as f64),
                        }),
                        ..Default::default()
                    });
                }
                metrics.push(Metric {
                    label,
                    histogram: Some(h),
                    ..Default::default()
                });
            }
            if !metrics.is_empty() {
                write_family(out, name, help_of(name), MetricType::Histogram, metrics);
            }
        }
        if !calls.is_empty() {
            write_family(
                out,
                FUNCTION_CALLS,
                FUNCTION_CALLS_HELP,
                MetricType::Counter,
                calls,
            );
        }
    }

    fn label_pairs(&self, series: &Series) -> Vec<LabelPair> {
        self.labels_of(series)
            .map(|(k, v)| LabelPair {
                name: Some(k.to_owned()),
                value: Some(v.to_owned()),
            })
            .collect()
    }

    /// The classic buckets with the counts the text's `le` lines carry, `+Inf` last.
    fn classic_buckets(&mut self, name: &str, series: &Series, snap: &Snapshot) -> Vec<Bucket> {
        let set = self.bucket_set(name, series);
        // As the text counts them: only the filled buckets are visited.
        let mut filled = snap.buckets().peekable();
        let mut seen = 0u64;
        let mut out = Vec::with_capacity(set.nanos.len() + 1);
        for (&le, &bound) in set.seconds.iter().zip(&set.nanos) {
            while let Some((_, count)) = filled.next_if(|(v, _)| *v <= bound) {
                seen += count;
            }
            out.push(Bucket {
                cumulative_count: Some(seen),
                upper_bound: Some(le),
            });
        }
        out.push(Bucket {
            cumulative_count: Some(snap.count()),
            upper_bound: Some(f64::INFINITY),
        });
        out
    }
}

fn set_native(h: &mut Histogram, n: &NativeBuckets) {
    h.schema = Some(n.schema);
    h.zero_threshold = Some(NATIVE_ZERO_THRESHOLD);
    h.zero_count = Some(n.zero_count);
    h.positive_span = n
        .spans
        .iter()
        .map(|&(offset, length)| BucketSpan {
            offset: Some(offset),
            length: Some(length),
        })
        .collect();
    h.positive_delta = n.deltas.clone();
}

fn write_family(out: &mut Vec<u8>, name: &str, help: &str, kind: MetricType, metric: Vec<Metric>) {
    let family = MetricFamily {
        name: Some(name.to_owned()),
        help: Some(help.to_owned()),
        r#type: Some(kind as i32),
        metric,
    };
    // Writing into a Vec grows it; it cannot run out of room.
    let _ = family.encode_length_delimited(out);
}

/// Renders every series of `registry` that has samples as the protobuf exposition: one
/// histogram family per metric name with exact sum and count, classic buckets and/or
/// native buckets as `native` says, and for timed functions the `function_calls_total`
/// counter. Families and series come in the order of the text exposition.
///
/// ```
/// use perf_core::{export, Registry};
///
/// let registry = Registry::new();
/// registry
///     .histogram("db_query_duration_seconds", &[("table", "users")])
///     .unwrap()
///     .record_nanos(3_000_000);
/// let bytes = export::render_protobuf(&registry, &Default::default(), &Default::default());
/// let families = export::client_model::decode_delimited(&bytes).unwrap();
/// let h = families[0].metric[0].histogram.as_ref().unwrap();
/// assert_eq!(h.sample_sum, Some(0.003));
/// assert_eq!(h.positive_delta, [1]);
/// ```
pub fn render_protobuf(
    registry: &Registry,
    opts: &RenderOptions,
    native: &NativeOptions,
) -> Vec<u8> {
    let mut out = Vec::new();
    Renderer::new(opts).render_protobuf(registry, native, &mut out);
    out
}
