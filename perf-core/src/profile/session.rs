//! [`Session`]: the process-wide sampler while it runs, and [`Sampler`], its settings.
//!
//! pprof-rs samples with `SIGPROF` from `setitimer(ITIMER_PROF)`: the kernel delivers the
//! signal to whichever thread is using CPU, so samples are proportional to CPU time, across
//! every thread, and an idle thread costs nothing. The handler unwinds with the DWARF
//! unwinder into a preallocated buffer and never waits for a lock (it skips the sample when
//! the report is being read), so the application's threads block no longer than the handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::ProfileError;
use super::stacks::Profile;

/// The sampling rate [`cpu`](super::cpu) uses: 99 Hz, off the beat of periodic work at
/// round rates (100 Hz timers, 10 ms ticks), so samples do not line up with it.
pub const DEFAULT_FREQUENCY_HZ: u32 = 99;

/// The highest sampling rate [`Sampler::frequency`] accepts.
pub const MAX_FREQUENCY_HZ: u32 = 1000;

/// Libraries whose code is never sampled: the unwinder could otherwise interrupt itself or
/// the dynamic loader while they hold their own locks (pprof-rs's advice). Time spent in
/// them is not counted; the shares of the rest stay right.
const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

/// One profile at a time: pprof-rs's sampler is a process-wide singleton.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Whether a CPU profile of this process is running now (a [`Session`] is alive).
///
/// ```
/// assert!(!perf_core::profile::is_running());
/// ```
pub fn is_running() -> bool {
    RUNNING.load(Ordering::Acquire)
}

/// The settings of a CPU profile: its sampling rate.
///
/// ```
/// use std::time::Duration;
///
/// let profile = perf_core::profile::Sampler::new()
///     .frequency(250)
///     .unwrap()
///     .cpu(Duration::from_millis(50))
///     .unwrap();
/// assert_eq!(profile.frequency_hz(), 250);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampler {
    frequency_hz: u32,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// Samples at [`DEFAULT_FREQUENCY_HZ`] (99 Hz).
    pub fn new() -> Self {
        Sampler {
            frequency_hz: DEFAULT_FREQUENCY_HZ,
        }
    }

    /// Samples `hz` times per second of CPU time; fails with
    /// [`ProfileError::InvalidFrequency`] outside 1..=[`MAX_FREQUENCY_HZ`].
    pub fn frequency(mut self, hz: u32) -> Result<Self, ProfileError> {
        if !(1..=MAX_FREQUENCY_HZ).contains(&hz) {
            return Err(ProfileError::InvalidFrequency(hz));
        }
        self.frequency_hz = hz;
        Ok(self)
    }

    /// Starts sampling every thread of the process; [`Session::stop`] ends it with the
    /// profile. Fails with [`ProfileError::AlreadyRunning`] while another session is alive.
    pub fn start(self) -> Result<Session, ProfileError> {
        if RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ProfileError::AlreadyRunning);
        }
        let claim = Claim;
        let hz = i32::try_from(self.frequency_hz).unwrap_or(DEFAULT_FREQUENCY_HZ as i32);
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(hz)
            .blocklist(BLOCKLIST)
            .build()?;
        Ok(Session {
            guard,
            frequency_hz: self.frequency_hz,
            started: Instant::now(),
            _claim: claim,
        })
    }

    /// Profiles every thread of the process for `duration`, sleeping on the calling thread.
    pub fn cpu(self, duration: Duration) -> Result<Profile, ProfileError> {
        let session = self.start()?;
        std::thread::sleep(duration);
        session.stop()
    }

    /// Runs `work` on the calling thread and profiles it: only this thread's samples are
    /// kept, so other threads' work does not dilute the shares.
    pub fn cpu_while<R>(self, work: impl FnOnce() -> R) -> Result<Profile, ProfileError> {
        let session = self.start()?;
        let _ = work();
        session.stop_for_thread(current_thread_id())
    }
}

/// Releases the one-profile claim when the session ends, after the sampler has stopped
/// (fields drop in declaration order, so it is declared after the guard).
struct Claim;

impl Drop for Claim {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// A running CPU profile. Dropping it stops the sampler without a report (a cancelled
/// request); [`stop`](Self::stop) stops it and returns the profile.
pub struct Session {
    guard: pprof::ProfilerGuard<'static>,
    frequency_hz: u32,
    started: Instant,
    _claim: Claim,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("frequency_hz", &self.frequency_hz)
            .field("elapsed", &self.started.elapsed())
            .finish()
    }
}

impl Session {
    /// Stops sampling and returns the profile of every thread. Symbolizing the stacks
    /// takes a while the first time (the debug info is loaded): call it off any async
    /// runtime's worker threads.
    pub fn stop(self) -> Result<Profile, ProfileError> {
        self.finish(None)
    }

    fn stop_for_thread(self, thread: u64) -> Result<Profile, ProfileError> {
        self.finish(Some(thread))
    }

    fn finish(self, thread: Option<u64>) -> Result<Profile, ProfileError> {
        let duration = self.started.elapsed();
        let mut report = self
            .guard
            .report()
            .frames_post_processor(drop_sampler_frames)
            .build()?;
        if let Some(id) = thread {
            report.data.retain(|frames, _| frames.thread_id == id);
        }
        // The guard drops here, with the session: the timer and handler go first, then
        // the claim.
        Profile::from_report(&report, self.frequency_hz, duration)
    }
}

/// Removes the sampler's own innermost frames. pprof-rs drops its signal handler's frame
/// and the signal trampoline's, but where the unwinding calls were not inlined into the
/// handler (a debug build) their frames sit above it and would top every profile.
fn drop_sampler_frames(frames: &mut pprof::Frames) {
    let sampler = frames
        .frames
        .iter()
        .take_while(|symbols| {
            symbols.iter().any(|s| {
                let name = s.name();
                name.starts_with("backtrace::") || name.starts_with("<pprof::")
            })
        })
        .count();
    frames.frames.drain(..sampler);
}

/// The id pprof-rs records for the calling thread (its `pthread_t`).
fn current_thread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as u64 }
}
