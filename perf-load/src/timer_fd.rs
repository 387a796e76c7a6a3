//! [`TimerFd`]: a sleep with the OS's nanosecond timer that a tokio task awaits, on Linux.
//!
//! Tokio's own timer fires on whole milliseconds. A Linux `timerfd` becomes readable at the
//! instant it is armed for, and tokio's I/O driver (`epoll`) wakes the worker that waits on
//! it: the open loop's pacer then runs on a worker, and the requests it spawns go to that
//! worker's own queue, so one OS wake starts a request where a pacing thread of its own
//! needs two (its own, then a worker's to run the task it spawned).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

/// A `CLOCK_MONOTONIC` timerfd registered with the current runtime's I/O driver.
pub(crate) struct TimerFd {
    fd: AsyncFd<OwnedFd>,
}

impl TimerFd {
    /// A disarmed timer, registered with the current runtime's I/O driver (which must be
    /// enabled, as `#[tokio::main]` and `Runtime::new` do); fails when the process is out of
    /// file descriptors.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new fd that
        // nothing else owns.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid fd (checked above) owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the `OwnedFd` stays open, and is the same fd, for as long as the `AsyncFd`
        // that owns it lives.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(TimerFd { fd })
    }

    /// Returns at `at` or later; at once if `at` has passed.
    pub(crate) async fn sleep_until(&mut self, at: Instant) -> io::Result<()> {
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            },
        };
        let raw = self.fd.get_ref().as_raw_fd();
        // SAFETY: `spec` is a valid itimerspec; the old value is not asked for (null).
        if unsafe { libc::timerfd_settime(raw, 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = 0u64;
            // SAFETY: reads 8 bytes into a u64, the size timerfd's read takes.
            let n = unsafe {
                libc::read(
                    raw,
                    (&mut expirations as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if n == 8 {
                // The one-shot timer is spent: until it is armed again the fd cannot be
                // readable, so the next sleep waits for epoll instead of first making a
                // read that fails with EAGAIN.
                guard.clear_ready();
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
            guard.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sleeps_until_the_instant_and_not_a_millisecond_rounding_past_it() {
        let mut timer = TimerFd::new().unwrap();
        for micros in [0, 50, 300, 1_500] {
            let at = Instant::now() + Duration::from_micros(micros);
            timer.sleep_until(at).await.unwrap();
            assert!(
                Instant::now() >= at,
                "returned before the instant ({micros} µs)"
            );
        }
    }

    #[tokio::test]
    async fn an_instant_already_past_returns_at_once() {
        let mut timer = TimerFd::new().unwrap();
        let past = Instant::now();
        tokio::time::sleep(Duration::from_millis(1)).await;
        timer.sleep_until(past).await.unwrap();
    }
}
