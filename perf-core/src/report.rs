//! [`Report`]: the profile view — every recorded name, slowest total first.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::histogram::Snapshot;
use crate::names::{LABEL_MODULE, LABEL_RESULT};
use crate::registry::{Registry, Series};
use crate::summary::{format_duration, LatencySummary};
use crate::table::write_table;

/// One line of the profile: a name with every label set merged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReportRow {
    /// The function, block or histogram name.
    pub name: String,
    /// The `module` label, when the series have one.
    pub module: Option<String>,
    /// Calls whose outcome was not `ok`.
    pub errors: u64,
    /// The merged summary (count, total, mean, percentiles, max).
    pub summary: LatencySummary,
    /// Allocations and bytes allocated by all its calls, callees included: `Some` for a
    /// timed function when perf's counting allocator is installed
    /// ([`alloc::Counting`](crate::alloc::Counting)).
    pub allocations: Option<RowAllocations>,
}

/// A report row's allocation totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RowAllocations {
    /// Allocations made by all calls.
    pub allocs: u64,
    /// Bytes allocated by all calls.
    pub bytes: u64,
}

/// Every name with samples, sorted by total time spent, largest first: where the time goes.
///
/// ```
/// use std::time::Duration;
/// use perf_core::Registry;
///
/// let registry = Registry::new();
/// registry.histogram("fast", &[]).unwrap().record(Duration::from_micros(5));
/// registry.histogram("slow", &[]).unwrap().record(Duration::from_millis(5));
/// let report = registry.report();
/// assert_eq!(report.rows[0].name, "slow");
/// println!("{report}");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Rows, largest total first.
    pub rows: Vec<ReportRow>,
}

// The report is built here rather than in `registry.rs`, so the registry does not depend on
// the views built on top of it.
impl Registry {
    /// The profile table of every name with samples, slowest total first.
    pub fn report(&self) -> Report {
        Report::from_series(&self.series())
    }
}

impl Report {
    fn from_series(series: &[Series]) -> Report {
        // (name, module) -> (merged snapshot, errors, allocations)
        type Group = (Snapshot, u64, Option<RowAllocations>);
        let mut groups: BTreeMap<(String, Option<String>), Group> = BTreeMap::new();
        for s in series {
            let snap = s.histogram().snapshot();
            if snap.count() == 0 {
                continue;
            }
            let key = (s.name.to_string(), s.label(LABEL_MODULE).map(str::to_owned));
            let entry = groups
                .entry(key)
                .or_insert_with(|| (Snapshot::empty(), 0, None));
            if s.label(LABEL_RESULT).is_some_and(|r| r != "ok") {
                entry.1 += snap.count();
            }
            entry.0.merge(&snap);
            if let Some((allocs, bytes)) = s.allocations() {
                let a = entry.2.get_or_insert_with(RowAllocations::default);
                a.allocs += allocs;
                a.bytes += bytes;
            }
        }
        let mut rows: Vec<ReportRow> = groups
            .into_iter()
            .map(|((name, module), (snap, errors, allocations))| ReportRow {
                name,
                module: module.filter(|m| !m.is_empty()),
                errors,
                summary: snap.summary(),
                allocations,
            })
            .collect();
        // Slowest total first; ties by name.
        rows.sort_by(|a, b| (b.summary.total, &a.name).cmp(&(a.summary.total, &b.name)));
        Report { rows }
    }

    /// The row named `name`, if any.
    pub fn row(&self, name: &str) -> Option<&ReportRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Total time of all rows.
    pub fn total(&self) -> Duration {
        self.rows.iter().map(|r| r.summary.total).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut header = vec![
            "name", "count", "errors", "total", "%time", "mean", "p50", "p95", "p99", "max",
        ];
        let with_allocs = self.rows.iter().any(|r| r.allocations.is_some());
        if with_allocs {
            header.extend(["allocs/call", "bytes/call"]);
        }
        let grand = self.total().as_nanos().max(1) as f64;
        let table: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let s = &r.summary;
                let name = match &r.module {
                    Some(m) => format!("{m}::{}", r.name),
                    None => r.name.clone(),
                };
                let mut cells = vec![
                    name,
                    s.count.to_string(),
                    r.errors.to_string(),
                    format_duration(s.total),
                    format!("{:.1}", s.total.as_nanos() as f64 * 100.0 / grand),
                    format_duration(s.mean),
                    format_duration(s.p50),
                    format_duration(s.p95),
                    format_duration(s.p99),
                    format_duration(s.max),
                ];
                if with_allocs {
                    let per_call = |total: u64| match r.allocations {
                        Some(_) => format!("{:.1}", total as f64 / s.count.max(1) as f64),
                        None => "-".to_owned(),
                    };
                    let a = r.allocations.unwrap_or_default();
                    cells.extend([per_call(a.allocs), per_call(a.bytes)]);
                }
                cells
            })
            .collect();
        write_table(f, &header, &table)?;
        if self.rows.is_empty() {
            writeln!(f, "(nothing recorded yet)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Registry;
    use std::time::Duration;

    #[test]
    fn table_is_aligned_and_sorted_by_total() {
        let r = Registry::new();
        let a = r.histogram("a_short", &[]).unwrap();
        let b = r.histogram("b_much_longer_name", &[]).unwrap();
        for _ in 0..100 {
            a.record(Duration::from_micros(10));
        }
        b.record(Duration::from_millis(50));
        let report = r.report();
        assert_eq!(report.rows[0].name, "b_much_longer_name");
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("name"));
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{text}");
        assert!(lines[2].contains("100"));
    }

    #[test]
    fn empty_report_says_so() {
        assert!(Registry::new()
            .report()
            .to_string()
            .contains("nothing recorded"));
    }
}
