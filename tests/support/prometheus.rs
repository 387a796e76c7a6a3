//! A real Prometheus for the end-to-end tests: found on `PATH` (or the test is skipped,
//! loudly), started on a free 127.0.0.1 port with a scrape config of its own, queried over
//! its HTTP API, and killed when dropped.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::service;

/// Set to `1` to fail (not skip) when Prometheus is not installed.
const REQUIRE: &str = "PERF_REQUIRE_PROMETHEUS";

/// `name` on `PATH`, if it is there.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Returns `prometheus` and `promtool`, or says loudly why the test is skipped (and fails
/// when [`REQUIRE`] is set).
pub(crate) fn tools_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (on_path("prometheus"), on_path("promtool")) {
        (Some(prometheus), Some(promtool)) => Some((prometheus, promtool)),
        _ => {
            let message = format!(
                "SKIPPED: {test}: prometheus/promtool not installed (apt-get install prometheus); \
                 this test did NOT run"
            );
            if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
                panic!("{message}, and {REQUIRE}=1 requires it");
            }
            // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {message} !!!!!!!!\n");
            None
        }
    }
}

/// A running Prometheus, killed (and waited for) when dropped: also when the test panics.
pub(crate) struct PrometheusProcess {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl PrometheusProcess {
    /// Scrapes each `(job, target)` and evaluates `rules` (rule files) every second;
    /// `flags` are added to the command line.
    fn start(
        binary: &Path,
        dir: &Path,
        jobs: &[(&str, SocketAddr)],
        rules: &[&Path],
        flags: &[&str],
    ) -> PrometheusProcess {
        let config = dir.join("prometheus.yml");
        let mut yaml = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  \
                        evaluation_interval: 1s\n"
            .to_owned();
        if !rules.is_empty() {
            yaml.push_str("rule_files:\n");
        }
        for file in rules {
            yaml.push_str(&format!("  - '{}'\n", file.display()));
        }
        yaml.push_str("scrape_configs:\n");
        for (job, target) in jobs {
            yaml.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        std::fs::write(&config, yaml).unwrap();
        let addr = free_port();
        let log = dir.join("prometheus.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join(format!("data-{}", addr.port())).display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        PrometheusProcess { child, addr, log }
    }

    /// Starts Prometheus and waits until it is ready. The free port can be taken between
    /// our probe and Prometheus' bind: then it exits at once, and is started again.
    pub(crate) async fn start_ready(
        binary: &Path,
        dir: &Path,
        jobs: &[(&str, SocketAddr)],
        rules: &[&Path],
        flags: &[&str],
    ) -> PrometheusProcess {
        for attempt in 1..=3 {
            let mut prom = PrometheusProcess::start(binary, dir, jobs, rules, flags);
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = prom.child.try_wait() {
                    break;
                }
                if let Ok((status, _)) = service::fetch(prom.addr, "/-/ready").await {
                    if status.is_success() {
                        return prom;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            eprintln!(
                "prometheus attempt {attempt} not ready; its log:\n{}",
                std::fs::read_to_string(&prom.log).unwrap_or_default()
            );
        }
        panic!("prometheus did not become ready in 3 attempts (see the logs above)");
    }

    /// Fails the test with Prometheus' log if it exited.
    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "prometheus exited ({status}); its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// An instant query at `time` (unix seconds, or now): the value of each result series,
    /// keyed by its labels.
    pub(crate) async fn query(&mut self, promql: &str, time: Option<f64>) -> BTreeMap<String, f64> {
        self.check_alive();
        let mut path = format!("/api/v1/query?query={}", percent_encode(promql));
        if let Some(t) = time {
            path.push_str(&format!("&time={t:.3}"));
        }
        let (status, body) = service::fetch(self.addr, &path)
            .await
            .unwrap_or_else(|e| panic!("query {promql}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("query {promql}: {status}, not JSON ({e}): {body}"));
        assert_eq!(json["status"], "success", "query {promql}: {body}");
        json["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("query {promql}: no result vector: {body}"))
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().unwrap_or("NaN");
                (
                    r["metric"].to_string(),
                    value.parse::<f64>().unwrap_or(f64::NAN),
                )
            })
            .collect()
    }

    /// The single value of a query that must return one series.
    pub(crate) async fn scalar(&mut self, promql: &str, time: Option<f64>) -> Option<f64> {
        let result = self.query(promql, time).await;
        assert!(
            result.len() <= 1,
            "{promql} gave several series: {result:?}"
        );
        result.into_values().next()
    }
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now (the OS picks it; Prometheus binds it right after).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
