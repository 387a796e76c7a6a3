//! Pushing the exposition to a Prometheus Pushgateway, for jobs that end before anything
//! scrapes them: the text a scrape gets, `PUT` under a job name and grouping labels every
//! interval and once more when the exporter is dropped.
//!
//! metrics-exporter-prometheus has a push mode too, but it pushes only the facade's series
//! (not perf's own histograms), has no timeout and no final push; this one uses hyper's
//! client, which the listener already brings in.

use std::fmt::Write as _;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{check_global_label_key, NameError};
use crate::slow::SlowLog;

/// How long one push may take, connection included, unless
/// [`PushJob::timeout`] says otherwise.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// At most one error is logged per this interval while pushes keep failing; the next one
/// says how many failures were not logged.
pub const PUSH_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The `Content-Type` of the text exposition, as a scrape gets it.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a path segment may hold unescaped: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The job name and grouping labels a push goes under (the Pushgateway's grouping key), and
/// how long one push may take.
///
/// The gateway puts the grouping labels on every pushed series, replacing a series' own
/// label of the same key (e.g. a global label). Each push replaces what the last push of
/// the same grouping key left (HTTP `PUT`).
///
/// ```
/// use std::time::Duration;
/// use perf_core::export::PushJob;
///
/// let job = PushJob::new("nightly_bench")
///     .grouping_label("branch", "feature/fast-path")
///     .timeout(Duration::from_secs(2));
/// # let _ = job;
/// ```
#[derive(Clone, Debug)]
pub struct PushJob {
    job: String,
    labels: Vec<(String, String)>,
    timeout: Duration,
}

impl PushJob {
    /// A push under job name `job` (any text but empty), with no other grouping label and
    /// a timeout of [`DEFAULT_PUSH_TIMEOUT`].
    pub fn new(job: impl Into<String>) -> Self {
        PushJob {
            job: job.into(),
            labels: Vec::new(),
            timeout: DEFAULT_PUSH_TIMEOUT,
        }
    }

    /// Adds a grouping label: any value, a key that is a valid Prometheus label name other
    /// than `job` and the keys perf writes itself (checked by
    /// [`with_push_gateway`](super::PrometheusBuilder::with_push_gateway)).
    pub fn grouping_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// How long one push may take, connection included (default [`DEFAULT_PUSH_TIMEOUT`]).
    /// Dropping the exporter waits at most this long for the final push.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// A push gateway configuration the builder refused, inside [`ExportError::Push`].
///
/// ```
/// use std::time::Duration;
/// use perf_core::export::{PushConfigError, PushJob};
/// use perf_core::ExportError;
///
/// let err = perf_core::export::prometheus()
///     .with_push_gateway("http://127.0.0.1:9091", Duration::from_secs(10), PushJob::new(""))
///     .unwrap_err();
/// assert!(matches!(err, ExportError::Push(PushConfigError::EmptyJob)));
/// ```
///
/// [`ExportError::Push`]: crate::ExportError::Push
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushConfigError {
    /// The gateway's URL cannot be pushed to.
    #[error("push gateway URL {url:?} refused: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it and what to give instead.
        reason: &'static str,
    },
    /// The job name is empty.
    #[error("push job name is empty: name the job, e.g. PushJob::new(\"nightly_bench\")")]
    EmptyJob,
    /// A grouping label's key would break the push (see the [`NameError`]).
    #[error("grouping label refused: {0}")]
    InvalidLabel(#[source] NameError),
    /// A grouping label is keyed `job`, which the job name fills.
    #[error("grouping label key \"job\" holds the job name: give the job to PushJob::new and pick another key")]
    JobLabel,
    /// The push interval is zero.
    #[error("push interval is zero: push every few seconds, e.g. Duration::from_secs(10)")]
    ZeroInterval,
    /// The push timeout is zero.
    #[error("push timeout is zero: give a push a few seconds, e.g. Duration::from_secs(5)")]
    ZeroTimeout,
}

/// Where and how often to push: checked once, when the builder is given it.
#[derive(Debug)]
pub(crate) struct PushTarget {
    /// To connect to: the URL's host without IPv6 brackets, and its port.
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority.
    authority: String,
    /// The base path, `/metrics`, then the grouping key, escaped.
    path: String,
    /// The whole URL pushed to, for the logs.
    url: String,
    interval: Duration,
    timeout: Duration,
}

fn invalid(url: &str, reason: &'static str) -> PushConfigError {
    PushConfigError::InvalidUrl {
        url: url.to_owned(),
        reason,
    }
}

/// Appends `/key/value` to a Pushgateway path: percent-escaped, or in the gateway's base64
/// form where escaping cannot do (a `/` in the value, an empty value, `.` and `..`).
fn push_segment(path: &mut String, key: &str, value: &str) {
    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(value);
        // The gateway reads a lone "=" as the empty value; an empty segment would not route.
        let encoded = if encoded.is_empty() { "=" } else { &encoded };
        let _ = write!(path, "/{key}@base64/{encoded}");
    } else {
        let _ = write!(path, "/{key}/{}", utf8_percent_encode(value, SEGMENT));
    }
}

impl PushTarget {
    pub(crate) fn new(
        url: &str,
        interval: Duration,
        job: PushJob,
    ) -> Result<PushTarget, PushConfigError> {
        if interval.is_zero() {
            return Err(PushConfigError::ZeroInterval);
        }
        if job.timeout.is_zero() {
            return Err(PushConfigError::ZeroTimeout);
        }
        if job.job.is_empty() {
            return Err(PushConfigError::EmptyJob);
        }
        let mut seen: Vec<&str> = Vec::with_capacity(job.labels.len());
        for (key, _) in &job.labels {
            if key == "job" {
                return Err(PushConfigError::JobLabel);
            }
            check_global_label_key(key).map_err(PushConfigError::InvalidLabel)?;
            if seen.contains(&key.as_str()) {
                return Err(PushConfigError::InvalidLabel(NameError::DuplicateLabelKey(
                    key.clone(),
                )));
            }
            seen.push(key);
        }

        let uri: Uri = url.parse().map_err(|_| {
            invalid(
                url,
                "not a URL: give the gateway's, e.g. \"http://127.0.0.1:9091\"",
            )
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(invalid(url, "perf pushes over plain http only: push to an http address (a gateway on the same network, or a local TLS-terminating proxy)")),
            Some(_) => return Err(invalid(url, "the scheme must be http, e.g. \"http://127.0.0.1:9091\"")),
            None => return Err(invalid(url, "no scheme: write it out, e.g. \"http://127.0.0.1:9091\"")),
        }
        let Some(authority) = uri.authority() else {
            return Err(invalid(url, "no host: e.g. \"http://127.0.0.1:9091\""));
        };
        if authority.as_str().contains('@') {
            return Err(invalid(
                url,
                "credentials in the URL are not supported: push to a gateway without authentication",
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid(url, "no host: e.g. \"http://127.0.0.1:9091\""));
        }
        if uri.query().is_some() {
            return Err(invalid(
                url,
                "a query has no place in it: give the gateway's base URL",
            ));
        }
        let base = uri.path().trim_end_matches('/');
        if base.split('/').any(|s| s == "metrics") {
            return Err(invalid(url, "give the gateway's base URL, without /metrics/job/...: perf adds the job and grouping labels of the PushJob"));
        }

        let mut path = format!("{base}/metrics");
        push_segment(&mut path, "job", &job.job);
        for (key, value) in &job.labels {
            push_segment(&mut path, key, value);
        }
        // Escaped above, so the path always parses; checked once here so no push can fail on it.
        path.parse::<Uri>()
            .map_err(|_| invalid(url, "its path does not form a valid request path"))?;
        Ok(PushTarget {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            url: format!("http://{}{path}", authority.as_str()),
            path,
            interval,
            timeout: job.timeout,
        })
    }
}

/// Why one push failed: logged, never returned to the app.
#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error("could not connect: {0}")]
    Connect(std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("could not build the request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("the gateway answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("no answer within {0:?} (the push timeout)")]
    TimedOut(Duration),
}

async fn send(target: &PushTarget, body: String) -> Result<(), PushError> {
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(PushError::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let req = Request::put(target.path.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::CONTENT_TYPE, TEXT_FORMAT)
        .body(Full::new(Bytes::from(body)))?;
    let exchange = async move {
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.into_body().collect().await?.to_bytes();
        let body = String::from_utf8_lossy(&body[..body.len().min(512)])
            .trim()
            .to_owned();
        Err(PushError::Status {
            status: status.as_u16(),
            body,
        })
    };
    // The connection is driven here, not spawned: nothing of a push outlives its timeout,
    // so a gateway that never answers cannot pile up sockets or tasks. It ends by itself
    // once the exchange, which owns the sender, is done.
    let (result, _) = tokio::join!(exchange, conn);
    result
}

/// What to log after a push.
#[derive(Debug, PartialEq, Eq)]
enum LogLine {
    Nothing,
    /// A failure to log, with the failures held back since the last one logged.
    Failed {
        held_back: u64,
    },
    /// Pushes work again after this many failures.
    Recovered {
        failures: u64,
    },
}

/// Rate-limits the push errors, so a gateway that is down for hours writes a line a minute.
#[derive(Debug, Default)]
struct PushLog {
    limiter: SlowLog,
    failures: u64,
}

impl PushLog {
    fn judge(&mut self, now: u64, ok: bool) -> LogLine {
        if ok {
            self.limiter = SlowLog::new();
            return match std::mem::take(&mut self.failures) {
                0 => LogLine::Nothing,
                failures => LogLine::Recovered { failures },
            };
        }
        self.failures += 1;
        match self.limiter.should_report(now, PUSH_ERROR_LOG_INTERVAL) {
            Some(held_back) => LogLine::Failed { held_back },
            None => LogLine::Nothing,
        }
    }
}

/// Renders the exposition for each push.
pub(crate) type PushRender = Box<dyn Fn() -> String + Send>;

/// The push thread: pushes every interval, and once more when dropped.
pub(crate) struct Pusher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Pusher {
    pub(crate) fn spawn(target: PushTarget, render: PushRender) -> std::io::Result<Pusher> {
        // Built here, used and dropped on the push thread only: the app may drop the
        // exporter inside its own async runtime, where blocking on another would panic.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("perf-push".into())
            .spawn(move || {
                let mut log = PushLog::default();
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(target.interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    let body = render();
                    let result = runtime.block_on(async {
                        tokio::time::timeout(target.timeout, send(&target, body))
                            .await
                            .unwrap_or(Err(PushError::TimedOut(target.timeout)))
                    });
                    let url = &target.url;
                    match (log.judge(crate::clock::now_nanos(), result.is_ok()), result) {
                        (LogLine::Failed { held_back }, Err(e)) => tracing::error!(
                            target: "perf::push",
                            url = %url,
                            held_back,
                            "could not push metrics to the Pushgateway at {url}: {e}; the app goes on, \
                             pushing again in {:?}",
                            target.interval,
                        ),
                        (LogLine::Recovered { failures }, _) => tracing::info!(
                            target: "perf::push",
                            url = %url,
                            "pushing metrics to {url} works again, after {failures} failed pushes",
                        ),
                        _ => {}
                    }
                    if last {
                        break;
                    }
                }
                // A host name lookup that a timeout gave up on still runs on tokio's blocking
                // pool: do not wait for it.
                runtime.shutdown_background();
            })?;
        Ok(Pusher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
