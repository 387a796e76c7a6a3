//! [`assert_no_growth!`](super::assert_no_growth): a soak check that fails when the heap
//! grows with every iteration of some work (a leak), and not when it grows for a while and
//! then stays flat (a cache warming up).

use std::fmt;

use super::assert::INSTALL;
use super::slot::{self, installed};
use super::stats::count;

/// How many checkpoints the run is cut into; the second half of them is judged.
const CHECKPOINTS: u64 = 10;

/// The growth check behind [`assert_no_growth!`](super::assert_no_growth): the work runs
/// `iterations` times on this thread, the bytes it left allocated (its `net`) are read at
/// 10 evenly spaced checkpoints, and the growth rate is fitted (least squares) over the
/// second half, after the warm-up. The check fails when that rate exceeds `tolerance`
/// bytes per iteration.
///
/// Why the second half: a cache that fills during the first half is flat there; and a
/// leak through a doubling `Vec` grows at least once in any second half of a run, since
/// between `n/2` and `n` elements there is always a power of two.
///
/// Counts the calling thread only (memory the work hands to another thread, which frees
/// it, looks like a leak here).
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// use perf_core::alloc::GrowthCheck;
/// let mut leak: Vec<[u8; 16]> = Vec::new();
/// let report = GrowthCheck::new().iterations(1000).run(|| leak.push([0; 16]));
/// assert!(report.bytes_per_iteration > 8.0, "{report}");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct GrowthCheck {
    iterations: u64,
    tolerance: f64,
}

impl Default for GrowthCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl GrowthCheck {
    /// 10 000 iterations, a tolerance of 1 byte per iteration.
    pub fn new() -> Self {
        GrowthCheck {
            iterations: 10_000,
            tolerance: 1.0,
        }
    }

    /// How many times the work runs (at least 10: one per checkpoint).
    pub fn iterations(mut self, n: u64) -> Self {
        self.iterations = n.max(CHECKPOINTS);
        self
    }

    /// The growth allowed, in bytes per iteration (any number: a NaN allows none).
    pub fn tolerance(mut self, bytes_per_iteration: f64) -> Self {
        self.tolerance = bytes_per_iteration;
        self
    }

    /// Runs the work and measures its growth.
    pub fn run(&self, mut work: impl FnMut()) -> Growth {
        let per = self.iterations / CHECKPOINTS;
        let mut net = 0i64;
        let mut points = Vec::with_capacity(CHECKPOINTS as usize);
        for i in 1..=CHECKPOINTS {
            let ((), s) = count(|| (0..per).for_each(|_| work()));
            net = net.saturating_add(s.net);
            points.push(((i * per) as f64, net as f64));
        }
        let judged = &points[points.len() / 2 - 1..];
        Growth {
            iterations: per * CHECKPOINTS,
            bytes_per_iteration: slope(judged),
            net,
            tolerance: self.tolerance,
            checkpoints: points.iter().map(|&(_, n)| n as i64).collect(),
        }
    }
}

/// The least-squares slope of `points`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), p| {
        (num + (p.0 - mx) * (p.1 - my), den + (p.0 - mx) * (p.0 - mx))
    });
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// What a [`GrowthCheck`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    /// Iterations run (a multiple of 10).
    pub iterations: u64,
    /// The fitted growth over the second half, in bytes per iteration.
    pub bytes_per_iteration: f64,
    /// Bytes left allocated by all iterations.
    pub net: i64,
    /// The growth allowed.
    pub tolerance: f64,
    /// Bytes left allocated at each of the 10 checkpoints.
    pub checkpoints: Vec<i64>,
}

impl Growth {
    /// Whether the growth is within the tolerance.
    pub fn passed(&self) -> bool {
        self.bytes_per_iteration <= self.tolerance
    }
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the heap grows by {:.2} bytes per iteration over the second half of {} \
             iterations (tolerance {}); bytes left allocated at each tenth: {:?}",
            self.bytes_per_iteration, self.iterations, self.tolerance, self.checkpoints
        )
    }
}

/// What [`assert_no_growth!`](super::assert_no_growth) expands to.
#[doc(hidden)]
#[track_caller]
pub fn __assert_no_growth(check: GrowthCheck, work: impl FnMut()) -> Growth {
    if !installed() {
        panic!("{INSTALL}");
    }
    if slot::mine().is_shared() {
        panic!("this thread has no allocation counters of its own: assert on fewer threads");
    }
    let growth = check.run(work);
    if !growth.passed() {
        panic!("memory growth: {growth}");
    }
    growth
}

/// Runs a closure many times and fails when the bytes it leaves allocated grow linearly
/// with the iterations: a leak, not a cache that warms up and then stays flat. Options:
/// `iterations = N` (default 10 000) and `tolerance = bytes per iteration` (default 1.0).
/// See [`GrowthCheck`] for how it judges. Evaluates to the [`Growth`] it measured.
///
/// # Panics
/// When the growth exceeds the tolerance, with the rate and the checkpoints; at once when
/// [`Counting`](crate::alloc::Counting) is not the global allocator.
///
/// ```
/// #[global_allocator]
/// static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
///
/// let mut cache = std::collections::HashMap::new();
/// let mut i = 0u64;
/// perf_core::alloc::assert_no_growth!(|| {
///     i += 1;
///     cache.entry(i % 100).or_insert_with(|| vec![0u8; 64]);
/// }, iterations = 10_000, tolerance = 0.5);
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __perf_assert_no_growth {
    ($work:expr $(, $opt:ident = $val:expr)* $(,)?) => {
        $crate::alloc::__assert_no_growth(
            $crate::alloc::GrowthCheck::new() $(.$opt($val))*,
            $work,
        )
    };
}
