//! A CI gate over criterion's results: reads every `change/estimates.json` criterion wrote
//! when it compared a run with a saved baseline, and flags each benchmark whose mean change
//! has its lower confidence bound above a threshold. The `perf-gate` binary of the `perf`
//! package is a thin command line over [`read_report`] and [`GateReport`].
//!
//! Criterion never deletes results, so the folder also holds benchmarks that the latest run
//! did not measure (filtered out, renamed, removed); their old `change/` files would give
//! false regressions and false passes. Only benchmarks measured in the latest run are judged
//! ([`Selection`]): by default those whose `new/estimates.json` was written within
//! [`DEFAULT_RUN_WINDOW`] of the newest one. The others are listed as stale.
//!
//! CI recipe:
//! ```text
//! git checkout main && cargo bench -- --save-baseline main
//! git checkout -    && cargo bench -- --baseline main
//! cargo run --bin perf-gate -- --threshold 5% target/criterion   # exits 1 on a regression
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

/// Threshold when none is given: 5%.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// How long one `cargo bench` run may take by default: a benchmark whose results are older
/// than the newest one by more than this was not measured in the latest run.
pub const DEFAULT_RUN_WINDOW: Duration = Duration::from_secs(60 * 60);

/// A confidence interval as criterion writes it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ConfidenceInterval {
    /// E.g. 0.95.
    pub confidence_level: f64,
    /// Lower bound.
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
}

/// One statistic's estimate as criterion writes it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Estimate {
    /// Its interval.
    pub confidence_interval: ConfidenceInterval,
    /// The point estimate.
    pub point_estimate: f64,
    /// Its standard error.
    pub standard_error: f64,
}

/// The content of criterion's `change/estimates.json`: relative changes (0.05 = 5% slower)
/// against the baseline. Other statistics in the file are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ChangeEstimates {
    /// Change of the mean time per iteration.
    pub mean: Estimate,
    /// Change of the median time per iteration.
    pub median: Estimate,
}

/// One benchmark's change.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchChange {
    /// The benchmark's id: its directory under the criterion folder (`group/function/input`).
    pub name: String,
    /// The `estimates.json` file.
    pub path: PathBuf,
    /// The estimates.
    pub estimates: ChangeEstimates,
    /// When criterion last measured it: the modification time of its `new/estimates.json`
    /// (of the `change/` file when `new/` is absent).
    pub measured: SystemTime,
}

/// How a benchmark's mean changed, judged against the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval of the mean change is above `+threshold`.
    Regressed,
    /// The whole interval is below `-threshold`.
    Improved,
    /// Anything else: no change beyond the threshold is established.
    NoChange,
}

impl BenchChange {
    /// This benchmark's verdict at `threshold` (a fraction: 0.05 = 5%).
    pub fn verdict(&self, threshold: f64) -> Verdict {
        let ci = self.estimates.mean.confidence_interval;
        if ci.lower_bound > threshold {
            Verdict::Regressed
        } else if ci.upper_bound < -threshold {
            Verdict::Improved
        } else {
            Verdict::NoChange
        }
    }
}

/// Reading criterion's results failed.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The folder does not exist.
    #[error("{0} does not exist: run `cargo bench -- --baseline <name>` first, or pass the criterion folder (default target/criterion)")]
    NoFolder(PathBuf),
    /// The folder holds no `change/estimates.json`.
    #[error("no criterion change data under {0}: criterion writes change/estimates.json only when it compares with an earlier run — run `cargo bench -- --save-baseline main` on the base commit, then `cargo bench -- --baseline main` on yours")]
    NoData(PathBuf),
    /// A file or folder could not be read.
    #[error("could not read {path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// An `estimates.json` is not what criterion 0.5 writes.
    #[error("{path} does not look like criterion's change/estimates.json ({reason}); is it from another tool or a much older criterion? delete target/criterion and rerun the benches")]
    UnexpectedShape {
        /// The file.
        path: PathBuf,
        /// What did not parse.
        reason: String,
    },
    /// `--only` named benchmarks that have no change data.
    #[error("no criterion change data for {missing:?} under {root}; benchmarks found: {found:?}. Check the names (group/function/input), or drop --only to judge every benchmark of the latest run")]
    UnknownBenches {
        /// The folder.
        root: PathBuf,
        /// The names asked for but not found.
        missing: Vec<String>,
        /// The names found.
        found: Vec<String>,
    },
    /// The run window is not a duration.
    #[error("invalid window {0:?}: give how long one bench run takes, e.g. 1h or 20m")]
    BadWindow(String),
    /// The threshold is not a number or percentage.
    #[error("invalid threshold {0:?}: give a percentage such as 5% (or 5), at least 0")]
    BadThreshold(String),
}

/// Parses a threshold: `5%`, `5` (both 5%), `0.5%`.
///
/// ```
/// use perf_core::gate::parse_threshold;
/// assert_eq!(parse_threshold("5%").unwrap(), 0.05);
/// assert_eq!(parse_threshold("2.5").unwrap(), 0.025);
/// assert!(parse_threshold("-1%").is_err());
/// ```
pub fn parse_threshold(raw: &str) -> Result<f64, GateError> {
    let t = raw.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / 100.0),
        _ => Err(GateError::BadThreshold(raw.to_owned())),
    }
}

/// Parses a run window: `1h`, `30m`, `90s` (humantime syntax).
///
/// ```
/// use std::time::Duration;
/// use perf_core::gate::parse_window;
/// assert_eq!(parse_window("30m").unwrap(), Duration::from_secs(1800));
/// assert!(parse_window("soon").is_err());
/// ```
pub fn parse_window(raw: &str) -> Result<Duration, GateError> {
    humantime::parse_duration(raw.trim()).map_err(|_| GateError::BadWindow(raw.to_owned()))
}

/// Parses one `change/estimates.json`.
pub fn parse_change(text: &str, path: &Path) -> Result<ChangeEstimates, GateError> {
    let e: ChangeEstimates =
        serde_json::from_str(text).map_err(|err| GateError::UnexpectedShape {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
    let ci = e.mean.confidence_interval;
    if ci.lower_bound > ci.upper_bound {
        return Err(GateError::UnexpectedShape {
            path: path.to_owned(),
            reason: format!(
                "mean lower_bound {} is above upper_bound {}",
                ci.lower_bound, ci.upper_bound
            ),
        });
    }
    Ok(e)
}

/// Every benchmark's change under a criterion folder (e.g. `target/criterion`), sorted by
/// name.
pub fn read_changes(root: &Path) -> Result<Vec<BenchChange>, GateError> {
    if !root.is_dir() {
        return Err(GateError::NoFolder(root.to_owned()));
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    if out.is_empty() {
        return Err(GateError::NoData(root.to_owned()));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<BenchChange>) -> Result<(), GateError> {
    let io = |path: &Path, error| GateError::Io {
        path: path.to_owned(),
        error,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if entry.file_name() == "change" {
            let file = path.join("estimates.json");
            if file.is_file() {
                let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
                let estimates = parse_change(&text, &file)?;
                let new = dir.join("new").join("estimates.json");
                let stamped = if new.is_file() { &new } else { &file };
                let measured = std::fs::metadata(stamped)
                    .and_then(|m| m.modified())
                    .map_err(|e| io(stamped, e))?;
                let name = dir
                    .strip_prefix(root)
                    .unwrap_or(dir)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(BenchChange {
                    name,
                    path: file,
                    estimates,
                    measured,
                });
            }
        } else {
            walk(root, &path, out)?;
        }
    }
    Ok(())
}

/// Which benchmarks the latest run measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Those measured within this long of the most recently measured one.
    Window(Duration),
    /// Exactly these names (`group/function/input`), e.g. the benches a CI job ran.
    Only(Vec<String>),
}

impl Default for Selection {
    fn default() -> Self {
        Selection::Window(DEFAULT_RUN_WINDOW)
    }
}

/// Splits `changes` into those the latest run measured and the stale rest (in name order).
pub fn split_stale(
    root: &Path,
    changes: Vec<BenchChange>,
    selection: &Selection,
) -> Result<(Vec<BenchChange>, Vec<BenchChange>), GateError> {
    // Not measured.elapsed(): that would tie the verdict to the wall clock. The newest
    // result stands in for "the latest run", so a gate run a day later judges the same set.
    let newest = changes.iter().map(|c| c.measured).max();
    let fresh = |c: &BenchChange| match selection {
        Selection::Only(names) => names.contains(&c.name),
        Selection::Window(window) => {
            newest.is_some_and(|n| n.duration_since(c.measured).unwrap_or_default() <= *window)
        }
    };
    if let Selection::Only(names) = selection {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !changes.iter().any(|c| &c.name == *n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(GateError::UnknownBenches {
                root: root.to_owned(),
                missing,
                found: changes.into_iter().map(|c| c.name).collect(),
            });
        }
    }
    Ok(changes.into_iter().partition(|c| fresh(c)))
}

/// Reads the criterion folder and judges the benchmarks of the latest run at `threshold`.
pub fn read_report(
    root: &Path,
    threshold: f64,
    selection: &Selection,
) -> Result<GateReport, GateError> {
    let (changes, stale) = split_stale(root, read_changes(root)?, selection)?;
    Ok(GateReport {
        threshold,
        changes,
        stale,
    })
}

/// The gate's judgement over the benchmarks of the latest run.
///
/// ```
/// use perf_core::gate::{parse_change, BenchChange, GateReport};
/// use std::path::Path;
/// use std::time::SystemTime;
///
/// let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.08,"upper_bound":0.12},"point_estimate":0.10,"standard_error":0.01},
///                "median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.07,"upper_bound":0.11},"point_estimate":0.09,"standard_error":0.01}}"#;
/// let change = BenchChange { name: "parse/small".into(), path: "x".into(),
///     estimates: parse_change(json, Path::new("x")).unwrap(), measured: SystemTime::now() };
/// let report = GateReport { threshold: 0.05, changes: vec![change], stale: vec![] };
/// assert_eq!(report.regressions().count(), 1);
/// println!("{report}");
/// ```
#[derive(Debug, Clone)]
pub struct GateReport {
    /// Threshold as a fraction.
    pub threshold: f64,
    /// The changes of the benchmarks the latest run measured.
    pub changes: Vec<BenchChange>,
    /// Benchmarks with change data from an earlier run: listed, not judged.
    pub stale: Vec<BenchChange>,
}

impl GateReport {
    /// The benchmarks that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &BenchChange> {
        self.changes
            .iter()
            .filter(|c| c.verdict(self.threshold) == Verdict::Regressed)
    }
}

fn pct(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

impl fmt::Display for GateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let regressed: Vec<&BenchChange> = self.regressions().collect();
        for c in &regressed {
            let m = c.estimates.mean;
            writeln!(
                f,
                "REGRESSION {}: mean {} ({:.0}% CI {} .. {}), lower bound above the {:.2}% threshold",
                c.name,
                pct(m.point_estimate),
                m.confidence_interval.confidence_level * 100.0,
                pct(m.confidence_interval.lower_bound),
                pct(m.confidence_interval.upper_bound),
                self.threshold * 100.0
            )?;
        }
        if !regressed.is_empty() {
            writeln!(f)?;
        }
        let width = self
            .changes
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(9)
            .max(9);
        writeln!(
            f,
            "{:<width$}  {:>9}  {:>21}  {:>9}  verdict",
            "benchmark", "mean", "mean CI", "median"
        )?;
        for c in &self.changes {
            let m = c.estimates.mean;
            let ci = format!(
                "[{}, {}]",
                pct(m.confidence_interval.lower_bound),
                pct(m.confidence_interval.upper_bound)
            );
            let verdict = match c.verdict(self.threshold) {
                Verdict::Regressed => "REGRESSED",
                Verdict::Improved => "improved",
                Verdict::NoChange => "no change",
            };
            writeln!(
                f,
                "{:<width$}  {:>9}  {:>21}  {:>9}  {verdict}",
                c.name,
                pct(m.point_estimate),
                ci,
                pct(c.estimates.median.point_estimate)
            )?;
        }
        for c in &self.stale {
            writeln!(
                f,
                "stale (not measured in the latest run, not judged): {}",
                c.name
            )?;
        }
        write!(
            f,
            "{} benchmarks, {} regressed beyond {:.2}%, {} skipped as stale",
            self.changes.len(),
            regressed.len(),
            self.threshold * 100.0,
            self.stale.len()
        )
    }
}

#[cfg(test)]
mod tests;
