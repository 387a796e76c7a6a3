//! Native (exponential) histograms: how perf's log-linear buckets are mapped onto
//! Prometheus' native buckets, their resolution, zero bucket and bucket limit, and which
//! form each histogram is served in.
//!
//! A native bucket of schema `s` with index `i` holds the values (seconds) in
//! `(2^((i-1)/2^s), 2^(i/2^s)]`. Each of perf's buckets goes whole into the native bucket
//! that holds its midpoint, the value perf reads it back as, so a native bucket's count is
//! an exact sum of perf's counts and the rank of a quantile falls in the native bucket that
//! holds perf's own answer. Prometheus answers with a point of that bucket:
//!
//! * at [`NATIVE_SCHEMA`] (6) a bucket spans a factor `2^(1/64)`, so `histogram_quantile`
//!   is within **1.1%** of perf's in-process quantile, and within 1.9% of the true value
//!   (perf's own error is [`RELATIVE_ERROR`](crate::RELATIVE_ERROR), 0.78%);
//! * a series that fills more than the bucket limit ([`DEFAULT_NATIVE_BUCKET_LIMIT`], 160)
//!   is served at a lower schema, each step halving the resolution (merging pairs of
//!   buckets) as the Prometheus client libraries do: schema 5 (a factor `2^(1/32)`, 2.2%)
//!   holds 160 filled buckets across 32×, schema 4 (4.4%) across 1024×.
//!
//! The zero bucket holds the samples of exactly 0 ns: its threshold is
//! [`NATIVE_ZERO_THRESHOLD`] (2⁻¹²⁸ s, client_golang's default), far below perf's 1 ns step.
//!
//! This covers perf's own histograms (the registry's: `#[timed]` functions, request timing,
//! [`Registry::histogram`](crate::Registry::histogram)). Histograms recorded through the
//! `metrics` facade (perf-llm's GenAI ones) stay classic in both formats:
//! metrics-exporter-prometheus leaves a native facade histogram out of the text, which
//! would change what a text scraper gets.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use crate::histogram::{value_of, BUCKETS};
use crate::Snapshot;

/// The schema perf's histograms are served at when they fit the bucket limit: 64 buckets
/// per power of two, each spanning a factor `2^(1/64)` (1.09%).
pub const NATIVE_SCHEMA: i32 = 6;

/// The lowest schema Prometheus accepts; resolution is not reduced below it, whatever the
/// bucket limit.
pub const MIN_NATIVE_SCHEMA: i32 = -4;

/// Samples at or below this many seconds are counted in the zero bucket: 2⁻¹²⁸, the
/// default of the Prometheus client libraries. perf records whole nanoseconds, so only the
/// samples of 0 ns fall there.
pub const NATIVE_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// Most filled native buckets of one series before its resolution is reduced: the value
/// Prometheus' client libraries suggest, which keeps a scrape of a wide distribution small.
pub const DEFAULT_NATIVE_BUCKET_LIMIT: NonZeroUsize = match NonZeroUsize::new(160) {
    Some(n) => n,
    None => unreachable!(),
};

/// The form a histogram takes in the protobuf exposition.
///
/// The text exposition can only hold classic buckets, so a text scrape gets those whatever
/// the format; a protobuf scrape gets what the format says.
///
/// ```
/// use perf_core::export::HistogramFormat;
///
/// let builder = perf_core::export::prometheus()
///     .histogram_format(HistogramFormat::Native)
///     .histogram_format_for_metric("batch_seconds", HistogramFormat::Classic);
/// # let _ = builder;
/// assert_eq!(HistogramFormat::default(), HistogramFormat::Both);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HistogramFormat {
    /// Classic `le` buckets only: what a server without native histograms reads.
    Classic,
    /// Native buckets only: smaller, for servers that all have native histograms on.
    Native,
    /// Both (the default): a server with native histograms on reads the native buckets,
    /// one without reads the classic ones.
    #[default]
    Both,
}

impl HistogramFormat {
    pub(crate) fn classic(self) -> bool {
        matches!(self, HistogramFormat::Classic | HistogramFormat::Both)
    }

    pub(crate) fn native(self) -> bool {
        matches!(self, HistogramFormat::Native | HistogramFormat::Both)
    }
}

/// What the protobuf rendering needs besides [`RenderOptions`](super::RenderOptions): the
/// form of each histogram and the native bucket limit.
#[derive(Clone, Debug)]
pub struct NativeOptions {
    /// The form of histograms without their own.
    pub format: HistogramFormat,
    /// The form of the histograms exported under one metric name, overriding `format`.
    pub metric_formats: Vec<(String, HistogramFormat)>,
    /// Most filled native buckets per series before the schema is lowered.
    pub bucket_limit: NonZeroUsize,
}

impl Default for NativeOptions {
    fn default() -> Self {
        NativeOptions {
            format: HistogramFormat::Both,
            metric_formats: Vec::new(),
            bucket_limit: DEFAULT_NATIVE_BUCKET_LIMIT,
        }
    }
}

impl NativeOptions {
    /// The form of the histograms of family `name`.
    pub(crate) fn format_of(&self, name: &str) -> HistogramFormat {
        self.metric_formats
            .iter()
            .find(|(metric, _)| metric == name)
            .map_or(self.format, |(_, f)| *f)
    }
}

/// A snapshot's native buckets: schema, zero count, and the filled buckets as spans and
/// deltas, ready for the protobuf message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NativeBuckets {
    pub(crate) schema: i32,
    pub(crate) zero_count: u64,
    /// `(offset, length)`: the first offset is an index, the next ones gaps.
    pub(crate) spans: Vec<(i32, u32)>,
    pub(crate) deltas: Vec<i64>,
}

/// The index of the native bucket at `schema` holding `seconds` (> 0).
fn index_at(seconds: f64, schema: i32) -> i32 {
    (seconds.log2() * 2f64.powi(schema)).ceil() as i32
}

/// For each bucket of perf's layout, the native bucket at [`NATIVE_SCHEMA`] that holds its
/// midpoint (bucket 0, the 0 ns one, goes to the zero bucket and has no entry of use).
/// Computed once: a scrape then maps a bucket with a lookup instead of a logarithm.
fn native_index_table() -> &'static [i32] {
    static TABLE: OnceLock<Vec<i32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..BUCKETS)
            .map(|i| match value_of(i) {
                0 => 0,
                nanos => index_at(nanos as f64 / 1e9, NATIVE_SCHEMA),
            })
            .collect()
    })
}

impl NativeBuckets {
    /// Maps `snap` onto native buckets, starting at [`NATIVE_SCHEMA`] and lowering the
    /// schema while more than `limit` buckets are filled.
    pub(crate) fn of(snap: &Snapshot, limit: NonZeroUsize) -> NativeBuckets {
        let mut zero_count = 0;
        let table = native_index_table();
        // Ascending in value, so ascending (not strictly) in index.
        let mut filled: Vec<(i32, u64)> = Vec::new();
        for (bucket, count) in snap.filled() {
            if bucket == 0 {
                zero_count += count;
                continue;
            }
            let i = table[bucket];
            match filled.last_mut() {
                Some((last, c)) if *last == i => *c += count,
                _ => filled.push((i, count)),
            }
        }
        let mut schema = NATIVE_SCHEMA;
        while filled.len() > limit.get() && schema > MIN_NATIVE_SCHEMA {
            schema -= 1;
            filled = halve(&filled);
        }
        let (spans, deltas) = spans_and_deltas(&filled);
        NativeBuckets {
            schema,
            zero_count,
            spans,
            deltas,
        }
    }
}

/// One schema lower: bucket `i` becomes `ceil(i / 2)`, since `(b^(2j-2), b^(2j)]` holds
/// buckets `2j-1` and `2j`.
fn halve(filled: &[(i32, u64)]) -> Vec<(i32, u64)> {
    let mut out: Vec<(i32, u64)> = Vec::with_capacity(filled.len() / 2 + 1);
    for &(i, count) in filled {
        // `>>` on i32 rounds toward negative infinity, so this is ceil(i / 2) for any sign.
        let j = (i + 1) >> 1;
        match out.last_mut() {
            Some((last, c)) if *last == j => *c += count,
            _ => out.push((j, count)),
        }
    }
    out
}

/// Runs of consecutive indices and the count of each bucket as a delta to the previous.
fn spans_and_deltas(filled: &[(i32, u64)]) -> (Vec<(i32, u32)>, Vec<i64>) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut deltas = Vec::with_capacity(filled.len());
    let (mut prev_index, mut prev_count) = (None::<i32>, 0i64);
    for &(i, count) in filled {
        match prev_index {
            Some(p) if i == p + 1 => {
                if let Some(last) = spans.last_mut() {
                    last.1 += 1;
                }
            }
            Some(p) => spans.push((i - p - 1, 1)),
            None => spans.push((i, 1)),
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        deltas.push(count - prev_count);
        prev_index = Some(i);
        prev_count = count;
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LatencyHistogram;

    fn of(values: &[u64], limit: usize) -> NativeBuckets {
        let h = LatencyHistogram::new();
        for &v in values {
            h.record_nanos(v);
        }
        NativeBuckets::of(&h.snapshot(), NonZeroUsize::new(limit).unwrap())
    }

    #[test]
    fn one_value_is_one_bucket_holding_its_value() {
        // 1 ms = 2^-9.966 s: at schema 6 index ceil(-9.966 * 64) = -637.
        let n = of(&[1_000_000], 160);
        assert_eq!(
            n,
            NativeBuckets {
                schema: 6,
                zero_count: 0,
                spans: vec![(-637, 1)],
                deltas: vec![1],
            }
        );
        let upper = 2f64.powf(-637.0 / 64.0);
        let lower = 2f64.powf(-638.0 / 64.0);
        assert!(lower < 1e-3 && 1e-3 <= upper, "({lower}, {upper}]");
    }

    #[test]
    fn zero_goes_to_the_zero_bucket() {
        let n = of(&[0, 0, 5], 160);
        assert_eq!(n.zero_count, 2);
        assert_eq!(n.deltas, [1]);
    }

    #[test]
    fn gaps_open_new_spans_and_deltas_are_differences() {
        // Two values in one bucket, one in the next, one far above.
        let n = of(&[1_000_000, 1_000_000, 1_012_000, 4_000_000], 160);
        assert_eq!(n.spans, [(-637, 2), (126, 1)]);
        assert_eq!(n.deltas, [2, -1, 0]);
    }

    #[test]
    fn past_the_limit_the_schema_drops_and_buckets_merge() {
        // One value per octave from 1 µs to 2^20 µs: 21 buckets at any schema from 6 to 0,
        // so a limit of 20 takes it down to where octaves merge pairwise (schema -1).
        let values: Vec<u64> = (0..=20).map(|k| 1_000u64 << k).collect();
        assert_eq!(of(&values, 21).schema, 6);
        let n = of(&values, 20);
        assert_eq!(n.schema, -1);
        assert!(n.deltas.len() <= 20, "{n:?}");
        let counts: i64 = n
            .deltas
            .iter()
            .scan(0i64, |c, d| {
                *c += d;
                Some(*c)
            })
            .sum();
        assert_eq!(counts, 21);
        // A limit of 1 stops at the lowest schema Prometheus accepts.
        assert_eq!(of(&values, 1).schema, MIN_NATIVE_SCHEMA);
    }

    #[test]
    fn halving_is_ceil_of_half_for_both_signs() {
        let merged = halve(&[(-3, 1), (-2, 1), (-1, 1), (0, 1), (1, 1), (2, 1), (3, 1)]);
        assert_eq!(merged, [(-1, 2), (0, 2), (1, 2), (2, 1)]);
    }
}
