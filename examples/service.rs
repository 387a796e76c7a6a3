//! An axum service measured by perf: timed handlers, the request-timing layer with
//! method, route and status labels, and `/metrics` served from the same router.
//!
//! ```text
//! cargo run --example service                    # serve on a port the OS picks, until Ctrl-C
//! cargo run --example service -- --port 8080     # serve on 127.0.0.1:8080
//! cargo run --example service -- --requests 500  # drive itself with 500 requests, report, exit
//! cargo run --example service -- --smoke         # the same with 60 requests (what CI runs)
//! ```
//!
//! The first line printed is `listening on http://127.0.0.1:PORT`; scrape
//! `http://127.0.0.1:PORT/metrics`. The routes:
//!
//! * `GET /hello`: answers at once.
//! * `GET /work/{ms}`: works for `ms` milliseconds (at most 1000) before answering.
//! * `GET /metrics`: the Prometheus exposition of everything perf recorded.
//!
//! To watch it in Prometheus and Grafana, scrape it (`prometheus.yml`):
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: service
//!     scrape_interval: 5s
//!     static_configs:
//!       - targets: ['127.0.0.1:8080']
//! rule_files: ['alerts/perf.rules.yml']
//! ```
//!
//! then import `dashboards/perf.json` into Grafana. `tests/e2e_prometheus.rs` runs this
//! service against a real Prometheus and checks that both tell the same numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use perf::core::export::PrometheusExporter;
use perf::core::tower::RequestTimingLayer;

/// The longest `/work/{ms}` accepts, so a typo cannot park a connection for hours.
pub const MAX_WORK_MS: u64 = 1000;

/// The service's router: the handlers, `/metrics`, and the request-timing layer around all
/// of them (the fallback's 404s included, labelled `route="unmatched"`).
pub fn app(exporter: Arc<PrometheusExporter>) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/work/{ms}", get(work))
        .route("/metrics", get(metrics))
        .with_state(exporter)
        .layer(
            // The route template (`/work/{ms}`), not the path (`/work/30`): one series per
            // route however many ids clients send.
            RequestTimingLayer::new().route_with(|head| {
                head.extensions
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
            }),
        )
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, exporter: Arc<PrometheusExporter>) {
    if let Err(e) = axum::serve(listener, app(exporter)).await {
        eprintln!("server stopped: {e}");
    }
}

async fn hello() -> &'static str {
    greet()
}

#[perf::timed]
fn greet() -> &'static str {
    "hello\n"
}

async fn work(Path(ms): Path<u64>) -> Result<String, (StatusCode, String)> {
    if ms > MAX_WORK_MS {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("asked for {ms} ms of work: ask for at most {MAX_WORK_MS}\n"),
        ));
    }
    do_work(ms).await;
    Ok(format!("worked {ms} ms\n"))
}

/// Timed inside its future: the time of the work, and a call whose request is dropped
/// mid-way is recorded as `result="cancelled"`.
#[perf::timed]
async fn do_work(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn metrics(State(exporter): State<Arc<PrometheusExporter>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.render(),
    )
}

/// Something went wrong talking HTTP to a server.
pub type ClientError = Box<dyn std::error::Error + Send + Sync>;

/// One `GET http://addr{path}` on a connection of its own: the status and the body.
pub async fn fetch(addr: SocketAddr, path: &str) -> Result<(StatusCode, String), ClientError> {
    let mut conn = Connection::open(addr).await?;
    conn.get(addr, path).await
}

/// A keep-alive HTTP/1 client connection.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Result<Connection, ClientError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    async fn get(
        &mut self,
        addr: SocketAddr,
        path: &str,
    ) -> Result<(StatusCode, String), ClientError> {
        let request = hyper::Request::get(path)
            .header(header::HOST, addr.to_string())
            .body(Empty::new())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The path of the `i`-th request the load generator sends: mostly quick work, every 20th
/// work request slow, and greetings in between, so `do_work` has a clear p50 and p99.
pub fn request_path(i: usize) -> &'static str {
    match i % 4 {
        0 | 2 => "/hello",
        _ if i % 80 == 1 => "/work/40",
        _ => "/work/3",
    }
}

/// What the load generator sent and got back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Load {
    /// Requests answered, by path.
    pub sent: std::collections::BTreeMap<&'static str, usize>,
    /// Requests answered with a status other than 200.
    pub failed: usize,
}

/// Sends `requests` requests to `addr` over `connections` keep-alive connections, the
/// paths of [`request_path`].
pub async fn drive(
    addr: SocketAddr,
    requests: usize,
    connections: usize,
) -> Result<Load, ClientError> {
    let connections = connections.clamp(1, requests.max(1));
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..connections {
        workers.spawn(async move {
            let mut conn = Connection::open(addr).await?;
            let mut load = Load::default();
            for i in (c..requests).step_by(connections) {
                let path = request_path(i);
                let (status, _) = conn.get(addr, path).await?;
                *load.sent.entry(path).or_default() += 1;
                if status != StatusCode::OK {
                    load.failed += 1;
                }
            }
            Ok::<_, ClientError>(load)
        });
    }
    let mut total = Load::default();
    while let Some(joined) = workers.join_next().await {
        let load = joined??;
        for (path, n) in load.sent {
            *total.sent.entry(path).or_default() += n;
        }
        total.failed += load.failed;
    }
    Ok(total)
}

struct Args {
    port: u16,
    requests: Option<usize>,
}

const USAGE: &str = "usage: service [--port N] [--requests N | --smoke]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        port: 0,
        requests: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                parsed.port = v.parse().map_err(|_| {
                    format!("--port {v}: give a port number 0-65535 (0: the OS picks)")
                })?;
            }
            "--requests" => {
                let v = value("--requests")?;
                parsed.requests = Some(
                    v.parse()
                        .map_err(|_| format!("--requests {v}: give a number of requests"))?,
                );
            }
            "--smoke" => parsed.requests = Some(60),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let exporter = Arc::new(perf::core::export::prometheus().install()?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    println!("metrics at http://{addr}/metrics");
    let server = tokio::spawn(serve(listener, exporter));

    let Some(requests) = args.requests else {
        server.await?;
        return Ok(());
    };
    let started = Instant::now();
    let load = drive(addr, requests, 4).await?;
    let elapsed = started.elapsed();
    println!(
        "sent {requests} requests in {:.2} s: {:?}, {} failed",
        elapsed.as_secs_f64(),
        load.sent,
        load.failed
    );
    println!("\n{}", perf::report());
    let (status, text) = fetch(addr, "/metrics").await?;
    let exported = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_count"))
        .collect::<Vec<_>>();
    println!(
        "GET /metrics: {status}, request counts:\n{}",
        exported.join("\n")
    );
    if load.failed > 0 || status != StatusCode::OK || exported.is_empty() {
        return Err(format!(
            "{} requests failed, /metrics answered {status}",
            load.failed
        )
        .into());
    }
    Ok(())
}
