//! [`Top`]: a CPU profile's functions by self and total time, in the table style of
//! [`Report`](crate::Report).

use std::fmt;
use std::time::Duration;

use crate::summary::format_duration;
use crate::table::write_table;

/// One function of the top-N table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRow {
    /// The function's name (demangled, without its hash).
    pub name: String,
    /// Samples taken while this function itself was running (it was the innermost frame).
    pub self_samples: u64,
    /// Samples taken while this function was anywhere on the stack.
    pub total_samples: u64,
}

/// The functions with the most self time, most first: [`Profile::top`](super::Profile::top).
///
/// ```
/// let profile = perf_core::profile::cpu_while(|| {
///     (0..200_000u64).map(|i| i.wrapping_mul(i) % 7).sum::<u64>()
/// })
/// .unwrap();
/// let top = profile.top(5);
/// assert!(top.rows.len() <= 5);
/// println!("{top}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Top {
    /// The rows, most self samples first.
    pub rows: Vec<TopRow>,
    /// All samples of the profile (the 100% of the percentages).
    pub samples: u64,
    /// The CPU time one sample stands for.
    pub sample_period: Duration,
}

impl Top {
    /// The row of the function named `name`, if it made the table.
    pub fn row(&self, name: &str) -> Option<&TopRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The share, 0.0 to 1.0, of all samples in which `row`'s function was running itself.
    pub fn self_share(&self, row: &TopRow) -> f64 {
        row.self_samples as f64 / self.samples.max(1) as f64
    }
}

impl fmt::Display for Top {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["function", "samples", "self", "%self", "total", "%total"];
        let grand = self.samples.max(1) as f64;
        let time = |samples: u64| {
            format_duration(
                self.sample_period
                    .saturating_mul(u32::try_from(samples).unwrap_or(u32::MAX)),
            )
        };
        let table: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.name.clone(),
                    r.self_samples.to_string(),
                    time(r.self_samples),
                    format!("{:.1}", r.self_samples as f64 * 100.0 / grand),
                    time(r.total_samples),
                    format!("{:.1}", r.total_samples as f64 * 100.0 / grand),
                ]
            })
            .collect();
        write_table(f, &header, &table)?;
        if self.rows.is_empty() {
            writeln!(f, "(no samples: the profiled code used no CPU)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_times_and_shares_of_all_samples() {
        let top = Top {
            rows: vec![
                TopRow {
                    name: "app::parse".into(),
                    self_samples: 3,
                    total_samples: 3,
                },
                TopRow {
                    name: "main".into(),
                    self_samples: 1,
                    total_samples: 4,
                },
            ],
            samples: 4,
            sample_period: Duration::from_millis(10),
        };
        assert_eq!(
            top.to_string(),
            "function    samples    self  %self   total  %total\n\
             app::parse        3  30.0ms   75.0  30.0ms    75.0\n\
             main              1  10.0ms   25.0  40.0ms   100.0\n"
        );
        assert_eq!(top.self_share(&top.rows[0]), 0.75);
    }
}
