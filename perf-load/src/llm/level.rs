//! One level of a benchmark (a concurrency or a request rate) and what it measured, with
//! vLLM's `benchmark_serving.py` names: `ttft`, `tpot`, `itl`, `e2el`,
//! `request_throughput`, `output_throughput`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use perf_core::{LatencyHistogram, LatencySummary};
use serde::{Serialize, Serializer};

use crate::llm::error::RequestError;
use crate::llm::timing::RequestMetrics;

/// How requests are sent at one level.
///
/// ```
/// use perf_load::llm::Level;
/// assert_eq!(Level::Concurrency(4).to_string(), "concurrency 4");
/// assert_eq!(Level::Rate(2.5).to_string(), "rate 2.5/s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Closed loop: this many requests in flight, the next sent when one ends (vLLM's
    /// `--max-concurrency` with an infinite request rate).
    Concurrency(usize),
    /// Open loop: requests started at this many per second, evenly spaced, whether or not
    /// earlier ones have ended.
    #[serde(rename = "request_rate")]
    Rate(f64),
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Concurrency(n) => write!(f, "concurrency {n}"),
            Level::Rate(r) => write!(f, "rate {r}/s"),
        }
    }
}

/// What one level measured. Serialized with the level's `concurrency` (or `request_rate`),
/// the latency summaries as objects of milliseconds (`p50_ms`, `p99_ms`, …), and the
/// throughputs as `requests_per_s` (vLLM's `request_throughput`) and `output_tokens_per_s`
/// (vLLM's `output_throughput`).
///
/// ```
/// use std::time::Duration;
/// use perf_load::llm::{Level, LevelReport, RequestMetrics};
///
/// let one = RequestMetrics { ttft: Duration::from_millis(100), e2el: Duration::from_secs(1),
///     output_tokens: 10, ..Default::default() };
/// let level = LevelReport::from_outcomes(Level::Concurrency(1), vec![Ok(one)], Duration::from_secs(2));
/// assert_eq!(level.output_throughput, 5.0); // 10 tokens in 2 s
/// let json = serde_json::to_value(&level).unwrap();
/// assert_eq!(json["concurrency"], 1);
/// assert_eq!(json["ttft"]["p50_ms"].as_f64().unwrap().round(), 100.0);
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct LevelReport {
    /// The level.
    #[serde(flatten)]
    pub level: Level,
    /// Requests sent.
    pub requests: u64,
    /// Requests that streamed to their end.
    pub completed: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Failed requests by [`RequestError::kind`].
    pub error_kinds: BTreeMap<String, u64>,
    /// One example message per error kind.
    #[serde(skip)]
    pub error_examples: BTreeMap<String, String>,
    /// From the first request sent to the last one ended.
    #[serde(rename = "duration_s", serialize_with = "secs")]
    pub duration: Duration,
    /// Completed requests per second of `duration`.
    #[serde(rename = "requests_per_s")]
    pub request_throughput: f64,
    /// Output tokens of completed requests per second of `duration`, all requests together.
    #[serde(rename = "output_tokens_per_s")]
    pub output_throughput: f64,
    /// Mean over completed requests of each one's `output_tokens / e2el` (the speed one
    /// user sees; genai-perf's output token throughput per request).
    #[serde(rename = "output_tokens_per_s_per_request")]
    pub output_throughput_per_request: f64,
    /// Output tokens of completed requests.
    pub total_output_tokens: u64,
    /// Completed requests whose output tokens were counted, not reported by the server.
    pub estimated_output_requests: u64,
    /// Input tokens the server reported (`usage.prompt_tokens`).
    pub total_input_tokens: u64,
    /// Time to first token.
    #[serde(serialize_with = "millis")]
    pub ttft: LatencySummary,
    /// Time per output token after the first, one sample per request.
    #[serde(serialize_with = "millis")]
    pub tpot: LatencySummary,
    /// Inter-token latency, one sample per gap between content chunks.
    #[serde(serialize_with = "millis")]
    pub itl: LatencySummary,
    /// End-to-end latency.
    #[serde(serialize_with = "millis")]
    pub e2el: LatencySummary,
}

impl LevelReport {
    /// Summarises the outcomes of one level's requests, which took `duration` in all.
    pub fn from_outcomes(
        level: Level,
        outcomes: Vec<Result<RequestMetrics, RequestError>>,
        duration: Duration,
    ) -> Self {
        let tally = LevelTally::default();
        for outcome in outcomes {
            tally.add(outcome);
        }
        tally.finish(level, duration)
    }

    /// The most frequent error kind, with one message of that kind.
    pub fn top_error(&self) -> Option<(&str, u64, &str)> {
        let (kind, n) = self.error_kinds.iter().max_by_key(|(_, n)| **n)?;
        let example = self.error_examples.get(kind).map_or("", String::as_str);
        Some((kind, *n, example))
    }
}

/// A level's requests folded in as each ends, by any task: memory holds four histograms and
/// some counts, not every request's gaps, however long the run.
#[derive(Debug, Default)]
pub(crate) struct LevelTally {
    ttft: LatencyHistogram,
    tpot: LatencyHistogram,
    itl: LatencyHistogram,
    e2el: LatencyHistogram,
    counts: Mutex<Counts>,
    hook: Option<OnCount>,
}

/// Called with the requests counted so far and the errors among them, each time a
/// request is added (the benchmark's progress report).
pub(crate) struct OnCount(pub(crate) Box<dyn Fn(u64, u64) + Send + Sync>);

impl fmt::Debug for OnCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnCount(..)")
    }
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    completed: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    error_examples: BTreeMap<String, String>,
    total_output_tokens: u64,
    estimated_output_requests: u64,
    total_input_tokens: u64,
    per_request_sum: f64,
}

impl LevelTally {
    /// A tally that reports to `hook` each time a request is added.
    pub(crate) fn reporting_to(hook: Option<OnCount>) -> Self {
        LevelTally {
            hook,
            ..LevelTally::default()
        }
    }

    pub(crate) fn add(&self, outcome: Result<RequestMetrics, RequestError>) {
        if let Ok(m) = &outcome {
            self.ttft.record(m.ttft);
            self.e2el.record(m.e2el);
            if let Some(t) = m.tpot {
                self.tpot.record(t);
            }
            for gap in &m.itl {
                self.itl.record(*gap);
            }
        }
        let (done, errors) = self.count(outcome);
        // Outside the lock: a slow callback must not hold up the other requests' counts.
        if let Some(hook) = &self.hook {
            (hook.0)(done, errors);
        }
    }

    /// Counts `outcome` in; returns the requests counted so far and the errors among them.
    fn count(&self, outcome: Result<RequestMetrics, RequestError>) -> (u64, u64) {
        // A panic elsewhere while the lock was held leaves counts that are still whole.
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.requests += 1;
        match outcome {
            Ok(m) => {
                c.completed += 1;
                c.total_output_tokens += m.output_tokens;
                c.estimated_output_requests += u64::from(m.output_tokens_estimated);
                c.total_input_tokens += m.input_tokens.unwrap_or(0);
                c.per_request_sum += m.output_tokens_per_s().unwrap_or(0.0);
            }
            Err(e) => {
                c.errors += 1;
                let kind = e.kind();
                c.error_examples
                    .entry(kind.clone())
                    .or_insert_with(|| e.to_string());
                *c.error_kinds.entry(kind).or_insert(0) += 1;
            }
        }
        (c.requests, c.errors)
    }

    pub(crate) fn finish(&self, level: Level, duration: Duration) -> LevelReport {
        let c = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        let secs = duration.as_secs_f64();
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        LevelReport {
            level,
            requests: c.requests,
            completed: c.completed,
            errors: c.errors,
            error_kinds: c.error_kinds,
            error_examples: c.error_examples,
            duration,
            request_throughput: per_s(c.completed),
            output_throughput: per_s(c.total_output_tokens),
            output_throughput_per_request: if c.completed > 0 {
                c.per_request_sum / c.completed as f64
            } else {
                0.0
            },
            total_output_tokens: c.total_output_tokens,
            estimated_output_requests: c.estimated_output_requests,
            total_input_tokens: c.total_input_tokens,
            ttft: self.ttft.summary(),
            tpot: self.tpot.summary(),
            itl: self.itl.summary(),
            e2el: self.e2el.summary(),
        }
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// A summary as `{count, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms}`; with no
/// sample, the times are `null`, never a zero that reads as fast.
fn millis<S: Serializer>(l: &LatencySummary, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ms {
        count: u64,
        mean_ms: Option<f64>,
        p50_ms: Option<f64>,
        p90_ms: Option<f64>,
        p95_ms: Option<f64>,
        p99_ms: Option<f64>,
        max_ms: Option<f64>,
    }
    let some = |d: Duration| (l.count > 0).then(|| ms(d));
    Ms {
        count: l.count,
        mean_ms: some(l.mean),
        p50_ms: some(l.p50),
        p90_ms: some(l.p90),
        p95_ms: some(l.p95),
        p99_ms: some(l.p99),
        max_ms: some(l.max),
    }
    .serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ttft_ms: u64, e2el_ms: u64, tokens: u64, itl_ms: &[u64]) -> RequestMetrics {
        RequestMetrics {
            ttft: Duration::from_millis(ttft_ms),
            itl: itl_ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            tpot: None,
            e2el: Duration::from_millis(e2el_ms),
            output_tokens: tokens,
            output_tokens_estimated: tokens == 3,
            input_tokens: Some(100),
        }
    }

    #[test]
    fn throughputs_and_errors_are_exact() {
        let outcomes = vec![
            Ok(req(100, 500, 10, &[20, 20])),
            Ok(req(200, 1000, 3, &[40])),
            Err(RequestError::Status {
                status: 500,
                body: "boom".into(),
            }),
            Err(RequestError::NoContent),
            Err(RequestError::Status {
                status: 500,
                body: String::new(),
            }),
        ];
        let r = LevelReport::from_outcomes(Level::Rate(2.0), outcomes, Duration::from_secs(2));
        assert_eq!((r.requests, r.completed, r.errors), (5, 2, 3));
        assert_eq!(r.request_throughput, 1.0);
        assert_eq!(r.output_throughput, 6.5);
        // mean of 10/0.5 s and 3/1 s
        assert_eq!(r.output_throughput_per_request, 11.5);
        assert_eq!(
            (r.total_input_tokens, r.estimated_output_requests),
            (200, 1)
        );
        assert_eq!((r.itl.count, r.ttft.count, r.tpot.count), (3, 2, 0));
        assert_eq!(
            r.top_error(),
            Some(("status 500", 2, "the server answered 500: boom"))
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["request_rate"], 2.0);
        assert_eq!(json["errors"], 3);
        assert_eq!(json["error_kinds"]["no content"], 1);
        assert_eq!(json["tpot"]["p99_ms"], serde_json::Value::Null);
        assert_eq!(json["requests_per_s"], 1.0);
        assert_eq!(json["output_tokens_per_s"], 6.5);
    }

    #[test]
    fn a_level_of_nothing_is_zero_not_nan() {
        let r = LevelReport::from_outcomes(Level::Concurrency(1), vec![], Duration::ZERO);
        assert_eq!((r.request_throughput, r.output_throughput), (0.0, 0.0));
        assert_eq!(r.top_error(), None);
        assert!(serde_json::to_string(&r).is_ok());
    }
}
