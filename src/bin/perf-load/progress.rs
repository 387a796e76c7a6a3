//! Progress of a run: an indicatif bar on a terminal, plain lines otherwise (CI logs): one a
//! second for a load run, one per finished level for an LLM benchmark. Both are fed by the
//! run's progress callback.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use perf::load::llm::{LevelProgress, LevelProgressFn};
use perf::load::{Progress, ProgressFn, Step, StepFn};

/// Where progress goes for one run.
pub enum Display {
    Bar(ProgressBar),
    Lines,
}

impl Display {
    /// A bar when stdout is a terminal, else plain lines.
    pub fn new(planned: u64) -> Self {
        if std::io::stdout().is_terminal() {
            let bar = if planned > 0 {
                ProgressBar::new(planned)
            } else {
                ProgressBar::new_spinner()
            };
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            Display::Bar(bar)
        } else {
            Display::Lines
        }
    }

    /// The callback a run calls about once a second.
    pub fn callback(&self) -> ProgressFn {
        match self {
            Display::Bar(bar) => {
                let bar = bar.clone();
                Arc::new(move |p: &Progress| {
                    bar.set_position(p.started);
                    bar.set_message(summary(p));
                })
            }
            Display::Lines => Arc::new(|p: &Progress| {
                println!(
                    "[{:>5.1}s] started {} {}",
                    p.elapsed.as_secs_f64(),
                    p.started,
                    summary(p)
                );
            }),
        }
    }

    /// The callback an LLM benchmark calls as each request ends: the bar counts the level's
    /// requests; plain lines get one line when the level's last request ends.
    pub fn level_callback(&self) -> LevelProgressFn {
        match self {
            Display::Bar(bar) => {
                let bar = bar.clone();
                let level = AtomicUsize::new(usize::MAX);
                Arc::new(move |p: &LevelProgress| {
                    if level.swap(p.index, Relaxed) != p.index {
                        bar.reset();
                        bar.set_length(p.requests);
                    }
                    // Requests ending together may report out of order: never move back.
                    bar.set_position(bar.position().max(p.done));
                    bar.set_message(format!("{} of {}: {}", p.index + 1, p.levels, p.level));
                    if p.done == p.requests {
                        bar.println(p.to_string());
                    }
                })
            }
            Display::Lines => Arc::new(|p: &LevelProgress| {
                if p.done == p.requests {
                    println!("{p}");
                }
            }),
        }
    }

    /// Runs `f` (which prints) with the bar hidden, so its output does not tear the bar.
    pub fn suspend(&self, f: impl FnOnce()) {
        match self {
            Display::Bar(bar) => bar.suspend(f),
            Display::Lines => f(),
        }
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        if let Display::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn summary(p: &Progress) -> String {
    format!(
        "done {} errors {} dropped {} in flight {}",
        p.completed, p.errors, p.dropped, p.in_flight
    )
}

/// A line after each break-point step.
pub fn step_lines() -> StepFn {
    Arc::new(|s: &Step| {
        let level = match (s.rate, s.users) {
            (Some(r), _) => format!("{r:.0} req/s"),
            (_, Some(u)) => format!("{u} users"),
            _ => String::new(),
        };
        println!(
            "step {level}: achieved {:.1} req/s, p99 {}, errors {}, dropped {}: {}",
            s.achieved_rate,
            perf::core::format_duration(s.latency.p99),
            s.errors,
            s.dropped,
            s.violation.as_deref().unwrap_or("ok")
        );
    })
}
