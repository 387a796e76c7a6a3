//! [`LatencyHistogram`]: a log-linear (HDR-style) latency histogram that any number of
//! threads record into without a lock and without writing a cache line another thread writes.

mod counts;
mod layout;
mod shard;
mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Mutex;
use std::time::Duration;

use thread_local::ThreadLocal;

pub(crate) use layout::BUCKETS;
use shard::{Shard, ShardTotals};
use snapshot::Baseline;

pub(crate) use counts::{buckets_at_or_below, Counts, CountsReader};
pub(crate) use layout::value_of;

pub use layout::{MAX_TRACKABLE_NANOS, RELATIVE_ERROR};
pub use snapshot::Snapshot;

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
/// * **Memory**: a histogram holds one shard per thread that has recorded into it (a shard
///   is handed on when its thread exits). A shard is a header of
///   [`LatencyHistogram::SHARD_BYTES`] plus a page of 64 32-bit counters (256 bytes) per
///   octave of values it has seen and 64 bytes per group of 8 such octaves: a thread that
///   records values between 1 µs and 1 ms holds about 3 KiB, one that records a single
///   value about 0.4 KiB. A counter that reaches 2³¹ spills into a 64-bit array (18.5 KiB
///   more, once). [`memory_bytes`](Self::memory_bytes) adds it up.
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
    /// Bytes of one shard's header (one shard per recording thread), before its counter
    /// pages.
    pub const SHARD_BYTES: usize = std::mem::size_of::<Shard>();

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
    // Forced: left to itself the compiler stops inlining it once the page lookup is added,
    // and the call then costs as much as the record.
    #[inline(always)]
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

    /// Bytes this histogram holds now (its shards with their pages and, after a reset, the
    /// baseline), not counting the allocator's own overhead.
    pub fn memory_bytes(&self) -> usize {
        let shards: usize = self.shards.iter().map(|s| s.bytes()).sum();
        let baseline = self
            .baseline
            .lock()
            .map(|b| b.as_ref().map_or(0, |b| b.counts.len() * 8))
            .unwrap_or(0);
        std::mem::size_of::<Self>() + shards + baseline
    }

    /// Adds every shard's counts into `counts` (only the pages some shard has allocated:
    /// the others stay as they were) and returns the merged totals, with `pages` the union
    /// of the shards' pages. `buf` is scratch space of `BUCKETS` entries.
    fn read_shards(&self, counts: &mut [u64], buf: &mut [u64]) -> ShardTotals {
        let epoch = self.epoch.load(Acquire);
        let mut all = ShardTotals {
            sum: 0,
            saturated: 0,
            min: u64::MAX,
            max: 0,
            epoch,
            pages: 0,
        };
        for shard in self.shards.iter() {
            let t = shard.read_into(counts, buf);
            all.sum = all.sum.saturating_add(t.sum);
            all.saturated += t.saturated;
            all.pages |= t.pages;
            if t.epoch == epoch {
                all.min = all.min.min(t.min);
                all.max = all.max.max(t.max);
            }
        }
        all
    }

    fn raw(&self) -> Snapshot {
        let mut counts = vec![0u64; BUCKETS];
        let t = self.read_shards(&mut counts, &mut vec![0u64; BUCKETS]);
        Snapshot::from_parts(counts, t.sum, t.saturated, t.min, t.max)
    }

    /// The counts of what [`snapshot`](Self::snapshot) returns, read into `reader`'s
    /// buffers: no allocation once they have grown, and only the pages some shard has are
    /// visited. For the exporter, which reads every histogram on every scrape.
    pub(crate) fn read_counts<'r>(&self, reader: &'r mut CountsReader) -> Counts<'r> {
        let baseline = self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        let (counts, buf) = reader.buffers();
        let t = self.read_shards(counts, buf);
        reader.finish(t.pages, t.sum, baseline.as_ref())
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

/// Records the first half of `values` on this thread and the rest on another (so `h` has two
/// shards); with `reset`, then resets and records the first half again, tripled.
#[cfg(test)]
pub(crate) fn record_on_two_threads(h: &LatencyHistogram, values: &[u64], reset: bool) {
    let (here, there) = values.split_at(values.len() / 2);
    here.iter().for_each(|&v| h.record_nanos(v));
    std::thread::scope(|s| {
        s.spawn(|| there.iter().for_each(|&v| h.record_nanos(v)));
    });
    if reset {
        h.reset();
        here.iter()
            .for_each(|&v| h.record_nanos(v.saturating_mul(3)));
    }
}

#[cfg(test)]
mod tests {
    use super::shard::SPILL_AT;
    use super::*;

    #[test]
    fn spill_keeps_exact_counts() {
        let h = LatencyHistogram::new();
        h.record_nanos(5);
        let shard = h.shards.get().unwrap();
        // Bring the counter to the spill point without 2^31 real records.
        shard.counter(5).store(SPILL_AT - 1, Relaxed);
        h.record_nanos(5);
        h.record_nanos(5);
        assert_eq!(h.count(), u64::from(SPILL_AT) + 1);
        assert!(shard.spill.get().is_some());
    }

    /// One reader, reused across histograms of every shape, gives the counts below any
    /// bounds that each one's dense snapshot gives: several shards, values of every magnitude and past the range, a
    /// spilled counter, a reset with records before and after it, an empty histogram.
    #[test]
    fn a_reused_counts_read_matches_the_snapshot() {
        // An LCG: its high bits are random enough to spread values over every magnitude.
        let mut x = 1u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x
        };
        let hists: Vec<LatencyHistogram> = (0..60).map(|_| LatencyHistogram::new()).collect();
        for (n, h) in hists.iter().enumerate() {
            let values: Vec<u64> = (0..n * 7).map(|_| next() >> (next() >> 58)).collect();
            record_on_two_threads(h, &values, n % 4 == 1);
            if n % 10 == 9 {
                let shard = h.shards.get().unwrap();
                shard.counter(99).store(SPILL_AT - 1, Relaxed);
                h.record_nanos(99);
                h.record_nanos(99);
            }
        }
        let mut reader = CountsReader::default();
        for h in hists.iter().chain([&LatencyHistogram::new()]) {
            let snap = h.snapshot();
            let bounds: Vec<u64> = (0..40).map(|k| next() >> (20 + k)).collect::<Vec<_>>();
            let mut bounds =
                [bounds, vec![0, 127, 128, 99, MAX_TRACKABLE_NANOS, u64::MAX]].concat();
            bounds.sort_unstable();
            let read = h.read_counts(&mut reader);
            let (mut seen, mut below) = (0, 0);
            let cumulative: Vec<u64> = bounds
                .iter()
                .map(|&b| {
                    let end = buckets_at_or_below(b);
                    seen += read.count_in(below..end);
                    below = end;
                    seen
                })
                .collect();
            assert_eq!(cumulative, snap.cumulative_counts(&bounds));
            assert_eq!(read.count_in(0..BUCKETS), snap.count());
            assert_eq!(read.count(), snap.count());
            assert_eq!(read.sum_nanos(), snap.sum_nanos());
        }
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
