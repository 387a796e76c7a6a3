//! CPU profiles of the running process (feature `profile`, Linux): where the CPU time goes,
//! including in code nobody marked `#[timed]`. The answer comes as a pprof protobuf
//! (`go tool pprof`, Grafana Pyroscope, Speedscope), a flame graph SVG, or a top-N table.
//!
//! The sampler is pprof-rs: `SIGPROF` at a set rate of CPU time (default 99 Hz), stacks
//! unwound in the signal handler with the DWARF unwinder. Frame-pointer unwinding would
//! need every crate and the standard library built with `-C force-frame-pointers=yes`;
//! without that it yields broken stacks. The DWARF unwinder needs nothing, and on glibc
//! ≥ 2.35 finds unwind tables through the lock-free `_dl_find_object`; code in libc,
//! libgcc, libpthread and the vDSO is not sampled at all (see [`Session`]).
//!
//! The exporter can serve profiles of the next N seconds: see
//! `PrometheusBuilder::with_profiling`.
//!
//! ```
//! use std::time::Duration;
//!
//! #[inline(never)]
//! fn checksum(n: u64) -> u64 {
//!     (0..n).fold(0u64, |acc, i| acc.wrapping_mul(31).wrapping_add(i))
//! }
//!
//! let profile = perf_core::profile::cpu_while(|| checksum(std::hint::black_box(5_000_000)))
//!     .unwrap();
//! assert!(profile.share_of("serde_json") < 0.10);
//! println!("{}", profile.top(10));
//!
//! // Every thread of the process, for a while:
//! let all = perf_core::profile::cpu(Duration::from_millis(50)).unwrap();
//! let _protobuf: &[u8] = all.pprof();
//! ```

mod error;
mod session;
mod stacks;
mod top;

pub use error::ProfileError;
pub use session::{is_running, Sampler, Session, DEFAULT_FREQUENCY_HZ, MAX_FREQUENCY_HZ};
pub use stacks::{Profile, Stack};
pub use top::{Top, TopRow};

use std::time::Duration;

/// Profiles every thread of the process for `duration` at 99 Hz, sleeping on the calling
/// thread meanwhile. Fails with [`ProfileError::AlreadyRunning`] while another profile
/// runs. [`Sampler`] sets another rate.
///
/// ```
/// let profile = perf_core::profile::cpu(std::time::Duration::from_millis(20)).unwrap();
/// assert_eq!(profile.frequency_hz(), perf_core::profile::DEFAULT_FREQUENCY_HZ);
/// ```
pub fn cpu(duration: Duration) -> Result<Profile, ProfileError> {
    Sampler::new().cpu(duration)
}

/// Runs `work` on the calling thread and returns its CPU profile at 99 Hz: only this
/// thread's samples, so a test can assert where its own code spends time, with a wide
/// margin (`profile.share_of("serde_json") < 0.10`). The value `work` returns is dropped.
///
/// ```
/// use std::hint::black_box;
///
/// let profile = perf_core::profile::cpu_while(|| {
///     (0..black_box(100_000u64)).map(|i| i.rotate_left(3)).sum::<u64>()
/// })
/// .unwrap();
/// println!("{} samples\n{}", profile.samples(), profile.top(5));
/// ```
pub fn cpu_while<R>(work: impl FnOnce() -> R) -> Result<Profile, ProfileError> {
    Sampler::new().cpu_while(work)
}
