//! [`CountsReader`]: buffers that a histogram's bucket counts are read into, kept from one
//! read to the next, and [`Counts`], the read: the count, the sum and the number of samples
//! below any bucket boundary. The exporter reads every histogram on every scrape and needs
//! only these: no dense copy to allocate, zero and scan per histogram.

use super::layout::{value_of, BUCKETS};
use super::shard::in_pages;
use super::snapshot::Baseline;

/// Scratch space for [`LatencyHistogram::read_counts`](super::LatencyHistogram::read_counts),
/// reused across histograms and scrapes.
#[derive(Default)]
pub(crate) struct CountsReader {
    /// Dense counts the shards are added into; 0 outside the pages in `pages`.
    counts: Vec<u64>,
    /// A shard's pages as read inside its sequence lock, before they are added.
    buf: Vec<u64>,
    /// The pages the last read added into (bit `p` for page `p`).
    pages: u64,
}

/// One histogram's counts, as [`Snapshot`](crate::Snapshot) gives them, borrowed from a
/// [`CountsReader`].
pub(crate) struct Counts<'r> {
    counts: &'r [u64],
    pages: u64,
    count: u64,
    sum: u64,
}

/// The number of buckets whose value is at or below `nanos`: the bucket indexes
/// [`Counts::count_in`] sums up to for `nanos` as an upper bound.
pub(crate) fn buckets_at_or_below(nanos: u64) -> usize {
    let mut ends = 0..BUCKETS;
    // `value_of` grows with the index: find the first bucket above `nanos`.
    while !ends.is_empty() {
        let mid = ends.start + ends.len() / 2;
        if value_of(mid) <= nanos {
            ends.start = mid + 1;
        } else {
            ends.end = mid;
        }
    }
    ends.start
}

impl CountsReader {
    /// The dense counts, all 0, and the scratch buffer, both `BUCKETS` long.
    pub(super) fn buffers(&mut self) -> (&mut [u64], &mut [u64]) {
        if self.counts.len() != BUCKETS {
            self.counts = vec![0; BUCKETS];
            self.buf = vec![0; BUCKETS];
        }
        for range in in_pages(std::mem::take(&mut self.pages), 0..BUCKETS) {
            self.counts[range].fill(0);
        }
        (&mut self.counts, &mut self.buf)
    }

    /// The read, once the shards' `pages` were added into the counts: `baseline`'s counts
    /// and sum taken off.
    pub(super) fn finish(
        &mut self,
        pages: u64,
        sum: u64,
        baseline: Option<&Baseline>,
    ) -> Counts<'_> {
        self.pages = pages;
        let mut count = 0u64;
        for range in in_pages(pages, 0..BUCKETS) {
            let page = &mut self.counts[range.clone()];
            if let Some(b) = baseline {
                for (c, old) in page.iter_mut().zip(&b.counts[range]) {
                    *c = c.saturating_sub(*old);
                }
            }
            count += page.iter().sum::<u64>();
        }
        Counts {
            counts: &self.counts,
            pages,
            count,
            sum: baseline.map_or(sum, |b| sum.saturating_sub(b.sum)),
        }
    }
}

impl Counts<'_> {
    /// Number of samples.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the samples in nanoseconds.
    pub(crate) fn sum_nanos(&self) -> u64 {
        self.sum
    }

    /// Samples in the buckets `buckets` (indexes from [`buckets_at_or_below`]): only the
    /// pages that were read are summed, the others hold no samples.
    pub(crate) fn count_in(&self, buckets: std::ops::Range<usize>) -> u64 {
        in_pages(self.pages, buckets)
            .map(|range| self.counts[range].iter().sum::<u64>())
            .sum()
    }
}
