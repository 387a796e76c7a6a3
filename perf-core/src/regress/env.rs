//! The environment variables that steer the regression assertions on CI, read in this one
//! place. Each has a parsing function taking the raw value, so it is tested without touching
//! the process environment.
//!
//! | variable | values | effect |
//! |---|---|---|
//! | `PERF_LATENCY_SCALE` | a positive number, e.g. `2` or `1.5` | multiplies every `assert_latency!` threshold (slow CI machines) |
//! | `PERF_BASELINE` | `update`, `check`, or unset | `update` rewrites every baseline instead of comparing; `check` fails when a baseline is missing; unset creates a missing one unless `CI` is set |
//! | `CI` | any non-empty value | a missing baseline fails instead of being created (set by CI services) |
//! | `PERF_BASELINE_DIR` | a directory | where baselines live (default `$CARGO_MANIFEST_DIR/perf-baselines`) |

use std::path::PathBuf;

/// Name of the threshold-scale variable.
pub const LATENCY_SCALE_VAR: &str = "PERF_LATENCY_SCALE";
/// Name of the baseline-mode variable.
pub const BASELINE_MODE_VAR: &str = "PERF_BASELINE";
/// Name of the baseline-directory variable.
pub const BASELINE_DIR_VAR: &str = "PERF_BASELINE_DIR";
/// Name of the variable CI services set (GitHub Actions, GitLab, Travis, CircleCI, ...).
pub const CI_VAR: &str = "CI";

/// An environment variable holds a value perf cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not valid: {expected}")]
pub struct EnvError {
    /// The variable.
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// What it should hold.
    pub expected: &'static str,
}

/// Parses a `PERF_LATENCY_SCALE` value; unset or empty means `1.0`.
///
/// ```
/// use perf_core::env::parse_latency_scale;
/// assert_eq!(parse_latency_scale(None), Ok(1.0));
/// assert_eq!(parse_latency_scale(Some("2")), Ok(2.0));
/// assert!(parse_latency_scale(Some("-1")).is_err());
/// ```
pub fn parse_latency_scale(raw: Option<&str>) -> Result<f64, EnvError> {
    let raw = match raw.map(str::trim) {
        None | Some("") => return Ok(1.0),
        Some(r) => r,
    };
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(EnvError {
            var: LATENCY_SCALE_VAR,
            value: raw.to_owned(),
            expected:
                "give a finite number greater than 0, e.g. 2 to double every threshold, or unset it",
        }),
    }
}

/// The threshold scale from `PERF_LATENCY_SCALE` (1.0 when unset).
pub fn latency_scale() -> Result<f64, EnvError> {
    parse_latency_scale(std::env::var(LATENCY_SCALE_VAR).ok().as_deref())
}

/// What a baseline assertion does with its baseline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaselineMode {
    /// `PERF_BASELINE` unset: compare with the file; a missing file is written (with a note
    /// on stderr) on a developer machine, and fails when `CI` is set, so a CI run that never
    /// got its baselines committed cannot pass without comparing. The default.
    #[default]
    Auto,
    /// `PERF_BASELINE=check`: compare with the file; a missing file fails.
    Check,
    /// Measure and overwrite the file without comparing.
    Update,
}

/// Parses a `PERF_BASELINE` value; unset or empty means [`BaselineMode::Auto`].
///
/// ```
/// use perf_core::env::{parse_baseline_mode, BaselineMode};
/// assert_eq!(parse_baseline_mode(Some("update")), Ok(BaselineMode::Update));
/// assert_eq!(parse_baseline_mode(Some("check")), Ok(BaselineMode::Check));
/// assert_eq!(parse_baseline_mode(None), Ok(BaselineMode::Auto));
/// ```
pub fn parse_baseline_mode(raw: Option<&str>) -> Result<BaselineMode, EnvError> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(BaselineMode::Auto),
        Some("check") => Ok(BaselineMode::Check),
        Some("update") => Ok(BaselineMode::Update),
        Some(other) => Err(EnvError {
            var: BASELINE_MODE_VAR,
            value: other.to_owned(),
            expected: "use `update` to rewrite baselines, `check` to compare and fail on a missing one, or unset it",
        }),
    }
}

/// The baseline mode from `PERF_BASELINE`.
pub fn baseline_mode() -> Result<BaselineMode, EnvError> {
    parse_baseline_mode(std::env::var(BASELINE_MODE_VAR).ok().as_deref())
}

/// Whether a `CI` value means "running on CI": any non-empty value (services set `true`).
///
/// ```
/// use perf_core::env::parse_ci;
/// assert!(parse_ci(Some("true")));
/// assert!(!parse_ci(Some("")));
/// assert!(!parse_ci(None));
/// ```
pub fn parse_ci(raw: Option<&str>) -> bool {
    raw.is_some_and(|v| !v.trim().is_empty())
}

/// Whether `CI` is set in the process environment.
pub fn ci() -> bool {
    parse_ci(std::env::var(CI_VAR).ok().as_deref())
}

/// The baseline directory from a `PERF_BASELINE_DIR` value and a `CARGO_MANIFEST_DIR` value:
/// the first if set, else `perf-baselines` under the second, else `perf-baselines` relative
/// to the working directory.
///
/// ```
/// use std::path::PathBuf;
/// use perf_core::env::resolve_baseline_dir;
/// assert_eq!(resolve_baseline_dir(None, Some("/crate")), PathBuf::from("/crate/perf-baselines"));
/// assert_eq!(resolve_baseline_dir(Some("/b"), Some("/crate")), PathBuf::from("/b"));
/// ```
pub fn resolve_baseline_dir(dir: Option<&str>, manifest_dir: Option<&str>) -> PathBuf {
    match (
        dir.filter(|d| !d.is_empty()),
        manifest_dir.filter(|d| !d.is_empty()),
    ) {
        (Some(d), _) => PathBuf::from(d),
        (None, Some(m)) => PathBuf::from(m).join("perf-baselines"),
        (None, None) => PathBuf::from("perf-baselines"),
    }
}

/// The baseline directory from `PERF_BASELINE_DIR` and `CARGO_MANIFEST_DIR` (cargo sets the
/// latter when it runs tests).
pub fn baseline_dir() -> PathBuf {
    resolve_baseline_dir(
        std::env::var(BASELINE_DIR_VAR).ok().as_deref(),
        std::env::var("CARGO_MANIFEST_DIR").ok().as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_rejects_nonsense() {
        for bad in ["0", "-2", "NaN", "inf", "two", "1e400"] {
            let err = parse_latency_scale(Some(bad)).unwrap_err();
            assert_eq!(err.var, "PERF_LATENCY_SCALE");
            assert!(err.to_string().contains("greater than 0"), "{err}");
        }
        assert_eq!(parse_latency_scale(Some(" 1.5 ")), Ok(1.5));
        assert_eq!(parse_latency_scale(Some("")), Ok(1.0));
    }

    #[test]
    fn mode_parses_case_insensitively() {
        assert_eq!(
            parse_baseline_mode(Some("UPDATE")),
            Ok(BaselineMode::Update)
        );
        assert_eq!(parse_baseline_mode(Some("check")), Ok(BaselineMode::Check));
        let err = parse_baseline_mode(Some("rewrite")).unwrap_err();
        assert!(err.to_string().contains("use `update`"), "{err}");
    }

    #[test]
    fn dir_falls_back() {
        assert_eq!(
            resolve_baseline_dir(Some(""), None),
            PathBuf::from("perf-baselines")
        );
    }
}
