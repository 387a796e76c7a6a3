//! [`Report`]: what a load run measured, as numbers, aligned tables (`Display`,
//! `report_text.rs`) and JSON with the field names load tools use.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use perf_core::LatencySummary;
use serde::Serialize;

use crate::error_kinds::{ErrorCount, OTHER_KINDS};
use crate::recorder::Recorder;
use crate::summary::{as_ms, opt_as_ms};
use crate::timeline::{Interval, Second};

/// How the load was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Requests started at scheduled instants, whatever the earlier ones were doing.
    OpenLoop,
    /// Virtual users, each waiting for its answer before sending again.
    ClosedLoop,
    /// Several runs' HDR logs merged (`perf-load merge`).
    Merged,
}

/// The result of one load run.
///
/// `latency` is measured from each request's *intended* start, the response time a user
/// would see; `service_time` from its *actual* start. When the generator or the target falls
/// behind, the first grows and the second does not: the gap is the queueing the target
/// caused. Both are perf-core summaries, so `assert_latency!(&report.latency, p99 < ms(50))`
/// works on them.
///
/// ```
/// use std::time::Duration;
/// use perf_load::{OpenLoop, Schedule};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let schedule = Schedule::constant(200.0, Duration::from_millis(100)).unwrap();
/// let report = OpenLoop::new(schedule)
///     .run(|| async { Ok::<_, std::io::Error>(()) })
///     .await;
/// assert_eq!(report.requests, 20);
/// assert_eq!(report.ok, 20);
/// println!("{report}");
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["requests"], 20);
/// assert!(json["latency"]["p99_ms"].is_number());
/// # });
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How the load was generated.
    pub mode: Mode,
    /// Virtual users (closed loop).
    pub users: Option<usize>,
    /// Scheduled requests per second (open loop).
    pub target_rate: Option<f64>,
    /// Requests started per second of the run.
    pub achieved_rate: f64,
    /// How long the run took, from its start to the last completion.
    #[serde(rename = "duration_s", serialize_with = "secs")]
    pub duration: Duration,
    /// Requests started.
    pub requests: u64,
    /// Requests that returned `Ok`.
    pub ok: u64,
    /// Requests that returned `Err` or timed out.
    pub errors: u64,
    /// The most frequent kinds of errors, most frequent first; the rest, if any, are summed
    /// under `(other kinds)`.
    pub error_kinds: Vec<ErrorCount>,
    /// Scheduled requests not started because the in-flight cap was reached.
    pub dropped: u64,
    /// Requests that started more than 1 ms after their intended instant.
    pub late: u64,
    /// From the intended start to the end of each request.
    #[serde(serialize_with = "as_ms")]
    pub latency: LatencySummary,
    /// From the actual start to the end of each request.
    #[serde(serialize_with = "as_ms")]
    pub service_time: LatencySummary,
    /// How late each request started (generator lag).
    #[serde(serialize_with = "as_ms")]
    pub lag: LatencySummary,
    /// Closed loop with an expected interval: the latency corrected for coordinated
    /// omission (HdrHistogram's `record_correct`), next to the raw `latency`.
    #[serde(serialize_with = "opt_as_ms")]
    pub corrected_latency: Option<LatencySummary>,
    /// The expected interval the correction used.
    #[serde(rename = "expected_interval_ms", serialize_with = "opt_ms")]
    pub expected_interval: Option<Duration>,
    /// One row per second of the run, by completion time.
    pub timeline: Vec<Second>,
    #[serde(skip)]
    pub(crate) intervals: Vec<Interval>,
    #[serde(skip)]
    pub(crate) wall_start: SystemTime,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e3).round() / 1e3)
}

fn opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    d.map(|d| d.as_secs_f64() * 1e3).serialize(s)
}

/// How a run ended, for [`Report::from_recorder`].
pub(crate) struct RunShape {
    pub(crate) mode: Mode,
    pub(crate) users: Option<usize>,
    pub(crate) target_rate: Option<f64>,
    /// The window the rate is measured over, at least the schedule's length.
    pub(crate) rate_window: Duration,
    pub(crate) top_errors: usize,
}

impl Report {
    pub(crate) fn from_recorder(rec: &Recorder, shape: RunShape) -> Report {
        let duration = rec.start.elapsed();
        let requests = rec.started.load(Relaxed);
        let last_start = Duration::from_nanos(rec.last_start_ns.load(Relaxed));
        let window = shape.rate_window.max(last_start);
        let achieved_rate = if window.is_zero() {
            0.0
        } else {
            requests as f64 / window.as_secs_f64()
        };
        let kinds = rec.kinds.lock().unwrap_or_else(|e| e.into_inner()).sorted();
        let (timeline, intervals) =
            std::mem::take(&mut *rec.timeline.lock().unwrap_or_else(|e| e.into_inner())).finish();
        Report {
            mode: shape.mode,
            users: shape.users,
            target_rate: shape.target_rate,
            achieved_rate,
            duration,
            requests,
            ok: rec.ok.load(Relaxed),
            errors: rec.errors.load(Relaxed),
            error_kinds: top(kinds, shape.top_errors),
            dropped: rec.dropped.load(Relaxed),
            late: rec.late.load(Relaxed),
            latency: rec.latency.summary(),
            service_time: rec.service.summary(),
            lag: rec.lag.summary(),
            corrected_latency: None,
            expected_interval: None,
            timeline,
            intervals,
            wall_start: rec.wall_start,
        }
    }

    /// Failed requests over completed ones (0 when none completed).
    ///
    /// ```
    /// # let report = perf_load::Report::empty();
    /// assert_eq!(report.error_rate(), 0.0);
    /// ```
    pub fn error_rate(&self) -> f64 {
        let done = self.ok + self.errors;
        if done == 0 {
            0.0
        } else {
            self.errors as f64 / done as f64
        }
    }

    /// A report of a run that sent nothing: the starting point of a merge.
    ///
    /// ```
    /// assert_eq!(perf_load::Report::empty().requests, 0);
    /// ```
    pub fn empty() -> Report {
        Report {
            mode: Mode::Merged,
            users: None,
            target_rate: None,
            achieved_rate: 0.0,
            duration: Duration::ZERO,
            requests: 0,
            ok: 0,
            errors: 0,
            error_kinds: Vec::new(),
            dropped: 0,
            late: 0,
            latency: LatencySummary::default(),
            service_time: LatencySummary::default(),
            lag: LatencySummary::default(),
            corrected_latency: None,
            expected_interval: None,
            timeline: Vec::new(),
            intervals: Vec::new(),
            wall_start: SystemTime::UNIX_EPOCH,
        }
    }

    /// When the run started, by the wall clock (the HDR log's `StartTime`).
    pub fn wall_start(&self) -> SystemTime {
        self.wall_start
    }

    /// The report as pretty JSON.
    ///
    /// ```
    /// let json = perf_load::Report::empty().to_json();
    /// assert!(json.contains("\"achieved_rate\""));
    /// ```
    pub fn to_json(&self) -> String {
        // A Report holds only numbers, strings and lists: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The `n` most frequent kinds, the rest summed under [`OTHER_KINDS`].
fn top(mut kinds: Vec<ErrorCount>, n: usize) -> Vec<ErrorCount> {
    if kinds.len() > n {
        let rest: u64 = kinds.drain(n..).map(|k| k.count).sum();
        match kinds.iter_mut().find(|k| k.kind == OTHER_KINDS) {
            Some(o) => o.count += rest,
            None => kinds.push(ErrorCount {
                kind: OTHER_KINDS.to_owned(),
                count: rest,
            }),
        }
    }
    kinds
}
