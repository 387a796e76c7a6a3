//! [`ProfileError`]: why a CPU profile could not be taken or rendered.

/// Why a CPU profile could not be taken or rendered; each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Another profile of this process is running: the sampler is process-wide, so only one
    /// can run at a time.
    #[error("a CPU profile of this process is already running; wait for it to end, then retry")]
    AlreadyRunning,
    /// The sampling rate is outside 1..=1000 Hz.
    #[error(
        "sampling rate {0} Hz is out of range: use 1 to {max} Hz (99 Hz is the usual choice)",
        max = super::MAX_FREQUENCY_HZ
    )]
    InvalidFrequency(u32),
    /// The sampler could not start or report (the signal handler or timer could not be set).
    #[error("the CPU sampler failed: {0}; is SIGPROF blocked or owned by another profiler?")]
    Sampler(String),
    /// The profile holds no samples, so there is no flame graph to draw.
    #[error(
        "the profile holds no samples: the profiled code used no CPU while it ran; \
         profile for longer or while the code is busy"
    )]
    NoSamples,
    /// The flame graph could not be rendered.
    #[error("the flame graph could not be rendered: {0}")]
    FlameGraph(String),
}

impl From<pprof::Error> for ProfileError {
    fn from(e: pprof::Error) -> Self {
        match e {
            pprof::Error::Running => ProfileError::AlreadyRunning,
            other => ProfileError::Sampler(other.to_string()),
        }
    }
}
