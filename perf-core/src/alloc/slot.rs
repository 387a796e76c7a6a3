//! The counters behind [`Counting`](super::Counting): one cache-line slot per live thread in
//! a static table, written only by its thread, so an allocation is a few plain loads and
//! stores (no atomic read-modify-write, no lock, no allocation).
//!
//! A thread claims a free slot at its first allocation (one compare-exchange per thread
//! lifetime) and hands it back when it exits, after folding its counts into the retired
//! totals, so the process totals stay exact and a reused slot starts from zero. A thread
//! that finds no free slot (more than [`SLOTS`] threads alive at once), or that allocates
//! after its slot was handed back during its own teardown, counts into one shared slot with
//! atomic adds: the process totals stay exact, but that thread's own counts
//! ([`count`](super::count), `#[timed]`) then include the other such threads'.
//!
//! Reentrancy: the thread-locals here are `const`-initialised and hold no destructor except
//! [`Release`], which is registered right after the slot pointer is stored, so an allocation
//! made while registering it (on a platform whose registration allocates) finds the slot
//! already in place instead of claiming again.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// How many threads can hold a private slot at once.
pub(crate) const SLOTS: usize = 1024;

/// One thread's cumulative counts.
#[repr(align(128))]
pub(crate) struct Slot {
    taken: AtomicBool,
    /// Written with atomic adds (the shared slot), not by one owner.
    shared: bool,
    pub(crate) allocs: AtomicU64,
    pub(crate) deallocs: AtomicU64,
    pub(crate) reallocs: AtomicU64,
    pub(crate) bytes_allocated: AtomicU64,
    pub(crate) bytes_freed: AtomicU64,
    /// The largest `bytes_allocated - bytes_freed` seen (as `i64` bits), for `count`'s peak.
    pub(crate) peak: AtomicU64,
    /// Allocations and bytes of perf's own bookkeeping (a callee's first record registering
    /// its series or adding a histogram page), left out of what code is said to allocate.
    own_allocs: AtomicU64,
    own_bytes: AtomicU64,
}

impl Slot {
    const fn new(shared: bool) -> Self {
        Slot {
            taken: AtomicBool::new(false),
            shared,
            allocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            own_allocs: AtomicU64::new(0),
            own_bytes: AtomicU64::new(0),
        }
    }

    /// Adds `n` to `c`: a load and a store for an owned slot, an atomic add for the shared one.
    #[inline(always)]
    fn add(&self, c: &AtomicU64, n: u64) {
        if self.shared {
            c.fetch_add(n, Relaxed);
        } else {
            c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
        }
    }

    /// Bytes allocated minus bytes freed through this slot, perf's bookkeeping left out, as
    /// a signed number: a thread may free more than it allocated.
    #[inline(always)]
    pub(crate) fn live(&self) -> i64 {
        self.bytes_allocated
            .load(Relaxed)
            .wrapping_sub(self.own_bytes.load(Relaxed))
            .wrapping_sub(self.bytes_freed.load(Relaxed)) as i64
    }

    #[inline(always)]
    fn raise_peak(&self) {
        if self.shared {
            return;
        }
        let live = self.live();
        if live > self.peak.load(Relaxed) as i64 {
            self.peak.store(live as u64, Relaxed);
        }
    }

    /// Whether this is the shared slot, whose counts mix several threads'.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared
    }

    /// What code on this thread allocated, perf's bookkeeping left out: the counts
    /// `count` and `#[timed]` take differences of.
    #[inline(always)]
    pub(crate) fn user_counts(&self) -> Counts {
        let mut c = self.counts();
        c.allocs = c.allocs.wrapping_sub(self.own_allocs.load(Relaxed));
        c.bytes_allocated = c.bytes_allocated.wrapping_sub(self.own_bytes.load(Relaxed));
        c
    }

    /// Allocations and bytes allocated by code on this thread, bookkeeping left out.
    #[inline(always)]
    pub(crate) fn user_mark(&self) -> (u64, u64) {
        (
            self.allocs
                .load(Relaxed)
                .wrapping_sub(self.own_allocs.load(Relaxed)),
            self.bytes_allocated
                .load(Relaxed)
                .wrapping_sub(self.own_bytes.load(Relaxed)),
        )
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            allocs: self.allocs.load(Relaxed),
            deallocs: self.deallocs.load(Relaxed),
            reallocs: self.reallocs.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            bytes_freed: self.bytes_freed.load(Relaxed),
        }
    }
}

/// Cumulative counts: of a slot, or summed over the process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) allocs: u64,
    pub(crate) deallocs: u64,
    pub(crate) reallocs: u64,
    pub(crate) bytes_allocated: u64,
    pub(crate) bytes_freed: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.allocs = self.allocs.wrapping_add(o.allocs);
        self.deallocs = self.deallocs.wrapping_add(o.deallocs);
        self.reallocs = self.reallocs.wrapping_add(o.reallocs);
        self.bytes_allocated = self.bytes_allocated.wrapping_add(o.bytes_allocated);
        self.bytes_freed = self.bytes_freed.wrapping_add(o.bytes_freed);
    }

    /// `self - earlier`, counter by counter.
    pub(crate) fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            deallocs: self.deallocs.wrapping_sub(earlier.deallocs),
            reallocs: self.reallocs.wrapping_sub(earlier.reallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
        }
    }
}

static TABLE: [Slot; SLOTS] = [const { Slot::new(false) }; SLOTS];
static SHARED: Slot = Slot::new(true);
/// One past the highest slot ever claimed: readers scan no further.
static HIGH: AtomicUsize = AtomicUsize::new(0);
/// What exited threads counted, folded in when they handed their slot back.
static RETIRED: Slot = Slot::new(true);
/// Odd while a slot is being folded into `RETIRED`: a reader retries (a seqlock), so a
/// thread exiting mid-read is counted once, never twice or not at all.
static FOLDING: AtomicU64 = AtomicU64::new(0);
static FOLD_LOCK: Mutex<()> = Mutex::new(());
/// Set by the first allocation through `Counting`.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MINE: Cell<*const Slot> = const { Cell::new(ptr::null()) };
    static RELEASE: Release = const { Release };
}

/// Hands the thread's slot back when the thread exits.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let Ok(p) = MINE.try_with(|m| m.replace(&SHARED)) else {
            return;
        };
        // SAFETY: `MINE` only ever holds null or a pointer to a `static` slot.
        if let Some(slot) = unsafe { p.as_ref() } {
            if !slot.shared {
                retire(slot);
            }
        }
    }
}

fn retire(slot: &'static Slot) {
    let _lock = FOLD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    FOLDING.fetch_add(1, SeqCst);
    let c = slot.counts();
    RETIRED.allocs.fetch_add(c.allocs, Relaxed);
    RETIRED.deallocs.fetch_add(c.deallocs, Relaxed);
    RETIRED.reallocs.fetch_add(c.reallocs, Relaxed);
    RETIRED
        .bytes_allocated
        .fetch_add(c.bytes_allocated, Relaxed);
    RETIRED.bytes_freed.fetch_add(c.bytes_freed, Relaxed);
    for c in [
        &slot.allocs,
        &slot.deallocs,
        &slot.reallocs,
        &slot.bytes_allocated,
        &slot.bytes_freed,
        &slot.peak,
        &slot.own_allocs,
        &slot.own_bytes,
    ] {
        c.store(0, Relaxed);
    }
    FOLDING.fetch_add(1, SeqCst);
    slot.taken
        .store(false, std::sync::atomic::Ordering::Release);
}

/// Whether [`Counting`](super::Counting) has served an allocation in this process, i.e. is
/// the global allocator (it serves the runtime's first allocations, before `main`).
///
/// ```
/// // This doctest's binary uses the default allocator.
/// assert!(!perf_core::alloc::installed());
/// ```
#[inline(always)]
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The calling thread's slot, claimed if it has none yet.
#[inline(always)]
pub(crate) fn mine() -> &'static Slot {
    let p = MINE.try_with(Cell::get).unwrap_or(&SHARED);
    // SAFETY: `MINE` only ever holds null or a pointer to a `static` slot.
    match unsafe { p.as_ref() } {
        Some(slot) => slot,
        None => claim(),
    }
}

#[cold]
#[inline(never)]
fn claim() -> &'static Slot {
    let slot = TABLE
        .iter()
        .enumerate()
        .find(|(_, s)| {
            !s.taken.load(Relaxed)
                && s.taken
                    .compare_exchange(false, true, Acquire, Relaxed)
                    .is_ok()
        })
        .map(|(i, s)| {
            HIGH.fetch_max(i + 1, Relaxed);
            s
        });
    let Some(slot) = slot else {
        let _ = MINE.try_with(|m| m.set(&SHARED));
        return &SHARED;
    };
    // Stored before `Release` is registered: see the module docs on reentrancy.
    let _ = MINE.try_with(|m| m.set(slot));
    if RELEASE.try_with(|_| ()).is_err() {
        // The thread is past its thread-local teardown: nothing would hand the slot back.
        let _ = MINE.try_with(|m| m.set(&SHARED));
        retire(slot);
        return &SHARED;
    }
    slot
}

#[inline(always)]
fn mark_installed() {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
}

#[inline(always)]
pub(crate) fn on_alloc(size: usize) {
    mark_installed();
    let s = mine();
    s.add(&s.allocs, 1);
    s.add(&s.bytes_allocated, size as u64);
    s.raise_peak();
}

#[inline(always)]
pub(crate) fn on_dealloc(size: usize) {
    let s = mine();
    s.add(&s.deallocs, 1);
    s.add(&s.bytes_freed, size as u64);
}

/// A reallocation counts the growth as bytes allocated, or the shrink as bytes freed.
#[inline(always)]
pub(crate) fn on_realloc(old: usize, new: usize) {
    mark_installed();
    let s = mine();
    s.add(&s.reallocs, 1);
    if new >= old {
        s.add(&s.bytes_allocated, (new - old) as u64);
        s.raise_peak();
    } else {
        s.add(&s.bytes_freed, (old - new) as u64);
    }
}

/// Runs perf's own bookkeeping `f` (recording a timed call) so that what it allocates is
/// not counted as the work's: neither by an enclosing `#[timed]` call nor by `count`.
#[inline(always)]
pub(crate) fn bookkeeping<R>(f: impl FnOnce() -> R) -> R {
    let s = mine();
    let (a, b) = (s.allocs.load(Relaxed), s.bytes_allocated.load(Relaxed));
    let peak = s.peak.load(Relaxed);
    let r = f();
    let (da, db) = (
        s.allocs.load(Relaxed).wrapping_sub(a),
        s.bytes_allocated.load(Relaxed).wrapping_sub(b),
    );
    if da | db != 0 {
        s.add(&s.own_allocs, da);
        s.add(&s.own_bytes, db);
        if !s.shared {
            s.peak.store(peak, Relaxed);
        }
    }
    r
}

/// The counts of every thread, living or exited, summed.
pub(crate) fn process_counts() -> Counts {
    loop {
        let seq = FOLDING.load(SeqCst);
        if seq % 2 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let mut total = RETIRED.counts();
        total.add(SHARED.counts());
        for s in &TABLE[..HIGH.load(Relaxed).min(SLOTS)] {
            total.add(s.counts());
        }
        fence(Acquire);
        if FOLDING.load(SeqCst) == seq {
            return total;
        }
    }
}
