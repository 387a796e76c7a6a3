//! The baseline file: what `perf-baselines/<name>.json` holds, and how it is read, checked
//! and written (atomically). Public through [`baseline`](crate::regress::baseline).

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::regress::baseline_error::BaselineError;
pub use crate::regress::baseline_error::FORMAT_VERSION;
use crate::regress::fingerprint::Fingerprint;
use crate::regress::sampler::summarize;
use crate::LatencySummary;

/// The headline numbers of a baseline, in nanoseconds, for people reading the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample.
    pub min_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
    /// Mean.
    pub mean_ns: u64,
}

impl From<&LatencySummary> for BaselineSummary {
    fn from(s: &LatencySummary) -> Self {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        BaselineSummary {
            count: s.count,
            min_ns: ns(s.min),
            p50_ns: ns(s.p50),
            p90_ns: ns(s.p90),
            p99_ns: ns(s.p99),
            max_ns: ns(s.max),
            mean_ns: ns(s.mean),
        }
    }
}

/// The content of a baseline file.
///
/// ```
/// use perf_core::baseline::{Baseline, Fingerprint};
/// let b = Baseline::new("parse_small", Fingerprint::current(), vec![30, 10, 20]);
/// assert_eq!(b.samples_ns, vec![10, 20, 30]);
/// let json = b.to_json();
/// assert!(json.starts_with("{\n  \"format_version\": 1,"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The baseline's name (its file stem).
    pub name: String,
    /// Where it was measured.
    pub fingerprint: Fingerprint,
    /// Headline numbers.
    pub summary: BaselineSummary,
    /// Every sample in nanoseconds, sorted ascending (stable diffs).
    pub samples_ns: Vec<u64>,
}

impl Baseline {
    /// A baseline of `samples_ns` (sorted here).
    pub fn new(name: &str, fingerprint: Fingerprint, mut samples_ns: Vec<u64>) -> Self {
        samples_ns.sort_unstable();
        let summary = BaselineSummary::from(&summarize(&samples_ns));
        Baseline {
            format_version: FORMAT_VERSION,
            name: name.to_owned(),
            fingerprint,
            summary,
            samples_ns,
        }
    }

    /// The file's text: pretty JSON, fields in a fixed order, trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads and validates a baseline file.
    pub fn read(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Io {
            path: path.to_owned(),
            error: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses a baseline file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, BaselineError> {
        let corrupt = |reason: String| BaselineError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        match value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            found => {
                return Err(BaselineError::UnsupportedFormat {
                    path: path.to_owned(),
                    found: found.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                })
            }
        }
        let b: Baseline =
            serde_json::from_value(value).map_err(|e| corrupt(format!("unexpected shape: {e}")))?;
        if b.samples_ns.is_empty() {
            return Err(corrupt("it holds no samples".into()));
        }
        Ok(b)
    }

    /// Writes the file atomically (a temporary file in the same directory, then a rename),
    /// creating the directory.
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let io = |e: std::io::Error| BaselineError::Io {
            path: path.to_owned(),
            error: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        std::fs::write(&tmp, self.to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_is_stable() {
        let b = Baseline::new("x", Fingerprint::current(), vec![3, 1, 2]);
        let json = b.to_json();
        assert_eq!(Baseline::parse(&json, Path::new("x.json")).unwrap(), b);
        let keys: Vec<&str> = json
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "format_version",
                "name",
                "fingerprint",
                "summary",
                "samples_ns"
            ]
        );
        assert_eq!(b.to_json(), json);
    }
}
