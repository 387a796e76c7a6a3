//! The open loop's pacing thread: on a multi-threaded runtime the precise pacer runs on an OS
//! thread of its own, so it never waits in a worker's queue behind the requests it started.
//!
//! Measured before this existed (a task that yields until each instant, BENCHMARKS.md): at
//! 20,000 req/s a yielding task is woken only when its worker has run out of tasks or every
//! 61 polls, so the generator itself started requests milliseconds late. A thread sleeps
//! with the OS's microsecond timer and, on each wake, starts every request already due.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

/// The longest the thread sleeps before it looks at the stop flag again: a run dropped
/// before its end (a slow schedule's gap can be minutes) lets its thread go within this.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// What the pacing loop reads the time from and sleeps on; tests inject a fake one.
pub(crate) trait Clock {
    fn now(&self) -> Instant;
    /// Returns at `at` or later.
    fn sleep_until(&self, at: Instant);
}

/// The OS clock and `std::thread::sleep`: Linux wakes a sleeping thread within tens of
/// microseconds, where tokio's timer rounds up to whole milliseconds.
pub(crate) struct ThreadClock;

impl Clock for ThreadClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, at: Instant) {
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// Makes the calling thread's sleeps end on time while it lives: Linux lets a sleep run
/// 50 µs past its end by default (timer slack, to batch wake-ups), a twentieth of the 1 ms
/// a request may be late; 1 ns asks for none. The old slack is put back on drop, as the
/// thread belongs to tokio's blocking pool.
pub(crate) struct PreciseSleeps {
    #[cfg(target_os = "linux")]
    old: libc::c_int,
}

impl PreciseSleeps {
    pub(crate) fn new() -> Self {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: PR_GET/SET_TIMERSLACK read and set a number of the calling thread.
            let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) };
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
            PreciseSleeps { old }
        }
        #[cfg(not(target_os = "linux"))]
        PreciseSleeps {}
    }
}

impl Drop for PreciseSleeps {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if self.old > 0 {
            // SAFETY: as in `new`.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, self.old as libc::c_ulong) };
        }
    }
}

/// Calls `begin(intended)` for each instant `start + offset`, in order, never before it.
///
/// Each wake starts every request whose instant has passed, then sleeps until the next one,
/// so a wake that comes late costs the requests it covers their lag, not a millisecond each.
/// Returns the number of wakes; stops early, within `STOP_CHECK`, once `stop` is set.
pub(crate) fn pace(
    clock: &impl Clock,
    start: Instant,
    offsets: impl Iterator<Item = Duration>,
    stop: &AtomicBool,
    mut begin: impl FnMut(Instant),
) -> u64 {
    let mut instants = offsets.map(|o| start + o).peekable();
    let mut wakes = 0;
    while let Some(&next) = instants.peek() {
        if stop.load(Relaxed) {
            break;
        }
        clock.sleep_until(next.min(clock.now() + STOP_CHECK));
        wakes += 1;
        let now = clock.now();
        while let Some(intended) = instants.next_if(|&at| at <= now) {
            begin(intended);
        }
    }
    wakes
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;

    /// Time moves only when the pacer sleeps: to the instant asked for plus the next
    /// oversleep in the list (an OS that wakes the thread late).
    struct FakeClock {
        now: Cell<Instant>,
        oversleep: RefCell<Vec<Duration>>,
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.now.get()
        }

        fn sleep_until(&self, at: Instant) {
            let late = self.oversleep.borrow_mut().pop().unwrap_or_default();
            self.now.set(self.now.get().max(at) + late);
        }
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// Lag of each request, measured when `begin` runs, in microseconds, and the wakes.
    fn run(oversleep: &[u64], offsets: &[u64]) -> (Vec<u64>, u64) {
        let start = Instant::now();
        let clock = FakeClock {
            now: Cell::new(start),
            oversleep: RefCell::new(oversleep.iter().rev().map(|&n| us(n)).collect()),
        };
        let mut lags = Vec::new();
        let stop = AtomicBool::new(false);
        let wakes = pace(&clock, start, offsets.iter().map(|&n| us(n)), &stop, |at| {
            lags.push(u64::try_from((clock.now() - at).as_micros()).unwrap());
        });
        (lags, wakes)
    }

    #[test]
    fn on_time_wakes_start_each_request_at_its_instant() {
        assert_eq!(run(&[], &[0, 50, 100, 150]), (vec![0, 0, 0, 0], 4));
    }

    #[test]
    fn a_late_wake_starts_every_due_request_at_once_with_its_exact_lag() {
        // The third sleep (for the instant at 100 µs) ends 3,500 µs late: the requests due at
        // 100, 1100, 2100 and 3100 µs start in that one wake, and the pacer is on time again
        // for 4100 µs.
        let offsets = [0, 50, 100, 1100, 2100, 3100, 4100];
        let (lags, wakes) = run(&[0, 0, 3500], &offsets);
        assert_eq!(lags, [0, 0, 3500, 2500, 1500, 500, 0]);
        assert_eq!(wakes, 4);
    }

    #[test]
    fn instants_already_past_start_without_sleeping_past_them() {
        // A schedule with several requests at the same instant (a user-given burst).
        assert_eq!(run(&[], &[10, 10, 10, 20]), (vec![0, 0, 0, 0], 2));
    }

    #[test]
    fn a_set_stop_flag_ends_the_run_before_its_next_wake() {
        let start = Instant::now();
        let clock = FakeClock {
            now: Cell::new(start),
            oversleep: RefCell::new(Vec::new()),
        };
        let stop = AtomicBool::new(false);
        let mut begun = 0;
        let wakes = pace(&clock, start, (0..10).map(us), &stop, |_| {
            begun += 1;
            if begun == 3 {
                stop.store(true, Relaxed);
            }
        });
        assert_eq!((begun, wakes), (3, 3));
    }

    #[test]
    fn a_long_gap_is_slept_in_stop_checks() {
        // 25 ms to the second request: woken at 10 and 20 ms to look at the flag.
        assert_eq!(run(&[], &[0, 25_000]), (vec![0, 0], 4));
    }

    #[test]
    fn the_thread_clock_never_returns_before_the_instant() {
        let at = Instant::now() + Duration::from_millis(2);
        ThreadClock.sleep_until(at);
        assert!(Instant::now() >= at);
    }
}
