//! [`Snapshot`]: a merged, owned copy of a histogram's buckets, which quantiles, min and max
//! are read from, and its sparse JSON form.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::layout::{bounds_of, value_of, BUCKETS};

/// What a histogram subtracts from its shards after
/// [`LatencyHistogram::reset`](crate::LatencyHistogram::reset).
#[derive(Default)]
pub(super) struct Baseline {
    pub(super) counts: Vec<u64>,
    pub(super) sum: u64,
    pub(super) saturated: u64,
}

/// A merged, owned copy of a histogram's distribution.
///
/// Snapshots of different histograms can be [merged](Snapshot::merge) (for example every
/// outcome of one function) and serialized to JSON (only non-empty buckets are written).
///
/// ```
/// use perf_core::LatencyHistogram;
///
/// let (a, b) = (LatencyHistogram::new(), LatencyHistogram::new());
/// a.record_nanos(1_000);
/// b.record_nanos(3_000);
/// let mut s = a.snapshot();
/// s.merge(&b.snapshot());
/// assert_eq!(s.summary().count, 2);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SparseSnapshot", into = "SparseSnapshot")]
pub struct Snapshot {
    pub(super) counts: Vec<u64>,
    count: u64,
    pub(super) sum: u64,
    pub(super) saturated: u64,
    /// Exact min and max when known (`u64::MAX`/0 when not), else taken from the buckets.
    min: u64,
    max: u64,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("saturated", &self.saturated)
            .finish_non_exhaustive()
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::from_parts(vec![0; BUCKETS], 0, 0, u64::MAX, 0)
    }
}

impl Snapshot {
    pub(super) fn from_parts(
        counts: Vec<u64>,
        sum: u64,
        saturated: u64,
        min: u64,
        max: u64,
    ) -> Self {
        let count = counts.iter().sum();
        Snapshot {
            counts,
            count,
            sum,
            saturated,
            min,
            max,
        }
    }

    pub(super) fn subtract(&mut self, b: &Baseline) {
        for (c, old) in self.counts.iter_mut().zip(&b.counts) {
            *c = c.saturating_sub(*old);
        }
        self.count = self.counts.iter().sum();
        self.sum = self.sum.saturating_sub(b.sum);
        self.saturated = self.saturated.saturating_sub(b.saturated);
    }

    /// An empty snapshot.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds `other`'s samples to this one.
    pub fn merge(&mut self, other: &Snapshot) {
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.saturated += other.saturated;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact sum of all samples, in nanoseconds (saturating at `u64::MAX`).
    pub fn sum_nanos(&self) -> u64 {
        self.sum
    }

    /// Number of samples that were above [`MAX_TRACKABLE_NANOS`](crate::MAX_TRACKABLE_NANOS)
    /// and were clamped.
    pub fn saturated(&self) -> u64 {
        self.saturated
    }

    /// The exact extreme `exact` if it lies in bucket `i` (the lowest or highest non-empty
    /// one), else that bucket's midpoint: an exact min or max from before a reset or a delta
    /// no longer belongs to the samples. 0 when there is no such bucket.
    fn extreme(i: Option<usize>, exact: u64) -> u64 {
        match i {
            None => 0,
            Some(i) => {
                let (lo, w) = bounds_of(i);
                if exact >= lo && exact < lo + w {
                    exact
                } else {
                    value_of(i)
                }
            }
        }
    }

    /// Smallest sample in nanoseconds (exact when recorded since the last reset, else
    /// within the bucket error), 0 when empty.
    pub fn min_nanos(&self) -> u64 {
        Self::extreme(self.counts.iter().position(|&c| c > 0), self.min)
    }

    /// Largest sample in nanoseconds (exact when known, clamped to the range), 0 when empty.
    pub fn max_nanos(&self) -> u64 {
        Self::extreme(self.counts.iter().rposition(|&c| c > 0), self.max)
    }

    /// The value at quantile `q` (0.0..=1.0, clamped; NaN reads as 0.0) in nanoseconds, by
    /// nearest rank: the smallest recorded value such that at least `q` of the samples are
    /// at or below it, within [`RELATIVE_ERROR`](crate::RELATIVE_ERROR). 0 when empty.
    pub fn quantile_nanos(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_of(i).clamp(self.min_nanos(), self.max_nanos());
            }
        }
        self.max_nanos()
    }

    /// Number of samples at or below `nanos`, to bucket resolution (a bucket counts when its
    /// midpoint is at or below `nanos`). Used for Prometheus `le` buckets.
    pub fn count_at_or_below(&self, nanos: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| value_of(*i) <= nanos)
            .map(|(_, c)| c)
            .sum()
    }

    /// [`count_at_or_below`](Self::count_at_or_below) for each of `bounds` (ascending), in
    /// one pass over the buckets.
    pub fn cumulative_counts(&self, bounds: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(bounds.len());
        let (mut seen, mut i) = (0u64, 0usize);
        for &bound in bounds {
            while i < self.counts.len() && value_of(i) <= bound {
                seen += self.counts[i];
                i += 1;
            }
            out.push(seen);
        }
        out
    }

    /// Non-empty buckets as `(value in nanoseconds, count)`, lowest first.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (value_of(i), c))
    }

    /// Non-empty buckets as `(index in the layout, count)`, lowest first: for tables keyed
    /// by the layout, which [`buckets`](Self::buckets) would make convert values back.
    pub(crate) fn filled(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (i, c))
    }

    /// Samples added since `earlier` (a snapshot of the same histogram taken before), as a
    /// snapshot. Used to forward deltas to other exporters.
    pub fn delta_since(&self, earlier: &Snapshot) -> Snapshot {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        Snapshot::from_parts(
            counts,
            self.sum.saturating_sub(earlier.sum),
            self.saturated.saturating_sub(earlier.saturated),
            u64::MAX,
            0,
        )
    }

    /// Standard deviation in nanoseconds, from the bucket values.
    pub(crate) fn stddev_nanos(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let mean = self.sum as f64 / self.count as f64;
        let var = self
            .buckets()
            .map(|(v, c)| {
                let d = v as f64 - mean;
                d * d * c as f64
            })
            .sum::<f64>()
            / self.count as f64;
        var.sqrt()
    }
}

/// The serialized form of a [`Snapshot`]: non-empty buckets only, as `[index, count]` pairs.
#[derive(Serialize, Deserialize)]
struct SparseSnapshot {
    version: u32,
    count: u64,
    sum_ns: u64,
    saturated: u64,
    min_ns: u64,
    max_ns: u64,
    buckets: Vec<(u32, u64)>,
}

impl From<Snapshot> for SparseSnapshot {
    fn from(s: Snapshot) -> Self {
        SparseSnapshot {
            version: 1,
            count: s.count,
            sum_ns: s.sum,
            saturated: s.saturated,
            min_ns: s.min_nanos(),
            max_ns: s.max_nanos(),
            buckets: s
                .counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(i, &c)| (i as u32, c))
                .collect(),
        }
    }
}

impl TryFrom<SparseSnapshot> for Snapshot {
    type Error = String;
    fn try_from(s: SparseSnapshot) -> Result<Self, String> {
        if s.version != 1 {
            return Err(format!(
                "histogram snapshot format version {} is not supported (this perf reads version 1)",
                s.version
            ));
        }
        let mut counts = vec![0u64; BUCKETS];
        for (i, c) in s.buckets {
            let slot = counts.get_mut(i as usize).ok_or_else(|| {
                format!("bucket index {i} is out of range (the layout has {BUCKETS} buckets)")
            })?;
            *slot += c;
        }
        let snap = Snapshot::from_parts(counts, s.sum_ns, s.saturated, s.min_ns, s.max_ns);
        if snap.count != s.count {
            return Err(format!(
                "count {} does not match the sum of bucket counts {}",
                s.count, snap.count
            ));
        }
        Ok(snap)
    }
}
