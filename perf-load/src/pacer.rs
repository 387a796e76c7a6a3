//! [`Pacer`]: how the open-loop generator waits for the next intended instant.
//!
//! Tokio's timer fires on whole milliseconds, rounded up, so sleeping until an instant
//! starts the request up to a millisecond late: at 20,000 req/s every request would count
//! as late. On a multi-threaded runtime the precise pacer sleeps on the OS's nanosecond
//! timer: a timerfd that the runtime's I/O driver waits on, on Linux (`timer_fd`), a thread
//! of its own elsewhere (`pacing_thread`). On a current-thread runtime it sleeps until
//! shortly before the instant and yields until it comes.

use std::time::Duration;

use tokio::time::Instant;

/// How close to the intended instant the precise pacer stops sleeping and starts yielding.
const SPIN: Duration = Duration::from_millis(1);

/// Yields in a row without the clock moving after which the precise pacer concludes the
/// clock is paused (tokio's test clock) and sleeps instead, which advances it.
const FROZEN_YIELDS: u32 = 64;

/// How the generator waits for the next request's instant.
///
/// ```
/// let p = perf_load::Pacer::default();
/// assert_eq!(p, perf_load::Pacer::Precise);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pacer {
    /// On a multi-threaded runtime: sleep on the OS's nanosecond timer (a timerfd awaited on
    /// the runtime's workers on Linux, a thread of its own elsewhere) and, on each wake,
    /// start every request already due, so starts are tens of microseconds late, not up to
    /// a millisecond. On a current-thread runtime: sleep until 1 ms before the instant, then
    /// yield to the runtime until it comes.
    #[default]
    Precise,
    /// Sleep on tokio's millisecond timer only: lighter, up to ~1 ms late.
    Timer,
}

impl Pacer {
    pub(crate) async fn wait_until(self, at: Instant) {
        let now = Instant::now();
        if at <= now {
            return;
        }
        if self == Pacer::Timer {
            tokio::time::sleep_until(at).await;
            return;
        }
        if at - now > SPIN {
            tokio::time::sleep_until(at - SPIN).await;
        }
        let (mut last, mut frozen) = (Instant::now(), 0);
        while last < at {
            tokio::task::yield_now().await;
            let now = Instant::now();
            frozen = if now == last { frozen + 1 } else { 0 };
            if frozen >= FROZEN_YIELDS {
                tokio::time::sleep_until(at).await;
                return;
            }
            last = now;
        }
    }
}
