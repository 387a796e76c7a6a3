//! Pushing to a real Prometheus Pushgateway (Debian: `apt-get install prometheus-pushgateway`),
//! started by each test on 127.0.0.1 and stopped at its end: the gateway holds a short job's
//! exact counts after the exporter is dropped, and the pushes of a running job; a gateway
//! that is down or silent gives one logged error and no hang.
//!
//! Without the gateway the tests that need it print `SKIPPED: ...` and return; with
//! `PERF_REQUIRE_PUSHGATEWAY=1` (what `.ci/run` sets) they fail instead.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use perf_core::export::PushJob;
use perf_core::Registry;

const REQUIRE: &str = "PERF_REQUIRE_PUSHGATEWAY";

/// What every test's own waits are bounded by: wide, for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// The `tracing` output of this binary: the push thread logs to the global subscriber.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(logs.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logged lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&logs().lock().unwrap())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// `GET path`, or `None` when nothing answers.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    let status = reply.get(9..12)?.parse().ok()?;
    let (_, body) = reply.split_once("\r\n\r\n")?;
    Some((status, body.to_owned()))
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Pushgateway of this test's own, killed on drop.
struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Gateway {
    /// Starts one on a free port, or says loudly why the test is skipped.
    fn start(test: &str) -> Option<Gateway> {
        let bin = std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("prometheus-pushgateway"))
                    .find(|p| p.is_file())
            })
            .or_else(|| Some(PathBuf::from("/usr/bin/prometheus-pushgateway")))
            .filter(|p| p.is_file());
        let Some(bin) = bin else {
            let message = format!(
                "SKIPPED: {test}: prometheus-pushgateway not installed \
                 (apt-get install -y prometheus-pushgateway); this test did NOT run"
            );
            if std::env::var_os(REQUIRE).is_some() {
                panic!("{message}, and {REQUIRE} requires it");
            }
            // Straight to stderr: the harness captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr().lock(), "{message}");
            return None;
        };
        // The port is free when picked but another process may take it before the gateway
        // binds it: then the gateway exits, and another port is tried.
        for _ in 0..5 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let mut child = Command::new(&bin)
                .arg(format!("--web.listen-address={addr}"))
                .arg("--persistence.file=")
                .arg("--log.level=error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + PATIENCE;
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if matches!(get(addr, "/-/ready"), Some((200, _))) {
                    return Some(Gateway { child, addr });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the Pushgateway did not start on 127.0.0.1 in 5 tries");
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn metrics(&self) -> String {
        let (status, body) = get(self.addr, "/metrics").expect("the gateway answers");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The value of one series line in the gateway's `/metrics`, waiting up to
    /// [`PATIENCE`] for it to equal `want`; returns what it last saw.
    fn wait_for(&self, series: &str, want: &str) -> Option<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = value(&self.metrics(), series);
            if seen.as_deref() == Some(want) || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the line `series value` in an exposition.
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(str::to_owned)
}

fn leaked_registry() -> &'static Registry {
    Box::leak(Box::new(Registry::new()))
}

#[test]
fn a_short_job_leaves_its_exact_counts_on_the_gateway() {
    let Some(gateway) = Gateway::start("a_short_job_leaves_its_exact_counts_on_the_gateway") else {
        return;
    };
    let registry = leaked_registry();
    let (recorder, exporter) = perf_core::export::prometheus()
        .registry(registry)
        .add_global_label("service", "etl")
        .unwrap()
        .with_push_gateway(
            gateway.url(),
            // Longer than the test: only the push on drop can deliver.
            Duration::from_secs(3600),
            PushJob::new("nightly etl").grouping_label("branch", "feature/x"),
        )
        .unwrap()
        .with_process_metrics()
        .build()
        .unwrap();

    let h = registry.histogram("etl_step_seconds", &[]).unwrap();
    for ms in [2, 2, 2, 30, 30] {
        h.record(Duration::from_millis(ms));
    }
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("etl_rows_written_total").increment(1234);
    });
    drop(exporter);

    let text = gateway.metrics();
    let labels = r#"{branch="feature/x",instance="",job="nightly etl",service="etl"}"#;
    let at = |name: &str| value(&text, &format!("{name}{labels}"));
    assert_eq!(at("etl_step_seconds_count").as_deref(), Some("5"), "{text}");
    assert_eq!(
        at("etl_step_seconds_sum").as_deref(),
        Some("0.066"),
        "{text}"
    );
    assert_eq!(
        at("etl_rows_written_total").as_deref(),
        Some("1234"),
        "{text}"
    );
    let bucket = |le: &str| {
        value(
            &text,
            &format!(
                r#"etl_step_seconds_bucket{{branch="feature/x",instance="",job="nightly etl",service="etl",le="{le}"}}"#
            ),
        )
    };
    assert_eq!(bucket("0.001").as_deref(), Some("0"), "{text}");
    assert_eq!(bucket("0.0025").as_deref(), Some("3"), "{text}");
    assert_eq!(bucket("0.025").as_deref(), Some("3"), "{text}");
    assert_eq!(bucket("0.05").as_deref(), Some("5"), "{text}");
    assert_eq!(bucket("+Inf").as_deref(), Some("5"), "{text}");
    // The process metrics go along, beside the gateway's own of the same names.
    #[cfg(target_os = "linux")]
    assert!(at("process_threads").is_some(), "{text}");
    assert_eq!(
        value(
            &text,
            r#"push_failure_time_seconds{branch="feature/x",instance="",job="nightly etl"}"#
        )
        .as_deref(),
        Some("0"),
        "the gateway accepted every push: {text}"
    );
}

#[test]
fn any_job_name_and_label_value_reach_the_gateway_as_given() {
    let Some(gateway) = Gateway::start("any_job_name_and_label_value_reach_the_gateway_as_given")
    else {
        return;
    };
    let registry = leaked_registry();
    registry
        .histogram("odd_names_seconds", &[])
        .unwrap()
        .record_nanos(1);
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(registry)
        .with_push_gateway(
            gateway.url(),
            Duration::from_secs(3600),
            PushJob::new("ci/bench #7")
                .grouping_label("dots", "..")
                .grouping_label("empty", "")
                .grouping_label("note", "50% of \"p99\", Zürich"),
        )
        .unwrap()
        .build()
        .unwrap();
    drop(exporter);
    let series = r#"odd_names_seconds_count{dots="..",empty="",instance="",job="ci/bench #7",note="50% of \"p99\", Zürich"}"#;
    let text = gateway.metrics();
    assert_eq!(value(&text, series).as_deref(), Some("1"), "{text}");
}

#[test]
fn a_running_job_is_pushed_every_interval() {
    let Some(gateway) = Gateway::start("a_running_job_is_pushed_every_interval") else {
        return;
    };
    let registry = leaked_registry();
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(registry)
        .with_push_gateway(
            gateway.url(),
            Duration::from_millis(100),
            PushJob::new("long_job"),
        )
        .unwrap()
        .build()
        .unwrap();
    let h = registry.histogram("batch_seconds", &[]).unwrap();
    let series = r#"batch_seconds_count{instance="",job="long_job"}"#;

    h.record(Duration::from_millis(3));
    assert_eq!(gateway.wait_for(series, "1").as_deref(), Some("1"));
    h.record(Duration::from_millis(3));
    assert_eq!(gateway.wait_for(series, "2").as_deref(), Some("2"));
    // The exporter is still running: these came from the periodic pushes.
    drop(exporter);
    assert_eq!(value(&gateway.metrics(), series).as_deref(), Some("2"));
}

#[test]
fn a_gateway_that_is_down_is_logged_and_the_app_goes_on() {
    logs();
    let url = format!("http://127.0.0.1:{}", free_port());
    let registry = leaked_registry();
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(registry)
        .with_push_gateway(&url, Duration::from_millis(50), PushJob::new("down"))
        .unwrap()
        .build()
        .unwrap();
    let pushed_to = format!("{url}/metrics/job/down");
    let deadline = Instant::now() + PATIENCE;
    while log_lines(&pushed_to).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The app records and renders on, with pushes failing.
    registry
        .histogram("still_working_seconds", &[])
        .unwrap()
        .record_nanos(5_000);
    assert!(exporter
        .render()
        .contains("still_working_seconds_count 1\n"));
    let started = Instant::now();
    drop(exporter);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "dropping took {:?}",
        started.elapsed()
    );
    // However many pushes failed, one error a minute is logged.
    let lines = log_lines(&pushed_to);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("ERROR"), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!(
            "could not push metrics to the Pushgateway at {pushed_to}: could not connect: Connection refused"
        )),
        "{}",
        lines[0]
    );
}

#[test]
fn a_gateway_that_never_answers_times_out_without_hanging_the_drop() {
    logs();
    // Accepts connections (the kernel does) but never reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(leaked_registry())
        .with_push_gateway(
            &url,
            Duration::from_secs(3600),
            PushJob::new("silent").timeout(Duration::from_millis(300)),
        )
        .unwrap()
        .build()
        .unwrap();
    let started = Instant::now();
    drop(exporter);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "the drop waited for the push's timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "dropping took {took:?}");
    let lines = log_lines(&format!("{url}/metrics/job/silent"));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("no answer within 300ms (the push timeout)"),
        "{}",
        lines[0]
    );
    drop(silent);
}

#[test]
fn each_push_that_times_out_closes_its_connection() {
    logs();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(leaked_registry())
        .with_push_gateway(
            &url,
            Duration::from_millis(50),
            PushJob::new("silent_often").timeout(Duration::from_millis(100)),
        )
        .unwrap()
        .build()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    for _ in 0..3 {
        let mut conn = loop {
            match silent.accept() {
                Ok((conn, _)) => break conn,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("no push arrived: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        // The request, never answered; then the pusher gives up and closes: end of stream.
        let mut request = Vec::new();
        conn.read_to_end(&mut request)
            .expect("the push closed its connection when it timed out");
        assert!(
            request.starts_with(b"PUT /metrics/job/silent_often HTTP/1.1\r\n"),
            "{}",
            String::from_utf8_lossy(&request)
        );
    }
    drop(exporter);
    let lines = log_lines(&format!("{url}/metrics/job/silent_often"));
    assert_eq!(lines.len(), 1, "one error a minute: {lines:#?}");
}

#[test]
fn a_bad_gateway_url_is_a_builder_error() {
    let err = perf_core::export::prometheus()
        .with_push_gateway("gateway:9091", Duration::from_secs(10), PushJob::new("j"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "push gateway refused: push gateway URL \"gateway:9091\" refused: no scheme: write it \
         out, e.g. \"http://127.0.0.1:9091\""
    );
}
