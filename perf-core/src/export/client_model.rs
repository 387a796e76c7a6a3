//! The messages of Prometheus' client model (`io.prometheus.client`, `metrics.proto` of
//! prometheus/client_model) that the protobuf exposition is made of, as `prost` messages.
//!
//! Written with `#[derive(prost::Message)]`: metrics-exporter-prometheus generates these
//! types from `metrics.proto` but keeps them private, and a second generation step would
//! add a build script to perf-core for eleven small messages. Field numbers and types are
//! those of `metrics.proto`; a test decodes metrics-exporter-prometheus' own (generated)
//! output with them to prove it. Repeated numbers are unpacked, as proto2 (the file's
//! syntax) writes them. Exemplars and created timestamps are left out: perf writes neither,
//! and `prost` skips them when decoding.
//!
//! ```
//! # fn main() -> Result<(), prost::DecodeError> {
//! use perf_core::{export, Registry};
//!
//! let registry = Registry::new();
//! registry.histogram("job_seconds", &[]).unwrap().record_nanos(3_000_000);
//! let bytes = export::render_protobuf(&registry, &Default::default(), &Default::default());
//! let families = export::client_model::decode_delimited(&bytes)?;
//! assert_eq!(families[0].name.as_deref(), Some("job_seconds"));
//! let h = families[0].metric[0].histogram.as_ref().unwrap();
//! assert_eq!((h.sample_count, h.schema), (Some(1), Some(export::NATIVE_SCHEMA)));
//! # Ok(()) }
//! ```

use prost::Message;

/// A label of a series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// Label key.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// A monotonic counter.
    Counter = 0,
    /// A value that goes up and down.
    Gauge = 1,
    /// Quantiles computed by the client.
    Summary = 2,
    /// A value of unknown type.
    Untyped = 3,
    /// A histogram: classic buckets, native buckets, or both.
    Histogram = 4,
    /// A histogram whose counts can go down.
    GaugeHistogram = 5,
}

/// A gauge's value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A counter's value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Counter {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// One quantile of a summary.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantile {
    /// The quantile, 0..=1.
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    /// Its value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// A summary: count, sum and client-side quantiles.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// Number of observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of observations.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// The quantiles.
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
}

/// A value of unknown type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Untyped {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A histogram: classic cumulative buckets and/or native (exponential, sparse) buckets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Number of observations (exact).
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of observations (exact to the nanosecond for perf's histograms).
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Classic buckets, ascending by upper bound, cumulative.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// Native buckets: bucket `i` holds values in `(base^(i-1), base^i]`, where
    /// `base = 2^(2^-schema)`.
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    /// Values whose magnitude is at or below this go to the zero bucket.
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    /// Observations in the zero bucket.
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    /// Runs of negative buckets.
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    /// Count of each negative bucket as a delta to the previous one.
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub negative_delta: Vec<i64>,
    /// Runs of positive buckets: the first offset is the first bucket's index, later
    /// offsets are the gap to the previous run.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Count of each positive bucket of the spans, as a delta to the previous one (the
    /// first to zero).
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
}

/// A classic bucket.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    /// Observations at or below `upper_bound`.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// Inclusive upper bound.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
}

/// A run of consecutive native buckets.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span, or the index of the first bucket for the first span.
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    /// Number of consecutive buckets.
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

/// One series: its labels and its value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// Set for a gauge.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    /// Set for a counter.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    /// Set for a summary.
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    /// Set for an untyped value.
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    /// Set for a histogram.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// A metric family: its name, help, type and series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// The family's name (for a counter, with its `_total`).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Help text.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// The type.
    #[prost(enumeration = "MetricType", optional, tag = "3")]
    pub r#type: Option<i32>,
    /// The series.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}

/// Decodes a protobuf exposition (length-delimited `MetricFamily` messages, one after the
/// other) into its families, in order. Fails on bytes that are not such a stream.
pub fn decode_delimited(mut bytes: &[u8]) -> Result<Vec<MetricFamily>, prost::DecodeError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        out.push(MetricFamily::decode_length_delimited(&mut bytes)?);
    }
    Ok(out)
}
