//! [`Profile`]: the sampled stacks of a CPU profile, and its outputs: the pprof protobuf,
//! the flame graph SVG (inferno) and the top-N table.

use std::collections::BTreeMap;
use std::time::Duration;

use pprof::protos::Message;

use super::error::ProfileError;
use super::top::{Top, TopRow};

/// One distinct call stack and how many samples landed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    /// The sampled thread's name (or its id when it has none).
    pub thread: String,
    /// Function names, outermost first; inlined functions have frames of their own.
    pub frames: Vec<String>,
    /// Samples that landed on this stack.
    pub samples: u64,
}

/// A CPU profile: where the sampled threads spent their CPU time.
///
/// ```
/// use std::time::Duration;
///
/// let profile = perf_core::profile::cpu(Duration::from_millis(50)).unwrap();
/// std::fs::write(std::env::temp_dir().join("cpu.pb"), profile.pprof()).unwrap();
/// println!("{}", profile.top(10));
/// assert_eq!(profile.frequency_hz(), 99);
/// ```
#[derive(Clone, Debug)]
pub struct Profile {
    stacks: Vec<Stack>,
    pprof: Vec<u8>,
    frequency_hz: u32,
    duration: Duration,
}

impl Profile {
    pub(super) fn from_report(
        report: &pprof::Report,
        frequency_hz: u32,
        duration: Duration,
    ) -> Result<Profile, ProfileError> {
        let mut stacks: Vec<Stack> = report
            .data
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(frames, count)| Stack {
                thread: frames.thread_name_or_id(),
                // pprof-rs lists the innermost frame first, and inside a frame the
                // innermost inlined function first.
                frames: frames
                    .frames
                    .iter()
                    .rev()
                    .flat_map(|symbols| symbols.iter().rev().map(|s| s.name()))
                    .collect(),
                samples: *count as u64,
            })
            .collect();
        stacks.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.frames.cmp(&b.frames)));
        let pprof = report.pprof()?.encode_to_vec();
        Ok(Profile {
            stacks,
            pprof,
            frequency_hz,
            duration,
        })
    }

    /// The distinct stacks, most samples first.
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }

    /// How many samples the profile holds.
    pub fn samples(&self) -> u64 {
        self.stacks.iter().map(|s| s.samples).sum()
    }

    /// The sampling rate, in samples per second of CPU time.
    pub fn frequency_hz(&self) -> u32 {
        self.frequency_hz
    }

    /// How long the profile ran (wall-clock time).
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The CPU time one sample stands for: 1 / the sampling rate.
    pub fn sample_period(&self) -> Duration {
        Duration::from_secs(1) / self.frequency_hz.max(1)
    }

    /// The profile in pprof's protobuf format (`profile.proto`, uncompressed), as
    /// `go tool pprof`, Grafana Pyroscope and Speedscope read it.
    pub fn pprof(&self) -> &[u8] {
        &self.pprof
    }

    /// The share of samples, 0.0 to 1.0, whose stack has a frame whose name contains
    /// `pattern`: "this test spends under 10% of its time in `serde_json`" is
    /// `profile.share_of("serde_json") < 0.10`. 0.0 for an empty profile.
    pub fn share_of(&self, pattern: &str) -> f64 {
        let total = self.samples();
        if total == 0 {
            return 0.0;
        }
        let hit: u64 = self
            .stacks
            .iter()
            .filter(|s| s.frames.iter().any(|f| f.contains(pattern)))
            .map(|s| s.samples)
            .sum();
        hit as f64 / total as f64
    }

    /// The `n` functions with the most self samples (ties: more total samples first, then
    /// by name), with their total samples: a frame's function counts once per stack even
    /// when it recurses.
    pub fn top(&self, n: usize) -> Top {
        let mut by_name: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for stack in &self.stacks {
            if let Some(leaf) = stack.frames.last() {
                by_name.entry(leaf).or_default().0 += stack.samples;
            }
            let mut seen: Vec<&str> = Vec::with_capacity(stack.frames.len());
            for f in &stack.frames {
                if !seen.contains(&f.as_str()) {
                    seen.push(f);
                    by_name.entry(f).or_default().1 += stack.samples;
                }
            }
        }
        let mut rows: Vec<TopRow> = by_name
            .into_iter()
            .map(|(name, (self_samples, total_samples))| TopRow {
                name: name.to_owned(),
                self_samples,
                total_samples,
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.self_samples, b.total_samples, &a.name).cmp(&(
                a.self_samples,
                a.total_samples,
                &b.name,
            ))
        });
        rows.truncate(n);
        Top {
            rows,
            samples: self.samples(),
            sample_period: self.sample_period(),
        }
    }

    /// The stacks in the folded format of Brendan Gregg's flame graph tools
    /// (`thread;outer;…;inner count`, one stack a line), which inferno and speedscope read.
    pub fn folded(&self) -> String {
        let mut out = String::new();
        for s in &self.stacks {
            out.push_str(&s.thread.replace(';', ":"));
            for f in &s.frames {
                out.push(';');
                out.push_str(&f.replace(';', ":"));
            }
            out.push(' ');
            out.push_str(itoa::Buffer::new().format(s.samples));
            out.push('\n');
        }
        out
    }

    /// The flame graph, an interactive SVG drawn by inferno: one box per function on a
    /// stack, as wide as its share of the samples, callers below callees. Every function
    /// is findable by name (the SVG's search, or the text of its `<title>`).
    /// Fails with [`ProfileError::NoSamples`] on an empty profile.
    pub fn flamegraph_svg(&self) -> Result<String, ProfileError> {
        if self.stacks.is_empty() {
            return Err(ProfileError::NoSamples);
        }
        let folded = self.folded();
        let mut options = pprof::flamegraph::Options::default();
        options.title = format!(
            "CPU profile: {} samples at {} Hz over {:.1} s",
            self.samples(),
            self.frequency_hz,
            self.duration.as_secs_f64()
        );
        let mut svg = Vec::new();
        pprof::flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
            .map_err(|e| ProfileError::FlameGraph(e.to_string()))?;
        String::from_utf8(svg).map_err(|e| ProfileError::FlameGraph(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(stacks: &[(&[&str], u64)]) -> Profile {
        Profile {
            stacks: stacks
                .iter()
                .map(|(frames, samples)| Stack {
                    thread: "main".into(),
                    frames: frames.iter().map(|f| f.to_string()).collect(),
                    samples: *samples,
                })
                .collect(),
            pprof: Vec::new(),
            frequency_hz: 100,
            duration: Duration::from_secs(1),
        }
    }

    #[test]
    fn top_counts_self_at_the_leaf_and_total_once_per_stack() {
        let p = profile(&[
            (&["main", "handle", "parse"], 6),
            (&["main", "handle", "handle", "render"], 3),
            (&["main"], 1),
        ]);
        let top = p.top(3);
        let rows: Vec<(&str, u64, u64)> = top
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.self_samples, r.total_samples))
            .collect();
        assert_eq!(
            rows,
            [("parse", 6, 6), ("render", 3, 3), ("main", 1, 10)],
            "{top}"
        );
        assert_eq!(top.samples, 10);
        assert_eq!(p.top(10).row("handle").unwrap().total_samples, 9);
    }

    #[test]
    fn share_of_counts_stacks_with_a_matching_frame() {
        let p = profile(&[
            (&["main", "serde_json::de::parse"], 1),
            (&["main", "work"], 3),
        ]);
        assert_eq!(p.share_of("serde_json"), 0.25);
        assert_eq!(p.share_of("nowhere"), 0.0);
        assert_eq!(profile(&[]).share_of("main"), 0.0);
    }

    #[test]
    fn folded_lines_are_thread_then_outermost_first() {
        let p = profile(&[(&["main", "a;b"], 2)]);
        assert_eq!(p.folded(), "main;main;a:b 2\n");
    }

    #[test]
    fn flamegraph_of_an_empty_profile_is_an_error_that_says_why() {
        assert!(matches!(
            profile(&[]).flamegraph_svg(),
            Err(ProfileError::NoSamples)
        ));
        let svg = profile(&[(&["main", "hot_function"], 5)])
            .flamegraph_svg()
            .unwrap();
        assert!(svg.contains("hot_function"), "{svg}");
    }
}
