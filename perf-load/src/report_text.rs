//! The report as aligned plain-text tables (`Display`), and the table layout the break-point
//! report shares.

use std::fmt::{self, Write as _};

use perf_core::{format_duration, LatencySummary};

use crate::recorder::LATE_AFTER;
use crate::report::{Mode, Report};

/// Rows of the per-second timeline printed in full; longer runs print the first and last.
const TIMELINE_ROWS: usize = 40;

/// Writes `rows` under `header`, the first column left-aligned and the others right-aligned.
pub(crate) fn table(f: &mut impl fmt::Write, header: &[&str], rows: &[Vec<String>]) -> fmt::Result {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |f: &mut dyn fmt::Write, cells: &mut dyn Iterator<Item = &str>| -> fmt::Result {
        let mut s = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i == 0 {
                write!(s, "  {cell:<w$}")?;
            } else {
                write!(s, "  {cell:>w$}")?;
            }
        }
        writeln!(f, "{}", s.trim_end())
    };
    line(f, &mut header.iter().copied())?;
    for row in rows {
        line(f, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

fn summary_row(name: &str, s: &LatencySummary) -> Vec<String> {
    let d = |d| {
        if s.count == 0 {
            "-".to_owned()
        } else {
            format_duration(d)
        }
    };
    vec![
        name.to_owned(),
        s.count.to_string(),
        d(s.p50),
        d(s.p90),
        d(s.p99),
        d(s.p999),
        d(s.max),
    ]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs_f64();
        match (self.mode, self.target_rate, self.users) {
            (Mode::ClosedLoop, _, users) => writeln!(
                f,
                "closed loop: {} users, achieved {:.1} req/s over {secs:.2} s",
                users.unwrap_or(0),
                self.achieved_rate
            )?,
            (mode, target, _) => writeln!(
                f,
                "{}: target {} req/s, achieved {:.1} req/s over {secs:.2} s",
                if mode == Mode::Merged {
                    "merged runs"
                } else {
                    "open loop"
                },
                target.map_or("-".to_owned(), |t| format!("{t:.1}")),
                self.achieved_rate
            )?,
        }
        writeln!(
            f,
            "requests {}  ok {}  errors {} ({:.2}%)  dropped {}  late (>{}) {}\n",
            self.requests,
            self.ok,
            self.errors,
            self.error_rate() * 100.0,
            self.dropped,
            format_duration(LATE_AFTER),
            self.late
        )?;
        let mut rows = vec![
            summary_row("latency (from intended start)", &self.latency),
            summary_row("service time (from actual start)", &self.service_time),
        ];
        if let Some(c) = &self.corrected_latency {
            rows.push(summary_row("latency, corrected for omission", c));
        }
        if self.mode != Mode::Merged {
            rows.push(summary_row("generator lag", &self.lag));
        }
        table(
            f,
            &["", "count", "p50", "p90", "p99", "p99.9", "max"],
            &rows,
        )?;
        if self.mode == Mode::ClosedLoop {
            writeln!(
                f,
                "\nclosed loop: each user waits for its answer, so a stall delays the requests \
                 that would have been sent meanwhile instead of measuring them (coordinated \
                 omission); latency equals service time here."
            )?;
            if let (Some(c), Some(every)) = (&self.corrected_latency, self.expected_interval) {
                writeln!(
                    f,
                    "corrected against one request per user every {}: p99 {} instead of {}.",
                    format_duration(every),
                    format_duration(c.p99),
                    format_duration(self.latency.p99)
                )?;
            }
        }
        if !self.error_kinds.is_empty() {
            writeln!(f, "\nerrors by kind")?;
            let rows: Vec<Vec<String>> = self
                .error_kinds
                .iter()
                .map(|e| vec![e.kind.clone(), e.count.to_string()])
                .collect();
            table(f, &["kind", "count"], &rows)?;
        }
        if !self.timeline.is_empty() {
            writeln!(f, "\nper second (by completion)")?;
            let n = self.timeline.len();
            let shown: Vec<_> = if n <= TIMELINE_ROWS {
                self.timeline.iter().collect()
            } else {
                let half = TIMELINE_ROWS / 2;
                self.timeline[..half]
                    .iter()
                    .chain(&self.timeline[n - half..])
                    .collect()
            };
            let rows: Vec<Vec<String>> = shown
                .iter()
                .map(|s| {
                    let d = |d| {
                        if s.requests == 0 {
                            "-".to_owned()
                        } else {
                            format_duration(d)
                        }
                    };
                    vec![
                        s.second.to_string(),
                        s.requests.to_string(),
                        s.errors.to_string(),
                        d(s.p50),
                        d(s.p99),
                    ]
                })
                .collect();
            table(f, &["second", "requests", "errors", "p50", "p99"], &rows)?;
            if n > TIMELINE_ROWS {
                writeln!(
                    f,
                    "  ({} of {n} seconds shown; the JSON has all)",
                    TIMELINE_ROWS
                )?;
            }
        }
        Ok(())
    }
}
