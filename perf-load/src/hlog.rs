//! HdrHistogram interval logs of a run (`--hlog out.hlog`), which HdrHistogram's plotter
//! and other HDR tools read, and the merge of several such logs into one [`Report`]
//! (`perf-load merge`): runs made at the same time on several machines.
//!
//! Each second of a run is two histograms of nanoseconds, tagged `latency` (from the
//! intended start) and `service` (from the actual start); the `max` column is in
//! milliseconds (`MaxValueDivisor` 1e6), as HdrHistogram's Java tools write it. Counts the
//! histograms do not hold (errors, dropped requests, error kinds) travel in `#[perf-load]`
//! comment lines, which other tools skip.

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2Serializer};
use hdrhistogram::Histogram;

use crate::error_kinds::ErrorTally;
use crate::report::{Mode, Report};
use crate::summary::of_hdr;
use crate::timeline::{new_histogram, Interval, Second};

const LATENCY: &str = "latency";
const SERVICE: &str = "service";
const MARK: &str = "[perf-load] ";

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HlogError {
    /// Not an interval log, or a damaged one.
    #[error("{name}: not an HdrHistogram interval log (parse error at byte {offset}); give files written by `perf-load --hlog`")]
    Parse {
        /// The log's name as given.
        name: String,
        /// Where parsing stopped.
        offset: usize,
    },
    /// An interval whose histogram cannot be decoded.
    #[error("{name}: interval at {at:?} holds no valid histogram ({why})")]
    Histogram {
        /// The log's name as given.
        name: String,
        /// The interval's timestamp.
        at: Duration,
        /// What the decoder said.
        why: String,
    },
    /// Nothing to merge.
    #[error("no interval logs given: pass at least one .hlog file")]
    Empty,
}

impl Report {
    /// Writes the run's per-second histograms as an HdrHistogram interval log.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// perf_load::Report::empty().write_hlog(&mut out).unwrap();
    /// assert!(String::from_utf8(out).unwrap().contains("#[StartTime: "));
    /// ```
    pub fn write_hlog(&self, out: &mut impl io::Write) -> io::Result<()> {
        let mut ser = V2Serializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment("perf-load: latency = from the intended start, service = from the actual start, values in ns")
            .add_comment(&format!(
                "{MARK}requests={} ok={} errors={} dropped={} late={} target_rate={} achieved_rate={} duration_s={}",
                self.requests,
                self.ok,
                self.errors,
                self.dropped,
                self.late,
                self.target_rate.unwrap_or(0.0),
                self.achieved_rate,
                self.duration.as_secs_f64()
            ))
            .with_start_time(self.wall_start)
            .with_base_time(self.wall_start)
            .with_max_value_divisor(1e6);
        for k in &self.error_kinds {
            builder.add_comment(&format!(
                "{MARK}error count={} kind={}",
                k.count,
                k.kind.replace('\n', " ")
            ));
        }
        for s in self.timeline.iter().filter(|s| s.errors > 0) {
            builder.add_comment(&format!("{MARK}second={} errors={}", s.second, s.errors));
        }
        let mut log = builder.begin_log_with(out, &mut ser)?;
        let one = Duration::from_secs(1);
        for iv in &self.intervals {
            let at = Duration::from_secs(iv.second);
            for (tag, bytes) in [(LATENCY, &iv.latency), (SERVICE, &iv.service)] {
                log.write_histogram(&Interval::decode(bytes), at, one, Tag::new(tag))
                    .map_err(|e| io::Error::other(format!("{e:?}")))?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Totals {
    requests: u64,
    ok: u64,
    errors: u64,
    dropped: u64,
    late: u64,
    target_rate: f64,
    achieved_rate: f64,
    duration: f64,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn num<T: std::str::FromStr + Default>(line: &str, key: &str) -> T {
    field(line, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

/// Merges interval logs of runs made at the same time (on several machines) into one report:
/// each second's histograms are added by wall-clock time, so the merged timeline is the
/// load all the machines made together. `logs` are `(name, contents)`.
///
/// ```
/// let mut log = Vec::new();
/// perf_load::Report::empty().write_hlog(&mut log).unwrap();
/// let merged = perf_load::hlog::merge(&[("a.hlog", &log[..]), ("b.hlog", &log[..])]).unwrap();
/// assert_eq!(merged.requests, 0);
/// assert!(perf_load::hlog::merge(&[("x", &b"not a log"[..])]).is_err());
/// ```
pub fn merge(logs: &[(&str, &[u8])]) -> Result<Report, HlogError> {
    if logs.is_empty() {
        return Err(HlogError::Empty);
    }
    let mut seconds: BTreeMap<i64, (Histogram<u64>, Histogram<u64>, u64)> = BTreeMap::new();
    let (mut latency, mut service) = (new_histogram(), new_histogram());
    let mut totals = Totals::default();
    let mut kinds = ErrorTally::default();
    let mut parsed = Vec::new();
    let mut earliest: Option<f64> = None;
    for (name, bytes) in logs {
        let (start, entries) = read_log(name, bytes)?;
        earliest = Some(earliest.map_or(start, |e: f64| e.min(start)));
        parsed.push((start, entries));
        let text = String::from_utf8_lossy(bytes);
        let mut had_counts = false;
        for line in text
            .lines()
            .filter_map(|l| l.strip_prefix('#')?.strip_prefix(MARK))
        {
            if line.starts_with("requests=") {
                had_counts = true;
                totals.requests += num::<u64>(line, "requests");
                totals.ok += num::<u64>(line, "ok");
                totals.errors += num::<u64>(line, "errors");
                totals.dropped += num::<u64>(line, "dropped");
                totals.late += num::<u64>(line, "late");
                totals.target_rate += num::<f64>(line, "target_rate");
                totals.achieved_rate += num::<f64>(line, "achieved_rate");
                totals.duration = totals.duration.max(num::<f64>(line, "duration_s"));
            } else if line.starts_with("error count=") {
                let kind = line.split_once(" kind=").map_or("", |(_, k)| k);
                kinds.add(kind, num::<u64>(line, "count"));
            }
        }
        if !had_counts {
            // A log from another tool: every recorded request counts as started and ok.
            let n: u64 = parsed.last().map_or(0, |(_, e): &(f64, Vec<Entry>)| {
                e.iter()
                    .filter(|e| e.tag == LATENCY)
                    .map(|e| e.hist.len())
                    .sum()
            });
            totals.requests += n;
            totals.ok += n;
        }
        for line in text
            .lines()
            .filter_map(|l| l.strip_prefix('#')?.strip_prefix(MARK))
        {
            if let (Some(s), Some(e)) = (field(line, "second"), field(line, "errors")) {
                if let (Ok(s), Ok(e)) = (s.parse::<f64>(), e.parse::<u64>()) {
                    let abs = (start + s).floor() as i64;
                    seconds
                        .entry(abs)
                        .or_insert_with(|| (new_histogram(), new_histogram(), 0))
                        .2 += e;
                }
            }
        }
    }
    let t0 = earliest.unwrap_or(0.0);
    for (_, entries) in &parsed {
        for e in entries {
            let abs = e.at.floor() as i64;
            let slot = seconds
                .entry(abs)
                .or_insert_with(|| (new_histogram(), new_histogram(), 0));
            let (total, per_second) = if e.tag == SERVICE {
                (&mut service, &mut slot.1)
            } else {
                (&mut latency, &mut slot.0)
            };
            // Both sides auto-resize: adding cannot overflow their range.
            let _ = total.add(&e.hist);
            let _ = per_second.add(&e.hist);
        }
    }
    let first = t0.floor() as i64;
    let mut report = Report::empty();
    let mut ser = V2Serializer::new();
    let last = seconds.keys().next_back().copied().unwrap_or(first);
    for abs in first..=last {
        let second = (abs - first) as u64;
        let Some((l, s, errors)) = seconds.get(&abs) else {
            report.timeline.push(Second {
                second,
                ..Second::default()
            });
            continue;
        };
        report.timeline.push(Second {
            second,
            requests: l.len(),
            errors: *errors,
            p50: Duration::from_nanos(l.value_at_quantile(0.5)),
            p99: Duration::from_nanos(l.value_at_quantile(0.99)),
        });
        if !l.is_empty() {
            let (mut lb, mut sb) = (Vec::new(), Vec::new());
            let _ = hdrhistogram::serialization::Serializer::serialize(&mut ser, l, &mut lb);
            let _ = hdrhistogram::serialization::Serializer::serialize(&mut ser, s, &mut sb);
            report.intervals.push(Interval {
                second,
                latency: lb,
                service: sb,
            });
        }
    }
    report.mode = Mode::Merged;
    report.requests = totals.requests;
    report.ok = totals.ok;
    report.errors = totals.errors;
    report.dropped = totals.dropped;
    report.late = totals.late;
    report.target_rate = (totals.target_rate > 0.0).then_some(totals.target_rate);
    report.achieved_rate = totals.achieved_rate;
    report.duration = Duration::from_secs_f64(totals.duration.max(0.0));
    report.error_kinds = kinds.sorted();
    report.latency = of_hdr(&latency);
    report.service_time = of_hdr(&service);
    report.wall_start = UNIX_EPOCH + Duration::from_secs_f64(t0.max(0.0));
    Ok(report)
}

struct Entry {
    tag: &'static str,
    /// Seconds since the epoch (or since the log's own zero when it has no base time).
    at: f64,
    hist: Histogram<u64>,
}

/// The log's start (seconds since the epoch) and its intervals tagged latency or service.
fn read_log(name: &str, bytes: &[u8]) -> Result<(f64, Vec<Entry>), HlogError> {
    let (mut start, mut base) = (None, 0.0);
    let mut entries = Vec::new();
    let mut saw_any = false;
    for item in IntervalLogIterator::new(bytes) {
        let entry = item.map_err(|e| HlogError::Parse {
            name: name.to_owned(),
            offset: match e {
                hdrhistogram::serialization::interval_log::LogIteratorError::ParseError {
                    offset,
                } => offset,
            },
        })?;
        saw_any = true;
        match entry {
            LogEntry::StartTime(t) => start = Some(t.as_secs_f64()),
            LogEntry::BaseTime(t) => base = t.as_secs_f64(),
            LogEntry::Interval(iv) => {
                let tag = match iv.tag().map(|t| t.as_str()) {
                    Some(SERVICE) => SERVICE,
                    Some(LATENCY) | None => LATENCY,
                    Some(_) => continue,
                };
                let bad = |why: String| HlogError::Histogram {
                    name: name.to_owned(),
                    at: iv.start_timestamp(),
                    why,
                };
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(iv.encoded_histogram())
                    .map_err(|e| bad(e.to_string()))?;
                let hist: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut &raw[..])
                    .map_err(|e| bad(format!("{e:?}")))?;
                entries.push(Entry {
                    tag,
                    at: base + iv.start_timestamp().as_secs_f64(),
                    hist,
                });
            }
        }
    }
    if !saw_any && !bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(HlogError::Parse {
            name: name.to_owned(),
            offset: 0,
        });
    }
    let start = start
        .or_else(|| entries.first().map(|e| e.at))
        .unwrap_or(base);
    Ok((start, entries))
}
