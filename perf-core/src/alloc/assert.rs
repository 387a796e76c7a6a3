//! [`assert_allocations!`](crate::assert_allocations): a test that fails when code
//! allocates more than it should. Its clauses: a statistic, a comparison, a limit.

use std::fmt;

use super::slot::{self, installed};
use super::stats::{count, AllocStats};

/// What an allocation clause constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocStat {
    /// [`AllocStats::allocs`].
    Allocs,
    /// [`AllocStats::deallocs`].
    Deallocs,
    /// [`AllocStats::reallocs`].
    Reallocs,
    /// [`AllocStats::bytes_allocated`].
    Bytes,
    /// [`AllocStats::bytes_freed`].
    BytesFreed,
    /// [`AllocStats::net`].
    Net,
    /// [`AllocStats::peak_live`].
    Peak,
}

impl AllocStat {
    /// The name written in clauses: `allocs`, `deallocs`, `reallocs`, `bytes`,
    /// `bytes_freed`, `net`, `peak`.
    pub fn name(self) -> &'static str {
        match self {
            AllocStat::Allocs => "allocs",
            AllocStat::Deallocs => "deallocs",
            AllocStat::Reallocs => "reallocs",
            AllocStat::Bytes => "bytes",
            AllocStat::BytesFreed => "bytes_freed",
            AllocStat::Net => "net",
            AllocStat::Peak => "peak",
        }
    }

    /// The measured value.
    pub fn of(self, s: &AllocStats) -> i128 {
        match self {
            AllocStat::Allocs => s.allocs.into(),
            AllocStat::Deallocs => s.deallocs.into(),
            AllocStat::Reallocs => s.reallocs.into(),
            AllocStat::Bytes => s.bytes_allocated.into(),
            AllocStat::BytesFreed => s.bytes_freed.into(),
            AllocStat::Net => s.net.into(),
            AllocStat::Peak => s.peak_live.into(),
        }
    }
}

/// `==`, `<=` or `<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocCmp {
    /// Exactly.
    Eq,
    /// At most.
    Le,
    /// Below.
    Lt,
}

/// A limit: any integer (`0`, `4096`, a `usize` length, an `i64`).
pub trait AllocLimit {
    /// As a wide signed integer, so every integer type compares exactly.
    fn to_i128(self) -> i128;
}

macro_rules! limit {
    ($($t:ty),*) => {$(
        impl AllocLimit for $t {
            fn to_i128(self) -> i128 {
                self as i128
            }
        }
    )*};
}
limit!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// One clause of [`assert_allocations!`](crate::assert_allocations): `allocs == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocClause {
    /// The statistic.
    pub stat: AllocStat,
    /// The comparison.
    pub cmp: AllocCmp,
    /// The limit.
    pub limit: i128,
}

impl AllocClause {
    /// `stat cmp limit`.
    pub fn new(stat: AllocStat, cmp: AllocCmp, limit: impl AllocLimit) -> Self {
        AllocClause {
            stat,
            cmp,
            limit: limit.to_i128(),
        }
    }

    /// Whether `s` satisfies the clause.
    pub fn holds(&self, s: &AllocStats) -> bool {
        let v = self.stat.of(s);
        match self.cmp {
            AllocCmp::Eq => v == self.limit,
            AllocCmp::Le => v <= self.limit,
            AllocCmp::Lt => v < self.limit,
        }
    }
}

impl fmt::Display for AllocClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.cmp {
            AllocCmp::Eq => "==",
            AllocCmp::Le => "<=",
            AllocCmp::Lt => "<",
        };
        write!(f, "{} {op} {}", self.stat.name(), self.limit)
    }
}

/// How to make the assertions judge: the text of the failure when `Counting` is missing.
pub(crate) const INSTALL: &str = "perf's counting allocator is not the global allocator, so \
allocations cannot be counted. Install it in the test binary (an integration test file, or \
the crate root of the binary under test):\n\n    #[global_allocator]\n    static ALLOC: \
perf::alloc::Counting = perf::alloc::Counting::system();\n\n(`perf_core::alloc::Counting` \
without the facade.)";

/// Why an allocation assertion could not judge, or what failed.
pub(crate) fn judge(clauses: &[AllocClause], stats: &AllocStats) -> Result<(), String> {
    let failed: Vec<String> = clauses
        .iter()
        .filter(|c| !c.holds(stats))
        .map(|c| format!("  {c}: measured {}", c.stat.of(stats)))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "allocation assertion failed:\n{}\nmeasured: {stats}",
        failed.join("\n")
    ))
}

/// What [`assert_allocations!`](crate::assert_allocations) expands to: refuses to judge
/// without `Counting` or on a thread without counters of its own, runs `f` once, checks
/// every clause, and returns the stats.
#[doc(hidden)]
#[track_caller]
pub fn __assert<R>(f: impl FnOnce() -> R, clauses: &[AllocClause]) -> AllocStats {
    if !installed() {
        panic!("{INSTALL}");
    }
    if slot::mine().is_shared() {
        panic!(
            "this thread has no allocation counters of its own (more than {} threads are \
             alive): its counts would include other threads'. Assert on fewer threads.",
            slot::SLOTS
        );
    }
    let (r, stats) = count(f);
    drop(r);
    if let Err(msg) = judge(clauses, &stats) {
        panic!("{msg}");
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_judge_and_say_what_failed() {
        let s = AllocStats {
            allocs: 2,
            bytes_allocated: 100,
            bytes_freed: 100,
            deallocs: 2,
            ..AllocStats::default()
        };
        let ok = [
            AllocClause::new(AllocStat::Allocs, AllocCmp::Le, 2),
            AllocClause::new(AllocStat::Net, AllocCmp::Eq, 0),
        ];
        assert_eq!(judge(&ok, &s), Ok(()));
        let bad = [
            AllocClause::new(AllocStat::Allocs, AllocCmp::Eq, 0),
            AllocClause::new(AllocStat::Bytes, AllocCmp::Lt, 100usize),
        ];
        assert_eq!(
            judge(&bad, &s).unwrap_err(),
            "allocation assertion failed:\n  allocs == 0: measured 2\n  bytes < 100: measured \
             100\nmeasured: allocs=2 deallocs=2 reallocs=0 bytes=100 bytes_freed=100 net=0 peak=0"
        );
    }
}
