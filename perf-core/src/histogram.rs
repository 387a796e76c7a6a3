//! [`LatencyHistogram`]: a log-linear (HDR-style) latency histogram that any number of
//! threads record into without a lock and without writing a cache line another thread writes.

use std::fmt;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thread_local::ThreadLocal;

/// Sub-buckets per power of two in the lower half of the layout: values below
/// `2^SUB_BITS` are stored exactly; above, each octave `[2^k, 2^(k+1))` is cut into
/// `2^(SUB_BITS-1)` = 64 equal buckets.
const SUB_BITS: u32 = 7;
const HALF: usize = 1 << (SUB_BITS - 1);
/// Largest value (in nanoseconds) the histogram tracks: `2^42 - 1` ns, about 73 minutes.
/// Larger values are clamped to it and counted as saturated.
pub const MAX_TRACKABLE_NANOS: u64 = (1 << 42) - 1;
/// Number of buckets in one shard.
pub(crate) const BUCKETS: usize = index_of(MAX_TRACKABLE_NANOS) + 1;
/// Largest relative error of any value read back from the histogram: a bucket spans at most
/// 1/64 of its lower bound and values are read back at the bucket's midpoint.
pub const RELATIVE_ERROR: f64 = 1.0 / 128.0;

/// A per-bucket counter is 32 bits (half the memory of 64); when one reaches this value its
/// owner moves it into the shard's 64-bit spill array under the shard's sequence lock.
const SPILL_AT: u32 = 1 << 31;

/// Index of the bucket holding `v` nanoseconds (`v <= MAX_TRACKABLE_NANOS`).
#[inline(always)]
pub(crate) const fn index_of(v: u64) -> usize {
    if v < (1 << SUB_BITS) {
        v as usize
    } else {
        let msb = 63 - v.leading_zeros();
        let shift = msb - (SUB_BITS - 1);
        ((shift as usize) << (SUB_BITS - 1)) + (v >> shift) as usize
    }
}

/// Lowest value and width of bucket `i`.
#[inline]
pub(crate) const fn bounds_of(i: usize) -> (u64, u64) {
    if i < (1 << SUB_BITS) {
        (i as u64, 1)
    } else {
        let shift = (i >> (SUB_BITS - 1)) as u32 - 1;
        let sub = (i & (HALF - 1)) + HALF;
        ((sub as u64) << shift, 1 << shift)
    }
}

/// The value a sample in bucket `i` is read back as: the bucket's midpoint.
#[inline]
pub(crate) const fn value_of(i: usize) -> u64 {
    let (lo, width) = bounds_of(i);
    lo + (width - 1) / 2
}

/// One thread's part of a histogram. Only the owning thread writes it, so a record is a
/// plain load and store on each counter: no locked instruction, no contention.
#[repr(align(128))]
struct Shard {
    counts: Box<[AtomicU32]>,
    /// 64-bit overflow of `counts`, allocated the first time a counter reaches `SPILL_AT`.
    spill: OnceLock<Box<[AtomicU64]>>,
    /// Even when no spill is in progress; see [`Shard::read`].
    seq: AtomicU64,
    sum: AtomicU64,
    saturated: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    /// The histogram epoch `min`/`max` belong to (reset starts a new epoch).
    epoch: AtomicU64,
}

impl Shard {
    fn new(epoch: u64) -> Self {
        Shard {
            counts: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            spill: OnceLock::new(),
            seq: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            epoch: AtomicU64::new(epoch),
        }
    }

    /// Called only by the owning thread.
    #[inline(always)]
    fn record(&self, nanos: u64, epoch: u64) {
        let v = if nanos > MAX_TRACKABLE_NANOS {
            self.saturated
                .store(self.saturated.load(Relaxed) + 1, Relaxed);
            MAX_TRACKABLE_NANOS
        } else {
            nanos
        };
        let i = index_of(v);
        let c = self.counts[i].load(Relaxed) + 1;
        if c < SPILL_AT {
            self.counts[i].store(c, Relaxed);
        } else {
            self.spill(i, c);
        }
        self.sum
            .store(self.sum.load(Relaxed).saturating_add(nanos), Relaxed);
        if self.epoch.load(Relaxed) != epoch {
            self.epoch.store(epoch, Relaxed);
            self.min.store(v, Relaxed);
            self.max.store(v, Relaxed);
        } else {
            if v < self.min.load(Relaxed) {
                self.min.store(v, Relaxed);
            }
            if v > self.max.load(Relaxed) {
                self.max.store(v, Relaxed);
            }
        }
    }

    #[cold]
    fn spill(&self, i: usize, c: u32) {
        let spill = self
            .spill
            .get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
        let s = self.seq.load(Relaxed);
        self.seq.store(s + 1, Relaxed);
        fence(Release);
        spill[i].store(spill[i].load(Relaxed) + u64::from(c), Relaxed);
        self.counts[i].store(0, Relaxed);
        self.seq.store(s + 2, Release);
    }

    /// Adds this shard's counts into `out`. A spill in progress is waited out (seqlock), so a
    /// count is never seen twice or not at all.
    fn read_into(&self, out: &mut [u64]) {
        let Some(spill) = self.spill.get() else {
            for (o, c) in out.iter_mut().zip(self.counts.iter()) {
                *o += u64::from(c.load(Relaxed));
            }
            return;
        };
        let mut buf = vec![0u64; BUCKETS];
        loop {
            let s1 = self.seq.load(Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            for (i, b) in buf.iter_mut().enumerate() {
                *b = u64::from(self.counts[i].load(Relaxed)) + spill[i].load(Relaxed);
            }
            fence(Acquire);
            if self.seq.load(Relaxed) == s1 {
                break;
            }
        }
        for (o, b) in out.iter_mut().zip(buf) {
            *o += b;
        }
    }
}

/// What a histogram subtracts from its shards after [`LatencyHistogram::reset`].
#[derive(Default)]
struct Baseline {
    counts: Vec<u64>,
    sum: u64,
    saturated: u64,
}

/// A latency histogram that many threads record into at once.
///
/// Each recording thread gets its own shard (created on its first record; a shard is handed
/// on to the next thread when its thread exits), so recording is a few plain loads and
/// stores into memory no other thread writes: no lock, no atomic read-modify-write, no
/// shared cache line. Reads ([`snapshot`](Self::snapshot), [`summary`](Self::summary))
/// merge the shards.
///
/// * **Range**: 0 ns to [`MAX_TRACKABLE_NANOS`] (about 73 minutes). A larger value is
///   clamped to the maximum and counted as saturated, never dropped.
/// * **Error**: every value read back (quantiles, min, max) is within
///   [`RELATIVE_ERROR`] (0.78%) of a recorded value of that rank; values below 128 ns are
///   exact. Counts and the sum are exact.
/// * **Memory**: one shard is 2,368 32-bit counters plus a header, 9.6 KiB
///   ([`LatencyHistogram::SHARD_BYTES`]). A histogram holds one shard per live thread that has
///   recorded into it: about 19 KiB when two threads record, 9.6 KiB more per extra thread.
///   A counter that reaches 2³¹ spills into a 64-bit array (18.5 KiB more, once).
///
/// ```
/// use std::time::Duration;
/// use perf_core::LatencyHistogram;
///
/// let h = LatencyHistogram::new();
/// for ms in 1..=100 {
///     h.record(Duration::from_millis(ms));
/// }
/// let s = h.summary();
/// assert_eq!(s.count, 100);
/// assert!((s.p50.as_secs_f64() - 0.050).abs() < 0.050 * 0.01);
/// ```
pub struct LatencyHistogram {
    shards: ThreadLocal<Box<Shard>>,
    epoch: AtomicU64,
    baseline: Mutex<Option<Baseline>>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// Bytes of one shard (one per recording thread).
    pub const SHARD_BYTES: usize = BUCKETS * 4 + std::mem::size_of::<Shard>();

    /// An empty histogram. `const`, so it can live in a `static`.
    pub const fn new() -> Self {
        LatencyHistogram {
            shards: ThreadLocal::new(),
            epoch: AtomicU64::new(0),
            baseline: Mutex::new(None),
        }
    }

    /// Records one sample. Never fails: durations above the range are clamped and counted
    /// as saturated.
    #[inline]
    pub fn record(&self, d: Duration) {
        self.record_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one sample given in nanoseconds.
    #[inline]
    pub fn record_nanos(&self, nanos: u64) {
        let epoch = self.epoch.load(Relaxed);
        self.shards
            .get_or(|| Box::new(Shard::new(epoch)))
            .record(nanos, epoch);
    }

    /// Forgets every sample recorded so far. Recording may go on concurrently: a sample
    /// recorded while `reset` runs is kept or dropped as a whole, never half.
    pub fn reset(&self) {
        let mut baseline = self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        let raw = self.raw();
        self.epoch.fetch_add(1, AcqRel);
        *baseline = Some(Baseline {
            counts: raw.counts,
            sum: raw.sum,
            saturated: raw.saturated,
        });
    }

    /// Bytes this histogram holds now (its shards and, after a reset, the baseline).
    pub fn memory_bytes(&self) -> usize {
        let shards = self.shards.iter().count();
        let spilled = self
            .shards
            .iter()
            .filter(|s| s.spill.get().is_some())
            .count();
        let baseline = self
            .baseline
            .lock()
            .map(|b| b.as_ref().map_or(0, |b| b.counts.len() * 8))
            .unwrap_or(0);
        std::mem::size_of::<Self>() + shards * Self::SHARD_BYTES + spilled * BUCKETS * 8 + baseline
    }

    fn raw(&self) -> Snapshot {
        let mut counts = vec![0u64; BUCKETS];
        let (mut sum, mut saturated) = (0u64, 0u64);
        let epoch = self.epoch.load(Acquire);
        let (mut min, mut max) = (u64::MAX, 0u64);
        for shard in self.shards.iter() {
            shard.read_into(&mut counts);
            sum = sum.saturating_add(shard.sum.load(Relaxed));
            saturated += shard.saturated.load(Relaxed);
            if shard.epoch.load(Relaxed) == epoch {
                min = min.min(shard.min.load(Relaxed));
                max = max.max(shard.max.load(Relaxed));
            }
        }
        Snapshot::from_parts(counts, sum, saturated, min, max)
    }

    /// A point-in-time copy of the distribution, which can be merged with others,
    /// serialized, or summarised.
    pub fn snapshot(&self) -> Snapshot {
        let baseline = self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        let mut snap = self.raw();
        if let Some(b) = baseline.as_ref() {
            snap.subtract(b);
        }
        snap
    }

    /// Number of samples recorded (exact).
    pub fn count(&self) -> u64 {
        self.snapshot().count()
    }
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
    counts: Vec<u64>,
    count: u64,
    sum: u64,
    saturated: u64,
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
    fn from_parts(counts: Vec<u64>, sum: u64, saturated: u64, min: u64, max: u64) -> Self {
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

    fn subtract(&mut self, b: &Baseline) {
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

    /// Number of samples that were above [`MAX_TRACKABLE_NANOS`] and were clamped.
    pub fn saturated(&self) -> u64 {
        self.saturated
    }

    fn first_nonzero(&self) -> Option<usize> {
        self.counts.iter().position(|&c| c > 0)
    }

    fn last_nonzero(&self) -> Option<usize> {
        self.counts.iter().rposition(|&c| c > 0)
    }

    /// Smallest sample in nanoseconds (exact when recorded since the last reset, else
    /// within the bucket error), 0 when empty.
    pub fn min_nanos(&self) -> u64 {
        match self.first_nonzero() {
            None => 0,
            Some(i) => {
                let (lo, w) = bounds_of(i);
                if self.min >= lo && self.min < lo + w {
                    self.min
                } else {
                    value_of(i)
                }
            }
        }
    }

    /// Largest sample in nanoseconds (exact when known, clamped to the range), 0 when empty.
    pub fn max_nanos(&self) -> u64 {
        match self.last_nonzero() {
            None => 0,
            Some(i) => {
                let (lo, w) = bounds_of(i);
                if self.max >= lo && self.max < lo + w {
                    self.max
                } else {
                    value_of(i)
                }
            }
        }
    }

    /// The value at quantile `q` (0.0..=1.0, clamped; NaN reads as 0.0) in nanoseconds, by
    /// nearest rank: the smallest recorded value such that at least `q` of the samples are
    /// at or below it, within [`RELATIVE_ERROR`]. 0 when empty.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_contiguous_and_bounded() {
        assert_eq!(BUCKETS, 2368);
        let mut prev_end = 0;
        for i in 0..BUCKETS {
            let (lo, w) = bounds_of(i);
            assert_eq!(lo, prev_end, "bucket {i}");
            assert_eq!(index_of(lo), i);
            assert_eq!(index_of(lo + w - 1), i);
            if lo > 0 {
                assert!((w as f64 - 1.0) / 2.0 / lo as f64 <= RELATIVE_ERROR);
            }
            prev_end = lo + w;
        }
        assert_eq!(prev_end, MAX_TRACKABLE_NANOS + 1);
    }

    #[test]
    fn spill_keeps_exact_counts() {
        let h = LatencyHistogram::new();
        h.record_nanos(5);
        let shard = h.shards.get().unwrap();
        // Bring the counter to the spill point without 2^31 real records.
        shard.counts[5].store(SPILL_AT - 1, Relaxed);
        h.record_nanos(5);
        h.record_nanos(5);
        assert_eq!(h.count(), u64::from(SPILL_AT) + 1);
        assert!(shard.spill.get().is_some());
    }

    #[test]
    fn reset_forgets_and_keeps_recording() {
        let h = LatencyHistogram::new();
        h.record_nanos(1_000_000);
        h.reset();
        assert_eq!(h.count(), 0);
        h.record_nanos(200);
        let s = h.summary();
        assert_eq!(s.count, 1);
        assert_eq!(s.max, Duration::from_nanos(200));
        assert_eq!(s.min, Duration::from_nanos(200));
    }

    #[test]
    fn serde_roundtrip_and_rejects_bad_input() {
        let h = LatencyHistogram::new();
        for v in [0, 1, 500, 70_000, MAX_TRACKABLE_NANOS + 5] {
            h.record_nanos(v);
        }
        let s = h.snapshot();
        let json = serde_json::to_string(&s).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back.count(), 5);
        assert_eq!(back.saturated(), 1);
        assert_eq!(back.summary(), s.summary());
        let bad = json.replace("\"count\":5", "\"count\":6");
        assert!(serde_json::from_str::<Snapshot>(&bad).is_err());
        assert!(serde_json::from_str::<Snapshot>("{\"version\":9}").is_err());
    }
}
