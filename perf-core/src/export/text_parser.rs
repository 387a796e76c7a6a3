//! Reads the text exposition back into client-model families, so that the series perf only
//! has as text (the `metrics` facade's, rendered by metrics-exporter-prometheus, and the
//! process collector's) go into the protobuf exposition too. Reading the text keeps
//! metrics-exporter-prometheus' `protobuf` feature, and the `protoc` its build runs, out of
//! every build; the facade's series are counters, gauges and classic histograms and
//! summaries, which the text holds exactly.
//!
//! The text is made outside perf, so reading it never panics: a line that is not a valid
//! HELP, TYPE or sample line, or that contradicts what came before (a second value for one
//! series, a sample of a histogram without its `le`), is skipped and counted.

use std::collections::HashMap;

use super::client_model::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType, Quantile,
    Summary, Untyped,
};

/// The families read from a text exposition, in the order they first appear, and how many
/// lines could not be read.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) families: Vec<MetricFamily>,
    pub(crate) skipped: usize,
}

/// Reads `text` (the Prometheus text format 0.0.4).
pub(crate) fn parse(text: &str) -> Parsed {
    let mut reader = Reader::default();
    for line in text.lines() {
        if reader.line(line).is_none() {
            reader.skipped += 1;
        }
    }
    reader.finish()
}

type Labels = Vec<(String, String)>;

#[derive(Default)]
struct Family {
    name: String,
    help: Option<String>,
    /// `None` until a TYPE line says; a family without one is untyped.
    kind: Option<MetricType>,
    series: Vec<Series>,
    index: HashMap<Labels, usize>,
}

#[derive(Default)]
struct Series {
    labels: Labels,
    value: Option<f64>,
    sum: Option<f64>,
    count: Option<u64>,
    buckets: Vec<Bucket>,
    quantiles: Vec<Quantile>,
}

/// Which part of its series a sample line gives.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Value,
    Bucket,
    Quantile,
    Sum,
    Count,
}

/// A sample line's part of its series, read.
enum Set {
    Value(f64),
    Sum(f64),
    Count(u64),
    Bucket(Bucket),
    Quantile(Quantile),
}

#[derive(Default)]
struct Reader {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    skipped: usize,
}

impl Reader {
    /// Reads one line; `None` if it is skipped.
    fn line(&mut self, line: &str) -> Option<()> {
        let line = line.trim_start_matches([' ', '\t']);
        if line.trim_end().is_empty() {
            return Some(());
        }
        match line.strip_prefix('#') {
            Some(comment) => self.comment(comment),
            None => self.sample(line),
        }
    }

    /// `# HELP name text` or `# TYPE name kind`; any other comment is read and ignored.
    fn comment(&mut self, comment: &str) -> Option<()> {
        let mut words = comment
            .trim_start_matches([' ', '\t'])
            .splitn(2, [' ', '\t']);
        let keyword = words.next().unwrap_or_default();
        if keyword != "HELP" && keyword != "TYPE" {
            return Some(());
        }
        let rest = words.next()?.trim_start_matches([' ', '\t']);
        let (name, rest) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        if !is_metric_name(name) {
            return None;
        }
        let i = self.family(name);
        let family = &mut self.families[i];
        if keyword == "HELP" {
            if family.help.is_some() {
                return None;
            }
            family.help = Some(unescape(rest, false));
            return Some(());
        }
        let kind = match rest.trim() {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" => MetricType::Untyped,
            _ => return None,
        };
        // The format puts TYPE before the family's samples, once.
        if family.kind.is_some() || !family.series.is_empty() {
            return None;
        }
        family.kind = Some(kind);
        Some(())
    }

    /// The index of family `name`, added if new.
    fn family(&mut self, name: &str) -> usize {
        *self.by_name.entry(name.to_owned()).or_insert_with(|| {
            self.families.push(Family {
                name: name.to_owned(),
                ..Default::default()
            });
            self.families.len() - 1
        })
    }

    /// `name{labels} value [timestamp]`.
    fn sample(&mut self, line: &str) -> Option<()> {
        let sample = read_sample(line)?;
        let (family, role) = self.role_of(sample.name)?;
        let mut labels = sample.labels;
        // Everything is read before the series is touched, so a skipped line leaves no trace.
        let set = match role {
            Role::Value => Set::Value(parse_float(sample.value)?),
            Role::Sum => Set::Sum(parse_float(sample.value)?),
            Role::Count => Set::Count(parse_count(sample.value)?),
            Role::Bucket => Set::Bucket(Bucket {
                upper_bound: Some(parse_float(&take_label(&mut labels, "le")?)?),
                cumulative_count: Some(parse_count(sample.value)?),
            }),
            Role::Quantile => Set::Quantile(Quantile {
                quantile: Some(parse_float(&take_label(&mut labels, "quantile")?)?),
                value: Some(parse_float(sample.value)?),
            }),
        };
        let family = &mut self.families[family];
        let i = match family.index.get(&labels) {
            Some(&i) => i,
            None => {
                family.index.insert(labels.clone(), family.series.len());
                family.series.push(Series {
                    labels,
                    ..Default::default()
                });
                family.series.len() - 1
            }
        };
        let series = &mut family.series[i];
        match set {
            Set::Value(v) => set_once(&mut series.value, v),
            Set::Sum(v) => set_once(&mut series.sum, v),
            Set::Count(n) => set_once(&mut series.count, n),
            Set::Bucket(b) => {
                series.buckets.push(b);
                Some(())
            }
            Set::Quantile(q) => {
                series.quantiles.push(q);
                Some(())
            }
        }
    }

    /// The family a sample named `name` belongs to and what it sets there: a family of that
    /// very name, else the histogram or summary whose `_bucket`, `_sum` or `_count` it is,
    /// else an untyped family of its own.
    fn role_of(&mut self, name: &str) -> Option<(usize, Role)> {
        if let Some(&i) = self.by_name.get(name) {
            return match self.families[i].kind {
                Some(MetricType::Summary) => Some((i, Role::Quantile)),
                Some(MetricType::Histogram | MetricType::GaugeHistogram) => None,
                _ => Some((i, Role::Value)),
            };
        }
        for (suffix, role) in [
            ("_bucket", Role::Bucket),
            ("_sum", Role::Sum),
            ("_count", Role::Count),
        ] {
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            let Some(&i) = self.by_name.get(base) else {
                continue;
            };
            match (self.families[i].kind, role) {
                (Some(MetricType::Histogram), _) => return Some((i, role)),
                (Some(MetricType::Summary), Role::Sum | Role::Count) => return Some((i, role)),
                // A summary has no buckets; a series of another kind may end so.
                (Some(MetricType::Summary), _) => return None,
                _ => {}
            }
        }
        Some((self.family(name), Role::Value))
    }

    fn finish(self) -> Parsed {
        let families = self
            .families
            .into_iter()
            .filter(|f| !f.series.is_empty())
            .map(|f| {
                let kind = f.kind.unwrap_or(MetricType::Untyped);
                MetricFamily {
                    name: Some(f.name),
                    help: f.help,
                    r#type: Some(kind as i32),
                    metric: f.series.into_iter().map(|s| metric(kind, s)).collect(),
                }
            })
            .collect();
        Parsed {
            families,
            skipped: self.skipped,
        }
    }
}

fn metric(kind: MetricType, s: Series) -> Metric {
    let label = s
        .labels
        .into_iter()
        .map(|(name, value)| LabelPair {
            name: Some(name),
            value: Some(value),
        })
        .collect();
    let mut m = Metric {
        label,
        ..Default::default()
    };
    match kind {
        MetricType::Counter => m.counter = Some(Counter { value: s.value }),
        MetricType::Gauge => m.gauge = Some(Gauge { value: s.value }),
        MetricType::Summary => {
            m.summary = Some(Summary {
                sample_count: s.count,
                sample_sum: s.sum,
                quantile: s.quantiles,
            })
        }
        MetricType::Histogram | MetricType::GaugeHistogram => {
            // Without a `_count` line, the `+Inf` bucket holds the count.
            let inf = s
                .buckets
                .iter()
                .find(|b| b.upper_bound == Some(f64::INFINITY))
                .and_then(|b| b.cumulative_count);
            m.histogram = Some(Histogram {
                sample_count: s.count.or(inf),
                sample_sum: s.sum,
                bucket: s.buckets,
                ..Default::default()
            })
        }
        MetricType::Untyped => m.untyped = Some(Untyped { value: s.value }),
    }
    m
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// Removes label `key` from `labels` and returns its value; `None` if it is missing.
fn take_label(labels: &mut Labels, key: &str) -> Option<String> {
    let i = labels.iter().position(|(k, _)| k == key)?;
    Some(labels.remove(i).1)
}

struct Sample<'a> {
    name: &'a str,
    labels: Labels,
    value: &'a str,
}

fn read_sample(line: &str) -> Option<Sample<'_>> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = read_labels(after, &mut labels)?;
    }
    // The value, then an optional timestamp (read, then dropped: the scrape's time holds).
    let mut tokens = rest.split([' ', '\t']).filter(|t| !t.is_empty());
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let value = tokens.next()?;
    if let Some(timestamp) = tokens.next() {
        timestamp.parse::<i64>().ok()?;
    }
    if tokens.next().is_some() {
        return None;
    }
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// Reads `k="v",...}` into `labels`; returns what follows the `}`.
fn read_labels<'a>(mut s: &'a str, labels: &mut Labels) -> Option<&'a str> {
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(rest) = s.strip_prefix('}') {
            return Some(rest);
        }
        let key_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        let key = &s[..key_end];
        if !is_label_name(key) || labels.iter().any(|(k, _)| k == key) {
            return None;
        }
        s = s[key_end..].trim_start_matches([' ', '\t']);
        s = s.strip_prefix('=')?.trim_start_matches([' ', '\t']);
        s = s.strip_prefix('"')?;
        let end = closing_quote(s)?;
        labels.push((key.to_owned(), unescape(&s[..end], true)));
        s = s[end + 1..].trim_start_matches([' ', '\t']);
        match s.strip_prefix(',') {
            Some(rest) => s = rest,
            None if s.starts_with('}') => {}
            None => return None,
        }
    }
}

/// The byte index of the first `"` in `s` that no backslash escapes.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' if !escaped => return Some(i),
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    None
}

/// Undoes the format's escapes: `\\` and `\n`, and in label values `\"`. Another escape is
/// kept as written, as Prometheus reads it.
fn unescape(s: &str, label_value: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if label_value => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A sample value: a float as Go or Rust writes it, `+Inf`, `-Inf` or `NaN` in any case.
fn parse_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    // Rust's parser also takes `infinity` and `nan` in any case; Go's writes them so.
    if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && !unsigned.eq_ignore_ascii_case("inf")
        && !unsigned.eq_ignore_ascii_case("nan")
    {
        return None;
    }
    s.parse().ok()
}

/// A count: a whole number, written as an integer (exact past 2^53) or as a float.
fn parse_count(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let f = parse_float(s)?;
    // 2^64 as f64: the first value above every u64.
    let whole = f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0;
    whole.then_some(f as u64)
}

#[cfg(test)]
mod tests;
