//! [`Shard`]: one thread's counters of a histogram. Only its thread writes it, so recording is
//! plain loads and stores; a 32-bit counter about to overflow spills under a sequence lock.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};
use std::sync::OnceLock;

use super::layout::{index_of, BUCKETS, MAX_TRACKABLE_NANOS};

/// A per-bucket counter is 32 bits (half the memory of 64); when one reaches this value its
/// owner moves it into the shard's 64-bit spill array under the shard's sequence lock.
pub(super) const SPILL_AT: u32 = 1 << 31;

/// One thread's part of a histogram. Only the owning thread writes it, so a record is a
/// plain load and store on each counter: no locked instruction, no contention.
#[repr(align(128))]
pub(super) struct Shard {
    pub(super) counts: Box<[AtomicU32]>,
    /// 64-bit overflow of `counts`, allocated the first time a counter reaches `SPILL_AT`.
    pub(super) spill: OnceLock<Box<[AtomicU64]>>,
    /// Even when no spill is in progress; see [`Shard::read_into`].
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
    #[inline(always)]
    pub(super) fn record(&self, nanos: u64, epoch: u64) {
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
    pub(super) fn read_into(&self, out: &mut [u64]) {
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
