//! The errors perf-async returns for bad input; each message says what to do instead.

use std::time::Duration;

/// A configuration perf-async cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A zero slow-poll threshold would report every poll as blocking.
    #[error("a zero slow-poll threshold would report every poll as blocking; use at least 1µs (the default is {default:?})")]
    ZeroThreshold {
        /// The default threshold, for the message.
        default: Duration,
    },
    /// A zero sampling interval would spin a thread or task at full speed.
    #[error("a zero {what} interval would spin at full speed; use at least 1ms")]
    ZeroInterval {
        /// Which interval was zero.
        what: &'static str,
    },
}

/// Why a [`Watchdog`](crate::Watchdog) could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    /// Only one watchdog scans the in-flight polls of the process at a time.
    #[error("a perf-async watchdog is already running in this process; keep its handle and share it instead of starting a second one")]
    AlreadyRunning,
    /// The operating system refused to start the watchdog thread.
    #[error("could not start the watchdog thread: {0}; check the process's thread limit")]
    Spawn(#[from] std::io::Error),
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
