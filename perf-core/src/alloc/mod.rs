//! Memory: a counting global allocator ([`Counting`]), what code allocates ([`count`],
//! [`count_async`], [`assert_allocations!`](crate::assert_allocations)), leak checks for
//! soak tests ([`assert_no_growth!`]) and the process's heap ([`heap`]). With `Counting`
//! installed, every `#[timed]` call also records its allocations.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: perf_core::alloc::Counting = perf_core::alloc::Counting::system();
//!
//! let (_, stats) = perf_core::alloc::count(|| vec![0u8; 1024]);
//! assert_eq!(stats.bytes_allocated, 1024);
//! ```
//!
//! # How it counts
//! Each thread counts into a cache line of its own in a static table (`slot.rs`), with plain
//! loads and stores: no atomic read-modify-write, no lock, no allocation, no panic. The
//! thread-locals involved are `const`-initialised; the only one with a destructor (which
//! hands the line back when the thread exits) is registered after the line is in place, so
//! an allocation made while registering it is counted on that line rather than re-entering
//! the registration. After the hand-back, a thread's last allocations (other thread-locals'
//! destructors) and the threads beyond the 1024th alive at once count into one shared line
//! with atomic adds. A child process after `fork` keeps the forking thread's line and
//! counts on as before: the allocation path takes no lock. Only a thread's exit (handing its
//! line back) and [`heap`] (waiting out such a hand-back) synchronise, so a child forked
//! while another thread was exiting should leave by `_exit` or `exec` without reading
//! [`heap`], as POSIX asks of a multi-threaded program's child anyway.

mod assert;
mod call;
mod counting;
mod growth;
mod heap;
mod slot;
mod stats;

#[doc(hidden)]
pub use assert::__assert;
pub use assert::{AllocClause, AllocCmp, AllocLimit, AllocStat};
pub(crate) use call::mark;
pub use call::{AllocTotals, CallAllocs};
pub use counting::Counting;
#[doc(hidden)]
pub use growth::__assert_no_growth;
pub use growth::{Growth, GrowthCheck};
pub use heap::{heap, HeapStats};
pub(crate) use slot::bookkeeping;
pub use slot::installed;
pub use stats::{count, count_async, AllocStats, CountAsync};

#[doc(inline)]
pub use crate::__perf_assert_no_growth as assert_no_growth;
