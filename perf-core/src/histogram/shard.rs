//! [`Shard`]: one thread's counters of a histogram. Only its thread writes it, so recording is
//! plain loads and stores, inside a sequence lock so that a reader sees each sample whole.
//! Counters live in pages of one octave, allocated when a value first lands in them, so a
//! thread that records a few values holds a few hundred bytes, not the whole layout.

use std::ops::Range;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};

use once_cell::race::OnceBox;

use super::layout::{index_of, BUCKETS, MAX_TRACKABLE_NANOS};

/// A per-bucket counter is 32 bits (half the memory of 64); when one reaches this value its
/// owner moves it into the shard's 64-bit spill array.
pub(super) const SPILL_AT: u32 = 1 << 31;

/// Buckets per page: one octave of the layout, so values of one order of magnitude share a
/// page.
const PAGE: usize = 64;
const PAGES: usize = BUCKETS / PAGE;
/// Pages per group: the shard holds 5 group pointers instead of 37 page pointers, which
/// keeps an idle shard small at the price of one more (cached) pointer load per record.
const GROUP: usize = 8;
const GROUPS: usize = PAGES.div_ceil(GROUP);
const _: () = assert!(PAGES * PAGE == BUCKETS && PAGES <= 64);

/// The parts of `buckets` that lie in the pages set in `pages` (a mask with bit `p` for page
/// `p`), lowest first.
pub(super) fn in_pages(pages: u64, buckets: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    (buckets.start / PAGE..buckets.end.div_ceil(PAGE).min(PAGES))
        .filter(move |p| pages & (1 << p) != 0)
        .map(move |p| (p * PAGE).max(buckets.start)..((p + 1) * PAGE).min(buckets.end))
}

type Page = [AtomicU32; PAGE];
type Group = [OnceBox<Page>; GROUP];

/// One thread's part of a histogram. Only the owning thread writes it, so a record is a
/// plain load and store on each counter: no locked instruction, no contention.
pub(super) struct Shard {
    /// Odd while the owner is recording a sample; see [`Shard::read_into`].
    seq: AtomicU64,
    sum: AtomicU64,
    saturated: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    /// The histogram epoch `min`/`max` belong to (reset starts a new epoch).
    epoch: AtomicU64,
    groups: [OnceBox<Group>; GROUPS],
    /// 64-bit overflow of the counters, allocated the first time one reaches `SPILL_AT`.
    pub(super) spill: OnceBox<[AtomicU64; BUCKETS]>,
}

impl Shard {
    pub(super) fn new(epoch: u64) -> Self {
        Shard {
            seq: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            epoch: AtomicU64::new(epoch),
            groups: [const { OnceBox::new() }; GROUPS],
            spill: OnceBox::new(),
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
        let counter = self.counter(i);
        let c = counter.load(Relaxed) + 1;
        if c < SPILL_AT {
            counter.store(c, Relaxed);
        } else {
            self.spill(i, counter, c);
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

    /// The counter of bucket `i`, its page allocated on first use (owner only).
    #[inline(always)]
    pub(super) fn counter(&self, i: usize) -> &AtomicU32 {
        // `i < BUCKETS` already; the clamp tells the compiler, so no bounds check is left.
        let p = (i / PAGE).min(PAGES - 1);
        let page = match self.page(p) {
            Some(page) => page,
            None => self.add_page(p),
        };
        &page[i % PAGE]
    }

    #[inline(always)]
    fn page(&self, p: usize) -> Option<&Page> {
        self.groups[p / GROUP].get()?[p % GROUP].get()
    }

    #[cold]
    #[inline(never)]
    fn add_page(&self, p: usize) -> &Page {
        let group =
            self.groups[p / GROUP].get_or_init(|| Box::new([const { OnceBox::new() }; GROUP]));
        group[p % GROUP].get_or_init(|| Box::new([const { AtomicU32::new(0) }; PAGE]))
    }

    #[cold]
    fn spill(&self, i: usize, counter: &AtomicU32, c: u32) {
        let spill = self
            .spill
            .get_or_init(|| Box::new([const { AtomicU64::new(0) }; BUCKETS]));
        spill[i].store(spill[i].load(Relaxed) + u64::from(c), Relaxed);
        counter.store(0, Relaxed);
    }

    /// Bytes this shard holds: itself, its groups and pages, and its spill array if any.
    pub(super) fn bytes(&self) -> usize {
        let groups = self.groups.iter().filter(|g| g.get().is_some()).count();
        let pages = (0..PAGES).filter(|&p| self.page(p).is_some()).count();
        let spill = self.spill.get().map_or(0, |_| BUCKETS * 8);
        std::mem::size_of::<Self>()
            + groups * std::mem::size_of::<Group>()
            + pages * std::mem::size_of::<Page>()
            + spill
    }

    /// Adds this shard's counts into `counts` and returns the rest of its state, all as of
    /// one moment between two records (sequence lock): a sample is seen whole or not at all.
    /// `buf` is scratch space of `BUCKETS` entries, reused across shards; only the pages the
    /// shard has allocated are read.
    pub(super) fn read_into(&self, counts: &mut [u64], buf: &mut [u64]) -> ShardTotals {
        let mut attempt = 0u32;
        let totals = loop {
            let s1 = self.seq.load(Acquire);
            if s1 % 2 == 0 {
                let mut pages = 0u64;
                for p in 0..PAGES {
                    let Some(page) = self.page(p) else { continue };
                    pages |= 1 << p;
                    for (b, c) in buf[p * PAGE..][..PAGE].iter_mut().zip(page) {
                        *b = u64::from(c.load(Relaxed));
                    }
                }
                if let Some(spill) = self.spill.get() {
                    for (b, s) in buf.iter_mut().zip(spill) {
                        *b += s.load(Relaxed);
                    }
                }
                let totals = ShardTotals {
                    sum: self.sum.load(Relaxed),
                    saturated: self.saturated.load(Relaxed),
                    min: self.min.load(Relaxed),
                    max: self.max.load(Relaxed),
                    epoch: self.epoch.load(Relaxed),
                    pages,
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
        // A spilled count sits in an allocated page's bucket, so only those pages are added.
        for range in in_pages(totals.pages, 0..BUCKETS) {
            for (o, b) in counts[range.clone()].iter_mut().zip(&buf[range]) {
                *o += b;
            }
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
    /// The pages the shard has allocated, bit `p` for page `p`: its other counts are 0.
    pub(super) pages: u64,
}
