//! Why a baseline assertion failed: a bad name or tolerance, a file that cannot be used, a
//! measurement that failed, or a regression with the numbers that show it. Public through
//! [`baseline`](crate::regress::baseline).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::regress::bootstrap::{CompareError, RatioEstimate};
use crate::regress::env::EnvError;
use crate::regress::latency_failure::debug_is_display;
use crate::regress::sampler::SampleError;
use crate::{format_duration, LatencySummary};

/// The baseline file format this version writes and reads. Kept beside the error that
/// names it: the file code returns that error, so here neither file imports the other back.
pub const FORMAT_VERSION: u32 = 1;

/// A baseline assertion could not be made, or found a regression.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BaselineError {
    /// The name cannot be a file name.
    #[error("invalid baseline name {0:?}: use ASCII letters, digits, '_', '-' or '.', not starting with '.'")]
    InvalidName(String),
    /// The tolerance is not a finite non-negative fraction.
    #[error("invalid tolerance {0}: give a fraction ≥ 0, e.g. 0.1 for 10%")]
    InvalidTolerance(f64),
    /// The file could not be read or written.
    #[error("baseline file {path}: {error}; check the path and permissions (set PERF_BASELINE_DIR to move baselines)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: String,
    },
    /// No baseline file exists, and this run may not create one: on CI (`CI` set) or with
    /// `PERF_BASELINE=check`, a missing file would let the assertion pass without comparing.
    #[error("baseline file {path} does not exist and {reason}: create it on a quiet machine with `PERF_BASELINE=update cargo test` (add `-p <crate> --test <name>` to narrow it) and commit the file")]
    Missing {
        /// The file.
        path: PathBuf,
        /// Why a missing file fails here.
        reason: &'static str,
    },
    /// The file is not a valid baseline.
    #[error("baseline file {path} is corrupt ({reason}); delete it, or rerun with PERF_BASELINE=update to regenerate it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file was written by another version of perf.
    #[error("baseline file {path} has format_version {found}, this perf reads version {FORMAT_VERSION}; rerun with PERF_BASELINE=update to regenerate it")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The version found (`none` if missing).
        found: String,
    },
    /// Measuring failed.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// Comparing failed.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// A `PERF_BASELINE*` variable is invalid.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The code is measurably slower than its baseline.
    #[error("{0}")]
    Regression(Box<Regression>),
}

/// The details of a regression.
#[derive(Clone)]
pub struct Regression {
    /// Baseline name.
    pub name: String,
    /// Baseline file.
    pub path: PathBuf,
    /// `median(now) / median(baseline)` with its interval.
    pub estimate: RatioEstimate,
    /// The tolerance.
    pub tolerance: f64,
    /// The baseline's samples.
    pub baseline: LatencySummary,
    /// This run's samples.
    pub current: LatencySummary,
}

debug_is_display!(Regression);

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.estimate;
        writeln!(
            f,
            "performance regression in `{}`: median {} now vs {} in the baseline, {:+.1}% ({:.0}% CI {:+.1}%..{:+.1}%), beyond the {:.1}% tolerance",
            self.name,
            format_duration(Duration::from_nanos(e.candidate_median_ns)),
            format_duration(Duration::from_nanos(e.reference_median_ns)),
            (e.ratio - 1.0) * 100.0,
            e.confidence * 100.0,
            (e.lower - 1.0) * 100.0,
            (e.upper - 1.0) * 100.0,
            self.tolerance * 100.0
        )?;
        writeln!(f, "  baseline: {}", self.baseline)?;
        writeln!(f, "  now:      {}", self.current)?;
        write!(
            f,
            "  if the slowdown is intended, accept it: PERF_BASELINE=update cargo test (rewrites {})",
            self.path.display()
        )
    }
}
