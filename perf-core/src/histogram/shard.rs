//! [`Shard`]: one thread's counters of a histogram. Only its thread writes it, so recording is
//! plain loads and stores, inside a sequence lock so that a reader sees each sample whole.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};
use std::sync::OnceLock;

use super::layout::{index_of, BUCKETS, MAX_TRACKABLE_NANOS};

/// A per-bucket counter is 32 bits (half the memory of 64); when one reaches this value its
/// owner moves it into the shard's 64-bit spill array.
pub(super) const SPILL_AT: u32 = 1 << 31;

/// One thread's part of a histogram. Only the owning thread writes it, so a record is a
/// plain load and store on each counter: no locked instruction, no contention.
#[repr(align(128))]
pub(super) struct Shard {
    pub(super) counts: Box<[AtomicU32]>,
    /// 64-bit overflow of `counts`, allocated the first time a counter reaches `SPILL_AT`.
    pub(super) spill: OnceLock<Box<[AtomicU64]>>,
    /// Odd while the owner is recording a sample; see [`Shard::read_into`].
    seq: AtomicU64,
    pub(super) sum: AtomicU64,
    pub(super) saturated: AtomicU64,
    pub(super) min: AtomicU64,
    pub(super) max: AtomicU64,
    /// The histogram epoch `min`/`max` belong to (reset starts a new epoch).
    pub(super) epoch: AtomicU64,
}

impl Shard {
    pub(super) fn new(epoch: u64) -> Self {
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
    ///
    /// The owner is the only writer of `seq`, so the sequence lock costs a load and two plain
    /// stores (no read-modify-write); on x86 the fences only keep the compiler's order.
    #[inline(always)]
    pub(super) fn record(&self, nanos: u64, epoch: u64) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
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
        self.seq.store(s.wrapping_add(2), Release);
    }

    #[cold]
    fn spill(&self, i: usize, c: u32) {
        let spill = self
            .spill
            .get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
        spill[i].store(spill[i].load(Relaxed) + u64::from(c), Relaxed);
        self.counts[i].store(0, Relaxed);
    }

    /// Adds this shard's counts into `counts` and returns the rest of its state, all as of
    /// one moment between two records (sequence lock): a sample is seen whole or not at all.
    /// `buf` is scratch space of `BUCKETS` entries, reused across shards.
    pub(super) fn read_into(&self, counts: &mut [u64], buf: &mut [u64]) -> ShardTotals {
        let mut attempt = 0u32;
        let totals = loop {
            let s1 = self.seq.load(Acquire);
            if s1 % 2 == 0 {
                match self.spill.get() {
                    None => {
                        for (b, c) in buf.iter_mut().zip(self.counts.iter()) {
                            *b = u64::from(c.load(Relaxed));
                        }
                    }
                    Some(spill) => {
                        for ((b, c), s) in buf.iter_mut().zip(self.counts.iter()).zip(spill.iter())
                        {
                            *b = u64::from(c.load(Relaxed)) + s.load(Relaxed);
                        }
                    }
                }
                let totals = ShardTotals {
                    sum: self.sum.load(Relaxed),
                    saturated: self.saturated.load(Relaxed),
                    min: self.min.load(Relaxed),
                    max: self.max.load(Relaxed),
                    epoch: self.epoch.load(Relaxed),
                };
                fence(Acquire);
                if self.seq.load(Relaxed) == s1 {
                    break totals;
                }
            }
            // The owner records between our reads; it never waits for us, so we wait for a
            // gap between its records, yielding the core if the gaps stay shorter than a read.
            attempt += 1;
            if attempt < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        };
        for (o, b) in counts.iter_mut().zip(buf.iter()) {
            *o += b;
        }
        totals
    }
}

/// A shard's scalars, read in the same instant as its counts.
pub(super) struct ShardTotals {
    pub(super) sum: u64,
    pub(super) saturated: u64,
    pub(super) min: u64,
    pub(super) max: u64,
    /// The epoch `min` and `max` belong to.
    pub(super) epoch: u64,
}
