//! The bucket layout every shard and snapshot shares: log-linear buckets, exact below 128 ns,
//! 64 per power of two above, so any value reads back within [`RELATIVE_ERROR`].

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
}
