//! [`Slo`]: the limits a run must keep (a latency percentile, the error rate, dropped
//! requests, the target staying up), parsed from text such as `p99<200ms, errors<1%`, and
//! the assertions of a report against them.

use std::fmt;
use std::time::Duration;

use perf_core::format_duration;

use crate::error::ConfigError;
use crate::report::Report;

/// The error kinds that mean the target went away.
const REFUSED: &str = "connection refused";

/// The service-level objective a run is judged by. A run also fails it when any request
/// met a refused connection: the target went away.
///
/// ```
/// use std::time::Duration;
/// use perf_load::Slo;
///
/// let slo = Slo::parse("p99 < 200ms, errors < 1%, dropped <= 0").unwrap();
/// assert_eq!(slo, Slo::new().percentile(99.0, Duration::from_millis(200)).unwrap()
///     .max_error_rate(0.01).max_dropped(0));
/// assert!(Slo::parse("p99 < soon").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Slo {
    limits: Vec<Limit>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Limit {
    /// Latency (from the intended start) at quantile `q` below `max`.
    Percentile {
        q: f64,
        max: Duration,
        inclusive: bool,
    },
    ErrorRate {
        max: f64,
        inclusive: bool,
    },
    /// At most `max` dropped requests.
    Dropped {
        max: u64,
    },
}

/// The limits a run broke, in the order the SLO lists them.
///
/// ```
/// let v = perf_load::SloViolation { reasons: vec!["p99 812ms ≥ 200ms".into()] };
/// assert_eq!(v.to_string(), "p99 812ms ≥ 200ms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloViolation {
    /// One line per broken limit.
    pub reasons: Vec<String>,
}

impl fmt::Display for SloViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reasons.join("; "))
    }
}

impl std::error::Error for SloViolation {}

/// Parses `200ms`, `1.5s`, `2m` (humantime units; a bare `0` is zero).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(perf_load::parse_duration("200ms").unwrap(), Duration::from_millis(200));
/// assert!(perf_load::parse_duration("fast").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let bad = |why: String| ConfigError::Slo {
        given: s.to_owned(),
        why,
        example: "200ms, 1.5s or 2m",
    };
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    // Milliseconds before seconds: "200ms" also ends in 's'.
    for (unit, per_second) in [("ms", 1_000u64), ("s", 1)] {
        let Some(number) = t.strip_suffix(unit).map(str::trim) else {
            continue;
        };
        // Whole numbers exactly, with no float rounding; fractions through f64.
        if let Ok(n) = number.parse::<u64>() {
            return Ok(Duration::from_secs(n / per_second)
                + Duration::from_nanos((n % per_second) * (1_000_000_000 / per_second)));
        }
        if let Ok(v) = number.parse::<f64>() {
            if v.is_finite() && v >= 0.0 {
                return Duration::try_from_secs_f64(v / per_second as f64).map_err(|_| {
                    bad("longer than the longest duration (about 584 billion years)".into())
                });
            }
        }
    }
    humantime::parse_duration(t).map_err(|e| bad(e.to_string()))
}

/// Parses an error rate: `1%` or `0.01`, between 0 and 1.
///
/// ```
/// assert_eq!(perf_load::parse_rate("2.5%").unwrap(), 0.025);
/// assert!(perf_load::parse_rate("150%").is_err());
/// ```
pub fn parse_rate(s: &str) -> Result<f64, ConfigError> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match v {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(ConfigError::Slo {
            given: s.to_owned(),
            why: "not a rate between 0 and 1 (or 0% and 100%)".into(),
            example: "1% or 0.01",
        }),
    }
}

impl Slo {
    /// No limit but the target staying up.
    pub fn new() -> Self {
        Slo::default()
    }

    /// Latency at percentile `p` (e.g. `99.0`, `99.9`) below `max`.
    pub fn percentile(mut self, p: f64, max: Duration) -> Result<Self, ConfigError> {
        if !(p > 0.0 && p <= 100.0) {
            return Err(ConfigError::Slo {
                given: format!("p{p}"),
                why: "a percentile is above 0 and at most 100".into(),
                example: "p99 < 200ms",
            });
        }
        self.limits.push(Limit::Percentile {
            q: p / 100.0,
            max,
            inclusive: false,
        });
        Ok(self)
    }

    /// Failed requests below `rate` of the completed ones (`0.01` = 1%).
    pub fn max_error_rate(mut self, rate: f64) -> Self {
        self.limits.push(Limit::ErrorRate {
            max: rate,
            inclusive: rate == 0.0,
        });
        self
    }

    /// At most `n` dropped requests.
    pub fn max_dropped(mut self, n: u64) -> Self {
        self.limits.push(Limit::Dropped { max: n });
        self
    }

    /// Parses comma-separated limits: `p99 < 200ms`, `p99.9 <= 1s`, `max < 2s`,
    /// `errors < 1%` (or `error_rate`), `dropped <= 0`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut slo = Slo::new();
        for clause in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            slo.limits.push(parse_clause(clause)?);
        }
        Ok(slo)
    }

    /// Whether the SLO says anything beyond the target staying up.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Judges `report`: `Err` lists every limit it broke.
    ///
    /// ```
    /// let slo = perf_load::Slo::parse("errors < 1%").unwrap();
    /// assert!(slo.check(&perf_load::Report::empty()).is_ok());
    /// ```
    pub fn check(&self, report: &Report) -> Result<(), SloViolation> {
        let mut reasons = Vec::new();
        let refused: u64 = report
            .error_kinds
            .iter()
            .filter(|k| k.kind.contains(REFUSED))
            .map(|k| k.count)
            .sum();
        if refused > 0 {
            reasons.push(format!(
                "target went away: {refused} requests met a refused connection"
            ));
        }
        for limit in &self.limits {
            match *limit {
                Limit::Percentile { q, max, inclusive } => {
                    let got = report.latency.quantile(q);
                    if report.latency.count > 0 && broken(got > max, got == max, inclusive) {
                        reasons.push(format!(
                            "{} latency {} {} {}",
                            stat_name(q),
                            format_duration(got),
                            if inclusive { ">" } else { "≥" },
                            format_duration(max)
                        ));
                    }
                }
                Limit::ErrorRate { max, inclusive } => {
                    let got = report.error_rate();
                    if broken(got > max, got == max, inclusive) {
                        reasons.push(format!(
                            "error rate {:.2}% ({} of {}) {} {}%",
                            got * 100.0,
                            report.errors,
                            report.ok + report.errors,
                            if inclusive { ">" } else { "≥" },
                            max * 100.0
                        ));
                    }
                }
                Limit::Dropped { max } => {
                    if report.dropped > max {
                        reasons.push(format!(
                            "{} requests dropped at the in-flight cap > {max}",
                            report.dropped
                        ));
                    }
                }
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(SloViolation { reasons })
        }
    }
}

fn broken(above: bool, equal: bool, inclusive: bool) -> bool {
    above || (equal && !inclusive)
}

fn stat_name(q: f64) -> String {
    if q >= 1.0 {
        "max".into()
    } else {
        format!("p{}", (q * 1000.0).round() / 10.0)
    }
}

fn parse_clause(clause: &str) -> Result<Limit, ConfigError> {
    let bad = |why: &str| ConfigError::Slo {
        given: clause.to_owned(),
        why: why.to_owned(),
        example: "p99 < 200ms, errors < 1%, dropped <= 0",
    };
    let (stat, inclusive, value) = match clause.split_once("<=") {
        Some((s, v)) => (s, true, v),
        None => match clause.split_once('<') {
            Some((s, v)) => (s, false, v),
            None => return Err(bad("a limit reads `stat < value` or `stat <= value`")),
        },
    };
    let (stat, value) = (stat.trim().to_ascii_lowercase(), value.trim());
    // A bad value is reported with its whole clause, so a long SLO says which part is wrong.
    let in_clause = |e: ConfigError| match e {
        ConfigError::Slo { why, example, .. } => ConfigError::Slo {
            given: clause.to_owned(),
            why,
            example,
        },
        other => other,
    };
    let parse_duration = |v: &str| parse_duration(v).map_err(in_clause);
    let parse_rate = |v: &str| parse_rate(v).map_err(in_clause);
    match stat.as_str() {
        "errors" | "error_rate" => Ok(Limit::ErrorRate {
            max: parse_rate(value)?,
            inclusive,
        }),
        "dropped" => {
            let max: u64 = value
                .parse()
                .map_err(|_| bad("dropped takes a whole number"))?;
            Ok(Limit::Dropped {
                max: if inclusive {
                    max
                } else {
                    max.saturating_sub(1)
                },
            })
        }
        "max" => Ok(Limit::Percentile {
            q: 1.0,
            max: parse_duration(value)?,
            inclusive,
        }),
        s => {
            let p = s
                .strip_prefix('p')
                .map(|d| {
                    if d == "999" {
                        "99.9".to_owned()
                    } else {
                        d.to_owned()
                    }
                })
                .and_then(|d| d.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p < 100.0)
                .ok_or_else(|| bad("the statistic is p50, p99, p99.9, max, errors or dropped"))?;
            Ok(Limit::Percentile {
                q: p / 100.0,
                max: parse_duration(value)?,
                inclusive,
            })
        }
    }
}

impl Report {
    /// Judges the report against `slo`.
    pub fn check(&self, slo: &Slo) -> Result<(), SloViolation> {
        slo.check(self)
    }

    /// Panics, printing what broke and the report, unless the run kept `slo` (text as
    /// [`Slo::parse`] reads it). For integration tests.
    ///
    /// ```
    /// perf_load::Report::empty().assert_that("p99 < 50ms, errors < 1%");
    /// ```
    #[track_caller]
    pub fn assert_that(&self, slo: &str) {
        match Slo::parse(slo) {
            Err(e) => panic!("load assertion not understood: {e}"),
            Ok(slo) => self.assert_slo(&slo),
        }
    }

    /// Panics, printing what broke and the report, unless the run kept `slo`.
    #[track_caller]
    pub fn assert_slo(&self, slo: &Slo) {
        if let Err(v) = self.check(slo) {
            panic!(
                "load assertion failed:\n  - {}\n\n{self}",
                v.reasons.join("\n  - ")
            );
        }
    }
}
