//! The clock every timing in perf reads: the system's monotonic clock by default, or a
//! [`ManualClock`] that a test advances by hand so timing rules are tested exactly.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A monotonic clock: the system clock, or a manual one.
///
/// Readings are nanoseconds since an arbitrary origin; only differences mean anything.
/// The system clock is [`quanta`]'s: the CPU's invariant TSC where the kernel marks it
/// stable (about 12 ns a read on these machines), else the OS monotonic clock; see
/// `BENCHMARKS.md` for the measurement.
///
/// ```
/// use std::time::Duration;
/// use perf_core::clock::Clock;
///
/// let (clock, hand) = Clock::manual();
/// let t0 = clock.now_nanos();
/// hand.advance(Duration::from_millis(5));
/// assert_eq!(clock.now_nanos() - t0, 5_000_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<ManualClock>,
}

/// The hand of a manual clock: moves it forward.
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.nanos
            .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), SeqCst);
    }

    /// Sets the reading, in nanoseconds.
    pub fn set_nanos(&self, nanos: u64) {
        self.nanos.store(nanos, SeqCst);
    }

    /// The current reading, in nanoseconds.
    pub fn now_nanos(&self) -> u64 {
        self.nanos.load(SeqCst)
    }
}

fn quanta_clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

impl Clock {
    /// The system's monotonic clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still until its [`ManualClock`] hand moves it. Starts at 0.
    pub fn manual() -> (Self, ManualClock) {
        let hand = ManualClock::default();
        (
            Clock {
                manual: Some(hand.clone()),
            },
            hand,
        )
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The reading now, in nanoseconds.
    #[inline]
    pub fn now_nanos(&self) -> u64 {
        match &self.manual {
            None => system_now(),
            Some(m) => m.now_nanos(),
        }
    }

    /// Time passed since an earlier reading `start`.
    #[inline]
    pub fn elapsed_since(&self, start: u64) -> Duration {
        Duration::from_nanos(self.now_nanos().saturating_sub(start))
    }
}

/// The system clock's reading in nanoseconds.
#[inline]
pub fn system_now() -> u64 {
    let clock = quanta_clock();
    clock.delta_as_nanos(0, clock.raw())
}

static GLOBAL_MANUAL: AtomicBool = AtomicBool::new(false);
static GLOBAL: OnceLock<std::sync::Mutex<Clock>> = OnceLock::new();

/// The clock that `#[timed]` callsites and [`time`](crate::time) read.
///
/// The system clock unless a test called [`set_global`] with a manual one. Reading it costs
/// one relaxed load more than reading the system clock.
#[inline(always)]
pub fn now_nanos() -> u64 {
    if GLOBAL_MANUAL.load(Relaxed) {
        global_manual_now()
    } else {
        system_now()
    }
}

#[cold]
fn global_manual_now() -> u64 {
    GLOBAL
        .get()
        .and_then(|m| m.lock().ok().map(|c| c.now_nanos()))
        .unwrap_or_else(system_now)
}

/// Makes `clock` the clock of every callsite in the process (tests only: it is global, so
/// keep such tests in a test binary of their own). `Clock::system()` restores the default.
///
/// ```
/// use std::time::Duration;
/// use perf_core::clock::{self, Clock};
///
/// let (manual, hand) = Clock::manual();
/// clock::set_global(manual);
/// let t = clock::now_nanos();
/// hand.advance(Duration::from_secs(1));
/// assert_eq!(clock::now_nanos() - t, 1_000_000_000);
/// clock::set_global(Clock::system());
/// ```
pub fn set_global(clock: Clock) {
    let manual = clock.is_manual();
    let slot = GLOBAL.get_or_init(|| std::sync::Mutex::new(Clock::system()));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = clock;
    GLOBAL_MANUAL.store(manual, SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_monotonic() {
        let c = Clock::system();
        let a = c.now_nanos();
        std::thread::sleep(Duration::from_millis(2));
        let b = c.now_nanos();
        assert!(b - a >= 1_000_000, "{a} {b}");
        assert!(b - a < 10_000_000_000);
    }

    #[test]
    fn manual_clock_moves_only_by_hand() {
        let (c, hand) = Clock::manual();
        assert_eq!(c.now_nanos(), 0);
        hand.advance(Duration::from_micros(3));
        assert_eq!(c.elapsed_since(0), Duration::from_micros(3));
        hand.set_nanos(10);
        assert_eq!(c.now_nanos(), 10);
    }
}
