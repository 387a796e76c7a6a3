//! Snapshot-style latency baselines: [`assert_no_regression!`](crate::assert_no_regression)
//! writes `perf-baselines/<name>.json` on its first local run and, on later runs, fails only
//! when the code got measurably slower than the baseline beyond a tolerance. On CI (`CI`
//! set) or with `PERF_BASELINE=check` a missing file fails instead, so an uncommitted
//! baseline cannot make CI pass without comparing.
//!
//! The decision: the ratio `median(now) / median(baseline)` with a seeded 99% bootstrap
//! interval ([`bootstrap`](crate::regress::bootstrap)); a regression is reported only when
//! the interval's lower bound exceeds `1 + tolerance` (default 10%), so both "no change" and
//! "within tolerance" are excluded by the data. A baseline from another machine or build (see
//! [`Fingerprint`]) is skipped with a note on stderr instead of failing.
//!
//! `PERF_BASELINE=update` rewrites baselines; `PERF_BASELINE_DIR` moves them (see
//! [`env`](mod@env)). Files are pretty-printed JSON with a fixed key order and sorted
//! samples, so a team can commit them and read their diffs.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;

pub use crate::regress::baseline_error::{BaselineError, Regression};
pub use crate::regress::baseline_file::{Baseline, BaselineSummary, FORMAT_VERSION};
use crate::regress::bootstrap::{bootstrap_setters, median_ratio, Bootstrap, RatioEstimate};
use crate::regress::env::{self, BaselineMode};
pub use crate::regress::fingerprint::Fingerprint;
use crate::regress::sampler::{sampling_setters, summarize, SampleError, Sampler};

/// Tolerated slowdown when a check does not say: 10%.
pub const DEFAULT_TOLERANCE: f64 = 0.10;

/// What a baseline assertion did, when it did not fail.
#[derive(Debug, Clone)]
pub enum BaselineOutcome {
    /// No baseline existed (local run, [`BaselineMode::Auto`]); this run's samples were written.
    Created(PathBuf),
    /// `PERF_BASELINE=update`: the baseline was rewritten.
    Updated(PathBuf),
    /// Compared, and no regression beyond the tolerance.
    Passed {
        /// The file.
        path: PathBuf,
        /// `median(now) / median(baseline)` with its interval.
        estimate: RatioEstimate,
    },
    /// The baseline was measured elsewhere; not compared.
    Skipped {
        /// The file.
        path: PathBuf,
        /// `field: baseline vs now` for each difference.
        differences: Vec<String>,
    },
}

impl fmt::Display for BaselineOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineOutcome::Created(p) => write!(f, "baseline created: {}", p.display()),
            BaselineOutcome::Updated(p) => write!(f, "baseline updated: {}", p.display()),
            BaselineOutcome::Passed { path, estimate } => {
                write!(f, "no regression against {}: {estimate}", path.display())
            }
            BaselineOutcome::Skipped { path, differences } => write!(
                f,
                "note: baseline {} was measured on another machine or build ({}); not compared — rerun with PERF_BASELINE=update on this machine to re-baseline",
                path.display(),
                differences.join(", ")
            ),
        }
    }
}

fn check_name(name: &str) -> Result<(), BaselineError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BaselineError::InvalidName(name.to_owned()))
    }
}

/// A baseline assertion: name, measurement, tolerance, where the file lives, and what to do
/// with it. Unset settings come from the environment ([`env`](mod@env)).
///
/// ```
/// use std::time::Duration;
/// use perf_core::baseline::{BaselineCheck, BaselineOutcome};
/// use perf_core::clock::Clock;
/// use perf_core::env::BaselineMode;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (clock, hand) = Clock::manual();
/// let check = BaselineCheck::new("parse").dir(dir.path()).mode(BaselineMode::Auto).ci(false)
///     .samples(100).warmup(0).clock(clock);
/// let first = check.run(|| hand.advance(Duration::from_micros(10))).unwrap();
/// assert!(matches!(first, BaselineOutcome::Created(_)));
/// let second = check.run(|| hand.advance(Duration::from_micros(10))).unwrap();
/// assert!(matches!(second, BaselineOutcome::Passed { .. }));
/// assert!(check.run(|| hand.advance(Duration::from_micros(20))).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct BaselineCheck {
    name: String,
    sampler: Sampler,
    tolerance: f64,
    bootstrap: Bootstrap,
    dir: Option<PathBuf>,
    manifest_dir: Option<PathBuf>,
    mode: Option<BaselineMode>,
    ci: Option<bool>,
    fingerprint: Option<Fingerprint>,
}

impl BaselineCheck {
    /// A check of the baseline `name` with the defaults: 1000 samples after 100 warm-up
    /// calls, 10% tolerance, 99% interval.
    pub fn new(name: impl Into<String>) -> Self {
        BaselineCheck {
            name: name.into(),
            sampler: Sampler::new(),
            tolerance: DEFAULT_TOLERANCE,
            bootstrap: Bootstrap::default(),
            dir: None,
            manifest_dir: None,
            mode: None,
            ci: None,
            fingerprint: None,
        }
    }

    sampling_setters!("calls");

    /// Tolerated slowdown as a fraction (0.1 = 10%).
    pub fn tolerance(mut self, fraction: f64) -> Self {
        self.tolerance = fraction;
        self
    }

    bootstrap_setters!();

    /// The baseline directory, instead of `PERF_BASELINE_DIR` / `perf-baselines`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Check or update, instead of reading `PERF_BASELINE`.
    pub fn mode(mut self, mode: BaselineMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Whether this is a CI run, instead of reading `CI`: in [`BaselineMode::Auto`] a CI run
    /// fails on a missing baseline where a local run creates it.
    pub fn ci(mut self, ci: bool) -> Self {
        self.ci = Some(ci);
        self
    }

    /// The fingerprint of "this machine" (tests use it to simulate another machine).
    pub fn fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }

    /// The crate whose `perf-baselines/` folder holds the file when neither [`dir`](Self::dir)
    /// nor `PERF_BASELINE_DIR` says otherwise. [`assert_no_regression!`](crate::assert_no_regression)
    /// passes the calling crate's `CARGO_MANIFEST_DIR` (captured at compile time), so the
    /// file lands in the crate under test even when the test binary runs outside cargo.
    pub fn manifest_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// The baseline file's path.
    pub fn path(&self) -> PathBuf {
        let dir = self
            .dir
            .clone()
            .unwrap_or_else(|| match &self.manifest_dir {
                Some(m) => env::resolve_baseline_dir(
                    std::env::var(env::BASELINE_DIR_VAR).ok().as_deref(),
                    m.to_str(),
                ),
                None => env::baseline_dir(),
            });
        dir.join(format!("{}.json", self.name))
    }

    /// Measures `f` and compares (or writes) the baseline.
    pub fn run<R>(&self, f: impl FnMut() -> R) -> Result<BaselineOutcome, BaselineError> {
        self.validate()?;
        let samples = self.sampler.run(f)?;
        self.check_samples(samples)
    }

    /// The async form of [`run`](Self::run).
    pub async fn run_async<F, Fut>(&self, f: F) -> Result<BaselineOutcome, BaselineError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future,
    {
        self.validate()?;
        let samples = self.sampler.run_async(f).await?;
        self.check_samples(samples)
    }

    fn validate(&self) -> Result<(), BaselineError> {
        check_name(&self.name)?;
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(BaselineError::InvalidTolerance(self.tolerance));
        }
        Ok(())
    }

    /// Compares samples already measured (in nanoseconds) with the baseline, or writes them.
    pub fn check_samples(&self, samples_ns: Vec<u64>) -> Result<BaselineOutcome, BaselineError> {
        self.validate()?;
        if samples_ns.is_empty() {
            return Err(SampleError::NoSamples.into());
        }
        let mode = match self.mode {
            Some(m) => m,
            None => env::baseline_mode()?,
        };
        let path = self.path();
        let here = self
            .fingerprint
            .clone()
            .unwrap_or_else(Fingerprint::current);
        let exists = path.try_exists().map_err(|e| BaselineError::Io {
            path: path.clone(),
            error: e.to_string(),
        })?;
        if !exists && mode != BaselineMode::Update {
            let ci = self.ci.unwrap_or_else(env::ci);
            let reason = match mode {
                BaselineMode::Check => Some("PERF_BASELINE=check"),
                _ if ci => Some("CI is set"),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(BaselineError::Missing { path, reason });
            }
        }
        if mode == BaselineMode::Update || !exists {
            Baseline::new(&self.name, here, samples_ns).write(&path)?;
            if exists {
                return Ok(BaselineOutcome::Updated(path));
            }
            let outcome = BaselineOutcome::Created(path);
            // Straight to stderr like the skip note below: the harness would swallow
            // eprintln! output of a passing test, and a new file must be noticed to be committed.
            let _ = writeln!(
                std::io::stderr(),
                "note: {outcome} (no baseline existed; commit it so later runs and CI compare against it)"
            );
            return Ok(outcome);
        }
        let baseline = Baseline::read(&path)?;
        let differences = baseline.fingerprint.differences(&here);
        if !differences.is_empty() {
            let outcome = BaselineOutcome::Skipped { path, differences };
            // Straight to stderr, not eprintln!: the test harness captures the macros, and
            // a skipped comparison must be visible even when the test passes.
            let _ = writeln!(std::io::stderr(), "{outcome}");
            return Ok(outcome);
        }
        let estimate = median_ratio(&samples_ns, &baseline.samples_ns, self.bootstrap)?;
        if estimate.lower > 1.0 + self.tolerance && estimate.lower > 1.0 {
            return Err(BaselineError::Regression(Box::new(Regression {
                name: self.name.clone(),
                path,
                estimate,
                tolerance: self.tolerance,
                baseline: summarize(&baseline.samples_ns),
                current: summarize(&samples_ns),
            })));
        }
        Ok(BaselineOutcome::Passed { path, estimate })
    }
}

/// Asserts that a closure is not slower than its committed baseline.
///
/// `assert_no_regression!("name", || work())` measures `work` (1000 samples after 100
/// warm-up calls by default) and compares with `perf-baselines/name.json` under the calling
/// crate's directory (`PERF_BASELINE_DIR` or the `dir` option override). A missing file is
/// written on a developer machine (with a note on stderr: commit it), but fails when `CI` is
/// set or with `PERF_BASELINE=check`, saying how to create it. Options go before a
/// semicolon: `samples`, `warmup`, `tolerance`, `confidence`, `seed`, `dir`, `mode`, `ci`,
/// `clock`, `fingerprint`. Evaluates to the [`BaselineOutcome`].
/// A closure that returns a future does not compile here (it would be dropped unpolled); use
/// [`assert_no_regression_async!`](crate::assert_no_regression_async) for it.
///
/// ```
/// use perf_core::assert_no_regression;
/// # let dir = tempfile::tempdir().unwrap();
/// // `ci = false`: create the missing file even when this doc test runs on CI.
/// let outcome = assert_no_regression!(samples = 200, warmup = 10, tolerance = 0.5, dir = dir.path(), ci = false;
///     "sum_1k", || (0..1_000u64).sum::<u64>());
/// println!("{outcome}"); // baseline created: …/sum_1k.json
/// ```
///
/// # Panics
/// When the baseline is missing on CI or with `PERF_BASELINE=check`, when the slowdown's
/// interval lies entirely above the tolerance (the message shows both
/// summaries and how to accept the change), or when the baseline file is corrupt or of
/// another format version (the message names the file and how to regenerate it).
/// [`BaselineCheck`] returns the same as a `Result`.
#[macro_export]
macro_rules! assert_no_regression {
    ($($opt:ident = $val:expr),+ ; $name:expr, $f:expr $(,)?) => {{
        let check = $crate::__perf_baseline_check!($name $(, $opt = $val)+);
        let f = $f;
        $crate::__perf_sync_only!(f);
        $crate::regress::latency::__finish(check.run(f))
    }};
    ($name:expr, $f:expr $(,)?) => {{
        let check = $crate::__perf_baseline_check!($name);
        let f = $f;
        $crate::__perf_sync_only!(f);
        $crate::regress::latency::__finish(check.run(f))
    }};
}

/// [`assert_no_regression!`] for async code: takes a closure that returns a future and
/// awaits each on the current runtime (use it inside `#[tokio::test]`).
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// use perf_core::assert_no_regression_async;
/// # let dir = tempfile::tempdir().unwrap();
/// assert_no_regression_async!(samples = 100, warmup = 5, dir = dir.path(), ci = false;
///     "yield_once", || async { tokio::task::yield_now().await });
/// # });
/// ```
#[macro_export]
macro_rules! assert_no_regression_async {
    ($($opt:ident = $val:expr),+ ; $name:expr, $f:expr $(,)?) => {
        $crate::regress::latency::__finish(
            $crate::__perf_baseline_check!($name $(, $opt = $val)+)
                .run_async($f)
                .await,
        )
    };
    ($name:expr, $f:expr $(,)?) => {
        $crate::regress::latency::__finish(
            $crate::__perf_baseline_check!($name).run_async($f).await,
        )
    };
}

/// The [`BaselineCheck`] both baseline macros run: the calling crate's directory (read at
/// the caller's compile time, so the file lands in the crate under test), then the options.
#[doc(hidden)]
#[macro_export]
macro_rules! __perf_baseline_check {
    ($name:expr $(, $opt:ident = $val:expr)*) => {
        $crate::regress::baseline::BaselineCheck::new($name)
            .manifest_dir(::core::env!("CARGO_MANIFEST_DIR"))
            $(.$opt($val))*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_file_names() {
        for bad in ["", ".hidden", "a/b", "a b", "../x"] {
            assert!(
                matches!(check_name(bad), Err(BaselineError::InvalidName(_))),
                "{bad}"
            );
        }
        assert!(check_name("parse_v2.small-input").is_ok());
    }
}
