//! [`LlmBenchmark`]: what to send, at which levels, judged by which SLO; and the loop that
//! runs the levels in order and stops at the first one that breaks the SLO.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use perf_core::clock::Clock;
use serde_json::json;

use crate::llm::client::{stream_once, Endpoint, Target};
use crate::llm::error::LlmError;
use crate::llm::level::{Level, LevelReport, LevelTally, OnCount};
use crate::llm::progress::{LevelProgress, LevelProgressFn, OnRequest};
use crate::llm::prompts::{synthetic_prompts, Prompt};
use crate::llm::report::{BreakPoint, LlmReport, Slo};

/// A benchmark of an OpenAI-compatible `/v1/chat/completions` endpoint: each level sends
/// `requests` streamed chat completions (`stream: true`, `stream_options.include_usage`),
/// then the levels' numbers are judged against the [`Slo`].
///
/// Defaults: concurrency levels 1, 2, 4, 8, 16; 50 requests per level; synthetic prompts of
/// 512 tokens; `max_tokens` 128; a 300 s timeout per request; stop at the break point.
///
/// ```no_run
/// use perf_load::llm::{LlmBenchmark, Slo};
///
/// # async fn demo() -> Result<(), perf_load::llm::LlmError> {
/// let report = LlmBenchmark::new("http://127.0.0.1:8000", "meta-llama/Llama-3.1-8B-Instruct")?
///     .concurrency([1, 2, 4, 8])
///     .input_tokens(512)
///     .max_tokens(128)
///     .slo(Slo { ttft_p99: Some(Slo::parse_limit("1s")?), ..Slo::default() })
///     .run(|level| eprintln!("{} done", level.level))
///     .await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LlmBenchmark {
    target: Target,
    model: String,
    levels: Vec<Level>,
    requests: usize,
    input_tokens: usize,
    max_tokens: u32,
    prompts: Option<Vec<Prompt>>,
    slo: Slo,
    keep_going: bool,
    on_request: Option<OnRequest>,
}

impl LlmBenchmark {
    /// A benchmark of `url` (`http://host:port`, optionally with the path) asking for `model`.
    pub fn new(url: &str, model: impl Into<String>) -> Result<Self, LlmError> {
        Ok(LlmBenchmark {
            target: Target {
                endpoint: Endpoint::parse(url)?,
                api_key: None,
                timeout: Duration::from_secs(300),
                clock: Clock::system(),
            },
            model: model.into(),
            levels: [1, 2, 4, 8, 16].map(Level::Concurrency).to_vec(),
            requests: 50,
            input_tokens: 512,
            max_tokens: 128,
            prompts: None,
            slo: Slo::default(),
            keep_going: false,
            on_request: None,
        })
    }

    /// Closed-loop levels: this many requests in flight at each.
    pub fn concurrency(mut self, levels: impl IntoIterator<Item = usize>) -> Self {
        self.levels = levels.into_iter().map(Level::Concurrency).collect();
        self
    }

    /// Open-loop levels: this many requests started per second at each.
    pub fn rates(mut self, rates: impl IntoIterator<Item = f64>) -> Self {
        self.levels = rates.into_iter().map(Level::Rate).collect();
        self
    }

    /// Requests sent at each level.
    pub fn requests(mut self, n: usize) -> Self {
        self.requests = n;
        self
    }

    /// The length of synthetic prompts, in tokens (ignored with [`prompts`](Self::prompts)).
    pub fn input_tokens(mut self, n: usize) -> Self {
        self.input_tokens = n;
        self
    }

    /// `max_tokens` of each request (a prompt's own `max_tokens` wins).
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = n;
        self
    }

    /// Sends these prompts, in turn, instead of synthetic ones.
    pub fn prompts(mut self, prompts: Vec<Prompt>) -> Self {
        self.prompts = Some(prompts);
        self
    }

    /// The SLO each level is judged against.
    pub fn slo(mut self, slo: Slo) -> Self {
        self.slo = slo;
        self
    }

    /// Runs the levels after the break point too.
    pub fn keep_going(mut self, yes: bool) -> Self {
        self.keep_going = yes;
        self
    }

    /// A request that has not ended after this long is a counted `timeout` error.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.target.timeout = t;
        self
    }

    /// Sent as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.target.api_key = Some(key.into());
        self
    }

    /// Calls `f` each time a request ends, with its level and how many of the level's
    /// requests are done (a progress bar; `on_level` of [`run`](Self::run) sees each level's
    /// numbers once it ends).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = perf_load::llm::LlmBenchmark::new("http://127.0.0.1:8000", "m").unwrap()
    ///     .on_request(Arc::new(|p| eprint!("\r{p}")));
    /// ```
    pub fn on_request(mut self, f: LevelProgressFn) -> Self {
        self.on_request = Some(OnRequest(f));
        self
    }

    /// Times with `clock` instead of the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.target.clock = clock;
        self
    }

    fn validate(&self) -> Result<(), LlmError> {
        if self.levels.is_empty() {
            return Err(LlmError::NoLevels);
        }
        for l in &self.levels {
            let ok = match *l {
                Level::Concurrency(n) => n >= 1,
                Level::Rate(r) => r.is_finite() && r > 0.0 && 1.0 / r < 1e9,
            };
            if !ok {
                return Err(LlmError::BadLevel(l.to_string()));
            }
        }
        if self.requests == 0 {
            return Err(LlmError::NoRequests);
        }
        if self.max_tokens == 0 {
            return Err(LlmError::NoOutputTokens);
        }
        if self.prompts.as_ref().is_some_and(Vec::is_empty) {
            return Err(LlmError::NoPrompts);
        }
        Ok(())
    }

    /// The request bodies of level `index`: synthetic prompts differ from level to level,
    /// so a server's prefix cache cannot serve a later level from an earlier one.
    fn bodies(&self, index: usize) -> Vec<Bytes> {
        let body = |p: &Prompt| {
            let v = json!({"model": self.model, "messages": p.messages,
                "max_tokens": p.max_tokens.unwrap_or(self.max_tokens),
                "temperature": 0.0, "stream": true,
                "stream_options": {"include_usage": true}});
            Bytes::from(v.to_string())
        };
        match &self.prompts {
            Some(p) => (0..self.requests).map(|i| body(&p[i % p.len()])).collect(),
            None => synthetic_prompts(self.requests * (index + 1), self.input_tokens)
                [self.requests * index..]
                .iter()
                .map(body)
                .collect(),
        }
    }

    /// Runs the levels in order on the current tokio runtime, calling `on_level` after each.
    pub async fn run(&self, mut on_level: impl FnMut(&LevelReport)) -> Result<LlmReport, LlmError> {
        self.validate()?;
        let target = Arc::new(self.target.clone());
        let mut report = LlmReport {
            url: self.target.endpoint.to_string(),
            model: self.model.clone(),
            requests_per_level: self.requests,
            slo: self.slo.clone(),
            levels: Vec::new(),
            break_point: None,
            last_good: None,
            stopped_early: false,
            resources: None,
        };
        for (i, level) in self.levels.iter().enumerate() {
            let bodies = Arc::new(self.bodies(i));
            let start = target.clock.now_nanos();
            let on_count = self.on_request.clone().map(|OnRequest(f)| {
                let at = LevelProgress {
                    level: *level,
                    index: i,
                    levels: self.levels.len(),
                    done: 0,
                    errors: 0,
                    requests: bodies.len() as u64,
                };
                OnCount(Box::new(move |done, errors| {
                    f(&LevelProgress { done, errors, ..at })
                }))
            });
            let tally = Arc::new(LevelTally::reporting_to(on_count));
            match *level {
                Level::Concurrency(n) => closed_loop(&target, &bodies, n, &tally).await,
                Level::Rate(r) => open_loop(&target, &bodies, r, &tally).await,
            }
            let result = tally.finish(*level, target.clock.elapsed_since(start));
            on_level(&result);
            let verdict = self.slo.judge(&result);
            report.levels.push(result);
            match verdict {
                None if report.break_point.is_none() => report.last_good = Some(*level),
                None => {}
                Some(reason) => {
                    if report.break_point.is_none() {
                        report.break_point = Some(BreakPoint {
                            level: *level,
                            reason,
                        });
                    }
                    if !self.keep_going {
                        report.stopped_early = i + 1 < self.levels.len();
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// [`run`](Self::run) on a runtime of its own, for a program without one. Called from
    /// inside an async runtime, it returns [`LlmError::Runtime`]: use `run(..).await` there.
    pub fn run_blocking(&self, on_level: impl FnMut(&LevelReport)) -> Result<LlmReport, LlmError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(LlmError::Runtime(std::io::Error::other(
                "run_blocking was called inside an async runtime; use run(..).await there",
            )));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(LlmError::Runtime)?;
        rt.block_on(self.run(on_level))
    }
}

fn joined(r: Result<(), tokio::task::JoinError>) {
    // A panic in a request is a bug in this crate: show it, do not count it.
    if let Err(e) = r {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// `n` workers, each sending the next body as soon as its previous request ended.
async fn closed_loop(
    target: &Arc<Target>,
    bodies: &Arc<Vec<Bytes>>,
    n: usize,
    tally: &Arc<LevelTally>,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..n.min(bodies.len()))
        .map(|_| {
            let (target, bodies, next, tally) =
                (target.clone(), bodies.clone(), next.clone(), tally.clone());
            tokio::spawn(async move {
                while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                    tally.add(stream_once(&target, body.clone()).await);
                }
            })
        })
        .collect();
    for w in workers {
        joined(w.await);
    }
}

/// One request started every `1 / rate` seconds, on schedule, whatever earlier ones do.
async fn open_loop(
    target: &Arc<Target>,
    bodies: &Arc<Vec<Bytes>>,
    rate: f64,
    tally: &Arc<LevelTally>,
) {
    let start = tokio::time::Instant::now();
    let mut requests = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        let (target, body, tally) = (target.clone(), body.clone(), tally.clone());
        requests.push(tokio::spawn(async move {
            tally.add(stream_once(&target, body).await);
        }));
    }
    for r in requests {
        joined(r.await);
    }
}
