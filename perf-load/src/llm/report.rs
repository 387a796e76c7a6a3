//! The result of a benchmark: every level's numbers, the SLO it was judged against, and
//! the break point, the first level that violated it.

use std::fmt;
use std::time::Duration;

use perf_core::format_duration;
use serde::{Serialize, Serializer};

use crate::llm::error::LlmError;
use crate::llm::level::{Level, LevelReport};
use crate::resources::ResourceReport;

/// The service level a benchmark judges each level against. A level breaks it when its
/// TTFT p99 or ITL p99 is above the limit, or when more requests failed than allowed.
///
/// ```
/// use std::time::Duration;
/// use perf_load::llm::Slo;
/// let slo = Slo { ttft_p99: Some(Slo::parse_limit("500ms").unwrap()), ..Slo::default() };
/// assert_eq!(slo.ttft_p99, Some(Duration::from_millis(500)));
/// assert_eq!(slo.max_errors, 0);
/// assert!(Slo::parse_limit("fast").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Slo {
    /// The highest acceptable TTFT p99.
    #[serde(rename = "ttft_p99_ms", serialize_with = "opt_ms")]
    pub ttft_p99: Option<Duration>,
    /// The highest acceptable ITL p99.
    #[serde(rename = "itl_p99_ms", serialize_with = "opt_ms")]
    pub itl_p99: Option<Duration>,
    /// Failed requests a level may have (0: any error breaks it).
    pub max_errors: u64,
}

impl Slo {
    /// Parses a limit such as `500ms`, `2s` or `1.5s`; zero or garbage is a clear error.
    pub fn parse_limit(text: &str) -> Result<Duration, LlmError> {
        let t = text.trim();
        let d = humantime::parse_duration(t)
            .ok()
            .or_else(|| {
                // humantime has no fractions ("1.5s"); read those as seconds or milliseconds.
                let (num, scale) = match t.strip_suffix("ms") {
                    Some(n) => (n, 1e-3),
                    None => (t.strip_suffix('s')?, 1.0),
                };
                let v: f64 = num.trim().parse().ok()?;
                (v.is_finite() && v > 0.0 && v < 1e9).then(|| Duration::from_secs_f64(v * scale))
            })
            .filter(|d| !d.is_zero());
        d.ok_or_else(|| LlmError::BadLimit(text.to_owned()))
    }

    /// Why `level` violates this SLO, or `None`.
    pub fn judge(&self, level: &LevelReport) -> Option<BreakReason> {
        if level.errors > self.max_errors {
            let (kind, _, example) = level.top_error().unwrap_or_default();
            return Some(BreakReason::Errors {
                errors: level.errors,
                allowed: self.max_errors,
                top_kind: kind.to_owned(),
                example: example.to_owned(),
            });
        }
        let over = |limit: Option<Duration>, p99: Duration, count: u64| {
            limit.filter(|l| count > 0 && p99 > *l)
        };
        if let Some(limit) = over(self.ttft_p99, level.ttft.p99, level.ttft.count) {
            return Some(BreakReason::TtftP99 {
                p99: level.ttft.p99,
                limit,
            });
        }
        if let Some(limit) = over(self.itl_p99, level.itl.p99, level.itl.count) {
            return Some(BreakReason::ItlP99 {
                p99: level.itl.p99,
                limit,
            });
        }
        None
    }
}

/// Why a level broke the SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakReason {
    /// TTFT p99 above the limit.
    TtftP99 {
        /// The level's p99.
        #[serde(rename = "p99_ms", serialize_with = "ms")]
        p99: Duration,
        /// The SLO's limit.
        #[serde(rename = "limit_ms", serialize_with = "ms")]
        limit: Duration,
    },
    /// ITL p99 above the limit.
    ItlP99 {
        /// The level's p99.
        #[serde(rename = "p99_ms", serialize_with = "ms")]
        p99: Duration,
        /// The SLO's limit.
        #[serde(rename = "limit_ms", serialize_with = "ms")]
        limit: Duration,
    },
    /// More failed requests than allowed.
    Errors {
        /// Failed requests.
        errors: u64,
        /// The SLO's allowance.
        allowed: u64,
        /// The most frequent kind.
        top_kind: String,
        /// One message of that kind.
        example: String,
    },
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |d: &Duration| format_duration(*d);
        match self {
            BreakReason::TtftP99 { p99, limit } => {
                write!(f, "TTFT p99 {} above the SLO's {}", p(p99), p(limit))
            }
            BreakReason::ItlP99 { p99, limit } => {
                write!(f, "ITL p99 {} above the SLO's {}", p(p99), p(limit))
            }
            BreakReason::Errors {
                errors,
                allowed,
                top_kind,
                example,
            } => write!(
                f,
                "{errors} failed requests (SLO allows {allowed}); most were {top_kind}: {example}"
            ),
        }
    }
}

/// The first level that broke the SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakPoint {
    /// The level.
    pub level: Level,
    /// Why.
    pub reason: BreakReason,
}

/// A whole benchmark: `levels` in the order run, and where it broke.
///
/// `Display` prints one table row per level and the verdict; `serde_json::to_string` gives
/// `{"url", "model", "slo", "levels": [...], "break_point", "last_good", "stopped_early"}`.
#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    /// The endpoint benchmarked.
    pub url: String,
    /// The model asked for.
    pub model: String,
    /// Requests sent per level.
    pub requests_per_level: usize,
    /// The SLO each level was judged against.
    pub slo: Slo,
    /// Each level run, in order.
    pub levels: Vec<LevelReport>,
    /// The first level that broke the SLO.
    pub break_point: Option<BreakPoint>,
    /// The last level before the break point that met the SLO (the highest good one, since
    /// levels rise).
    pub last_good: Option<Level>,
    /// Levels after the break point were not run (the default, so an overloaded server is
    /// not pushed further).
    pub stopped_early: bool,
    /// What the server used meanwhile, if it was sampled ([`crate::resources`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceReport>,
}

impl LlmReport {
    /// Whether every level met the SLO.
    pub fn passed(&self) -> bool {
        self.break_point.is_none()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Every field serializes to a JSON value: maps have string keys, floats are finite
        // or become null.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

fn col(d: Duration, count: u64) -> String {
    if count == 0 {
        "-".into()
    } else {
        format_duration(d)
    }
}

impl fmt::Display for LlmReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "LLM benchmark of {} (model {}), {} requests per level",
            self.url, self.model, self.requests_per_level
        )?;
        writeln!(
            f,
            "{:<16} {:>5} {:>5} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "level",
            "done",
            "errs",
            "req/s",
            "out tok/s",
            "tok/s/req",
            "ttft p50",
            "ttft p99",
            "itl p50",
            "itl p99",
            "tpot p50",
            "tpot p99",
            "e2el p99"
        )?;
        for l in &self.levels {
            writeln!(
                f,
                "{:<16} {:>5} {:>5} {:>8.2} {:>10.1} {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                l.level.to_string(),
                l.completed,
                l.errors,
                l.request_throughput,
                l.output_throughput,
                l.output_throughput_per_request,
                col(l.ttft.p50, l.ttft.count),
                col(l.ttft.p99, l.ttft.count),
                col(l.itl.p50, l.itl.count),
                col(l.itl.p99, l.itl.count),
                col(l.tpot.p50, l.tpot.count),
                col(l.tpot.p99, l.tpot.count),
                col(l.e2el.p99, l.e2el.count),
            )?;
        }
        let estimated: u64 = self
            .levels
            .iter()
            .map(|l| l.estimated_output_requests)
            .sum();
        if estimated > 0 {
            writeln!(
                f,
                "note: {estimated} requests had no usage chunk; their output tokens are counted content chunks (estimated)"
            )?;
        }
        match &self.break_point {
            Some(b) => {
                write!(f, "break point: {}: {}", b.level, b.reason)?;
                match &self.last_good {
                    Some(g) => write!(f, "; last good: {g}")?,
                    None => write!(f, "; no level met the SLO")?,
                }
                if self.stopped_early {
                    write!(f, " (stopped there; later levels not run)")?;
                }
                writeln!(f)?;
            }
            None => writeln!(f, "no break point: every level met the SLO")?,
        }
        match &self.resources {
            Some(r) => write!(f, "{r}"),
            None => Ok(()),
        }
    }
}

fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_nanos() as f64 / 1e6)
}

fn opt_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ms(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::error::RequestError;
    use crate::llm::timing::RequestMetrics;

    fn level(ttft_ms: u64, errors: usize) -> LevelReport {
        let mut outcomes: Vec<Result<RequestMetrics, RequestError>> = (0..10)
            .map(|_| {
                Ok(RequestMetrics {
                    ttft: Duration::from_millis(ttft_ms),
                    itl: vec![Duration::from_millis(20)],
                    e2el: Duration::from_millis(ttft_ms + 20),
                    output_tokens: 2,
                    ..Default::default()
                })
            })
            .collect();
        outcomes.extend((0..errors).map(|_| Err(RequestError::Timeout(Duration::from_secs(1)))));
        LevelReport::from_outcomes(Level::Concurrency(1), outcomes, Duration::from_secs(1))
    }

    #[test]
    fn the_slo_names_what_broke() {
        let slo = Slo {
            ttft_p99: Some(Duration::from_millis(150)),
            itl_p99: Some(Duration::from_millis(10)),
            max_errors: 1,
        };
        assert!(matches!(
            slo.judge(&level(200, 0)),
            Some(BreakReason::TtftP99 { .. })
        ));
        assert!(matches!(
            slo.judge(&level(100, 0)),
            Some(BreakReason::ItlP99 { .. })
        ));
        let e = slo.judge(&level(100, 2)).unwrap();
        assert_eq!(
            e.to_string(),
            "2 failed requests (SLO allows 1); most were timeout: no complete answer within 1s"
        );
        let lenient = Slo {
            max_errors: 1,
            ..Slo::default()
        };
        assert_eq!(lenient.judge(&level(100, 1)), None);
    }

    #[test]
    fn limits_parse_or_say_why() {
        let p = |t: &str| Slo::parse_limit(t).ok();
        assert_eq!(p("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(p(" 2s "), Some(Duration::from_secs(2)));
        assert_eq!(p("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(p("0.5ms"), Some(Duration::from_micros(500)));
        for bad in ["", "0s", "0ms", "-1s", "NaNs", "ms", "fast", "1e99s"] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
