//! [`BreakPoint`]: raise the rate step by step until a step breaks the SLO, and
//! [`ConcurrencySweep`]: the same with 1, 2, 4, … closed-loop users. Both stop at the first
//! bad step unless asked to go on, so an overloaded target is not pushed over on purpose.

use std::fmt::{self, Display};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use perf_core::{format_duration, LatencySummary};
use serde::Serialize;

use crate::closed_loop::ClosedLoop;
use crate::error::ConfigError;
use crate::open_loop::OpenLoop;
use crate::report::Report;
use crate::report_text::table;
use crate::schedule::Schedule;
use crate::slo::Slo;
use crate::summary::as_ms;
use crate::target::Target;

/// Steps a search runs at most unless told otherwise.
pub const DEFAULT_MAX_STEPS: usize = 20;

/// One step of a break-point search.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The step's target rate (rate search).
    pub rate: Option<f64>,
    /// The step's users (concurrency sweep).
    pub users: Option<usize>,
    /// Requests started per second.
    pub achieved_rate: f64,
    /// Requests started.
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Requests dropped at the in-flight cap.
    pub dropped: u64,
    /// Latency from the intended start.
    #[serde(serialize_with = "as_ms")]
    pub latency: LatencySummary,
    /// Latency from the actual start.
    #[serde(serialize_with = "as_ms")]
    pub service_time: LatencySummary,
    /// Why the step broke the SLO; `None` for a good step.
    pub violation: Option<String>,
}

impl Step {
    fn of(report: &Report, rate: Option<f64>, users: Option<usize>, slo: &Slo) -> Step {
        Step {
            rate,
            users,
            achieved_rate: report.achieved_rate,
            requests: report.requests,
            ok: report.ok,
            errors: report.errors,
            dropped: report.dropped,
            latency: report.latency.clone(),
            service_time: report.service_time.clone(),
            violation: slo.check(report).err().map(|v| v.to_string()),
        }
    }

    /// Whether the step kept the SLO.
    pub fn is_good(&self) -> bool {
        self.violation.is_none()
    }
}

/// Called after each step (a progress line).
pub type StepFn = Arc<dyn Fn(&Step) + Send + Sync>;

/// What break-point searches share besides their levels: whether to go on after the first
/// bad step, and a callback after each step.
///
/// ```
/// use std::sync::Arc;
/// let options = perf_load::SearchOptions::default()
///     .keep_going(true)
///     .on_step(Arc::new(|step| println!("{:?} ok={}", step.rate, step.is_good())));
/// ```
#[derive(Clone, Default)]
pub struct SearchOptions {
    keep_going: bool,
    on_step: Option<StepFn>,
}

impl SearchOptions {
    /// Goes on after the first bad step, up to the last level.
    pub fn keep_going(mut self, yes: bool) -> Self {
        self.keep_going = yes;
        self
    }

    /// Calls `f` after each step.
    pub fn on_step(mut self, f: StepFn) -> Self {
        self.on_step = Some(f);
        self
    }
}

/// The SLO and the search options, as a search applies them.
#[derive(Clone)]
struct Judge {
    slo: Slo,
    keep_going: bool,
    on_step: Option<StepFn>,
}

impl Judge {
    fn new(slo: Slo) -> Self {
        Judge {
            slo,
            keep_going: false,
            on_step: None,
        }
    }

    fn apply(&mut self, o: SearchOptions) {
        self.keep_going = o.keep_going;
        self.on_step = o.on_step;
    }
}

/// What a break-point search found. In JSON, next to its own fields, it carries the report
/// of the last step it ran (`target_rate`, `latency`, …).
#[derive(Debug, Clone, Serialize)]
pub struct BreakPointReport {
    /// The highest rate whose step kept the SLO (`null` in JSON when none did).
    pub last_good_rate: Option<f64>,
    /// The first rate whose step broke it (`null` when none did).
    pub first_bad_rate: Option<f64>,
    /// The most users whose step kept the SLO (concurrency sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_good_users: Option<usize>,
    /// The first number of users whose step broke it (concurrency sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_users: Option<usize>,
    /// Why the first bad step broke the SLO, or why the search ended without one.
    pub reason: String,
    /// Every step run, in order.
    pub steps: Vec<Step>,
    /// The report of the last step run.
    #[serde(flatten)]
    pub last_step: Report,
}

impl BreakPointReport {
    /// Whether some step broke the SLO.
    pub fn found(&self) -> bool {
        self.steps.iter().any(|s| !s.is_good())
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl Display for BreakPointReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = |s: &Step| match (s.rate, s.users) {
            (Some(r), _) => format!("{r:.0} req/s"),
            (_, Some(u)) => users(u),
            _ => "-".into(),
        };
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                vec![
                    level(s),
                    format!("{:.1}", s.achieved_rate),
                    s.requests.to_string(),
                    s.errors.to_string(),
                    s.dropped.to_string(),
                    format_duration(s.latency.p50),
                    format_duration(s.latency.p99),
                    format_duration(s.service_time.p99),
                    s.violation.clone().unwrap_or_else(|| "ok".into()),
                ]
            })
            .collect();
        let header = [
            "step",
            "achieved",
            "requests",
            "errors",
            "dropped",
            "p50",
            "p99",
            "service p99",
            "verdict",
        ];
        table(f, &header, &rows)?;
        let show = |r: Option<f64>, u: Option<usize>| match (r, u) {
            (Some(r), _) => format!("{r:.0} req/s"),
            (_, Some(u)) => users(u),
            _ => "none".into(),
        };
        writeln!(
            f,
            "\nlast good: {}   first bad: {}   reason: {}",
            show(self.last_good_rate, self.last_good_users),
            show(self.first_bad_rate, self.first_bad_users),
            self.reason
        )
    }
}

fn users(n: usize) -> String {
    format!("{n} user{}", if n == 1 { "" } else { "s" })
}

/// A break-point search over request rates: `from`, `from + step`, … each for `step_time`,
/// until a step breaks the SLO.
///
/// ```
/// use std::time::Duration;
/// use perf_load::{BreakPoint, Slo};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let slo = Slo::parse("p99 < 100ms, errors < 1%").unwrap();
/// let search = BreakPoint::new(100.0, 100.0, Duration::from_millis(100), slo).unwrap().max_steps(2);
/// let found = search.run(|| async { Ok::<_, String>(()) }).await;
/// assert_eq!(found.steps.len(), 2);
/// assert_eq!(found.last_good_rate, Some(200.0));
/// assert_eq!(found.first_bad_rate, None);
/// # });
/// ```
#[derive(Clone)]
pub struct BreakPoint {
    from: f64,
    step: f64,
    step_time: Duration,
    max_steps: usize,
    judge: Judge,
    base: Option<OpenLoop>,
}

impl BreakPoint {
    /// Rates `from`, `from + step`, … each held for `step_time`, judged by `slo`.
    pub fn new(from: f64, step: f64, step_time: Duration, slo: Slo) -> Result<Self, ConfigError> {
        // Checks the rates and step time before any request is sent.
        Schedule::constant(from, step_time)?;
        if !(step.is_finite() && step > 0.0) {
            return Err(ConfigError::Rate(step));
        }
        Ok(BreakPoint {
            from,
            step,
            step_time,
            max_steps: DEFAULT_MAX_STEPS,
            judge: Judge::new(slo),
            base: None,
        })
    }

    /// Runs at most `n` steps (at least 1).
    pub fn max_steps(mut self, n: usize) -> Self {
        self.max_steps = n.max(1);
        self
    }

    /// Goes on after the first bad step (up to the step limit), and calls `f` after each.
    pub fn options(mut self, options: SearchOptions) -> Self {
        self.judge.apply(options);
        self
    }

    /// Runs each step like `open_loop` (cap, timeout, pacer), with the step's schedule.
    pub fn open_loop(mut self, open_loop: OpenLoop) -> Self {
        self.base = Some(open_loop);
        self
    }

    /// Runs the search against `target`.
    pub async fn run(&self, target: impl Target) -> BreakPointReport {
        let target = Arc::new(target);
        let levels: Vec<f64> = (0..self.max_steps)
            .map(|i| self.from + self.step * i as f64)
            .collect();
        let run = |rate: f64| {
            let t = Arc::clone(&target);
            let base = self.base.clone();
            async move {
                let schedule = Schedule::constant(rate, self.step_time).ok()?;
                let run = match base {
                    Some(b) => b.with_schedule(schedule),
                    None => OpenLoop::new(schedule),
                };
                Some(run.run(move || t.call()).await)
            }
        };
        let search = Search::over(levels, Axis::Rate, &self.judge, run).await;
        let (good, bad, out) = search.finish(self.max_steps);
        BreakPointReport {
            last_good_rate: good,
            first_bad_rate: bad,
            last_good_users: None,
            first_bad_users: None,
            ..out
        }
    }
}

#[derive(Clone, Copy)]
enum Axis {
    Rate,
    Users,
}

/// The steps so far, and the good and bad levels they found.
#[derive(Default)]
struct Search {
    steps: Vec<Step>,
    last: Option<Report>,
    good: Option<f64>,
    bad: Option<f64>,
    reason: Option<String>,
}

impl Search {
    /// Runs `run` at each level in turn, until a bad one unless the settings say go on.
    async fn over<R, Fut>(levels: Vec<f64>, axis: Axis, judge: &Judge, run: R) -> Search
    where
        R: Fn(f64) -> Fut,
        Fut: Future<Output = Option<Report>>,
    {
        let mut search = Search::default();
        for level in levels {
            let Some(report) = run(level).await else {
                search.reason = Some(format!("level {level} cannot be run"));
                break;
            };
            let (rate, users) = match axis {
                Axis::Rate => (Some(level), None),
                Axis::Users => (None, Some(level as usize)),
            };
            let step = Step::of(&report, rate, users, &judge.slo);
            if let Some(f) = &judge.on_step {
                f(&step);
            }
            if search.push(step, report, level) && !judge.keep_going {
                break;
            }
        }
        search
    }

    /// Adds a step; returns whether it was bad.
    fn push(&mut self, step: Step, report: Report, level: f64) -> bool {
        let bad = !step.is_good();
        if bad && self.bad.is_none() {
            self.bad = Some(level);
            self.reason = step.violation.clone();
        } else if !bad && self.bad.is_none() {
            self.good = Some(level);
        }
        self.steps.push(step);
        self.last = Some(report);
        bad
    }

    fn finish(self, max_steps: usize) -> (Option<f64>, Option<f64>, BreakPointReport) {
        let reason = self.reason.unwrap_or_else(|| {
            format!(
                "no step broke the SLO in {max_steps} steps: raise the step count or the step size"
            )
        });
        let out = BreakPointReport {
            last_good_rate: None,
            first_bad_rate: None,
            last_good_users: None,
            first_bad_users: None,
            reason,
            steps: self.steps,
            last_step: self.last.unwrap_or_else(Report::empty),
        };
        (self.good, self.bad, out)
    }
}

/// A break-point search over closed-loop users: 1, 2, 4, … up to `max_users`, each level
/// for `step_time`.
///
/// ```
/// use std::time::Duration;
/// use perf_load::{ConcurrencySweep, Slo};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let sweep = ConcurrencySweep::new(4, Duration::from_millis(50), Slo::new()).unwrap();
/// let found = sweep.run(|| async { Ok::<_, String>(()) }).await;
/// let users: Vec<_> = found.steps.iter().map(|s| s.users.unwrap()).collect();
/// assert_eq!(users, [1, 2, 4]);
/// assert_eq!(found.last_good_users, Some(4));
/// # });
/// ```
#[derive(Clone)]
pub struct ConcurrencySweep {
    levels: Vec<usize>,
    step_time: Duration,
    think: Duration,
    judge: Judge,
}

impl ConcurrencySweep {
    /// Doubling users from 1 to `max_users` (the last level is `max_users` itself).
    pub fn new(max_users: usize, step_time: Duration, slo: Slo) -> Result<Self, ConfigError> {
        if max_users == 0 {
            return Err(ConfigError::Zero("the number of users"));
        }
        let mut levels: Vec<usize> = std::iter::successors(Some(1usize), |u| u.checked_mul(2))
            .take_while(|u| *u < max_users)
            .collect();
        levels.push(max_users);
        Self::levels(levels, step_time, slo)
    }

    /// The given user counts, in order.
    pub fn levels(levels: Vec<usize>, step_time: Duration, slo: Slo) -> Result<Self, ConfigError> {
        if levels.is_empty() {
            return Err(ConfigError::Empty("concurrency sweep"));
        }
        if levels.contains(&0) {
            return Err(ConfigError::Zero("the number of users"));
        }
        if step_time.is_zero() {
            return Err(ConfigError::ZeroDuration);
        }
        Ok(ConcurrencySweep {
            levels,
            step_time,
            think: Duration::ZERO,
            judge: Judge::new(slo),
        })
    }

    /// Each user's think time.
    pub fn think(mut self, think: Duration) -> Self {
        self.think = think;
        self
    }

    /// Goes on after the first bad level, and calls `f` after each.
    pub fn options(mut self, options: SearchOptions) -> Self {
        self.judge.apply(options);
        self
    }

    /// Runs the sweep against `target`.
    pub async fn run(&self, target: impl Target) -> BreakPointReport {
        let target = Arc::new(target);
        let levels: Vec<f64> = self.levels.iter().map(|&u| u as f64).collect();
        let run = |users: f64| {
            let t = Arc::clone(&target);
            async move {
                let run = ClosedLoop::new(users as usize, self.step_time).ok()?;
                Some(run.think(self.think).run(move || t.call()).await)
            }
        };
        let search = Search::over(levels, Axis::Users, &self.judge, run).await;
        let (good, bad, out) = search.finish(self.levels.len());
        BreakPointReport {
            last_good_users: good.map(|g| g as usize),
            first_bad_users: bad.map(|b| b as usize),
            ..out
        }
    }
}
