//! The exporter's `/debug/pprof/...` routes (`with_profiling`): bad `seconds` get a 400
//! with the reason, a second profile while one runs gets a 409, and a client that hangs up
//! stops its profile so the next request works. Run with `--features profile`.
#![cfg(feature = "profile")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use perf_core::export::PrometheusExporter;
use perf_core::profile;
use pprof::protos::Message;

#[path = "support/burn.rs"]
mod burn;

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn exporter() -> PrometheusExporter {
    static REGISTRY: perf_core::Registry = perf_core::Registry::new();
    perf_core::export::prometheus()
        .registry(&REGISTRY)
        .with_http_listener(([127, 0, 0, 1], 0))
        .with_profiling()
        .build()
        .unwrap()
        .1
}

fn send(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    s
}

/// Status and body of a `Connection: close` response.
fn response(mut s: TcpStream) -> (u16, Vec<u8>) {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap(), 16);
        let size = size.unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    response(send(addr, path))
}

/// Waits until `is_running()` equals `want`, for at most 20 s.
fn wait_running(want: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while profile::is_running() != want {
        assert!(
            Instant::now() < deadline,
            "is_running() never became {want}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn bad_seconds_get_400_with_the_reason() {
    let _turn = one_at_a_time();
    let exporter = exporter();
    let addr = exporter.local_addr().unwrap();
    for (query, reason) in [
        ("seconds=0", "out of range: profile for 1 to 300 seconds"),
        ("seconds=-1", "is not a whole number of seconds"),
        ("seconds=abc", "is not a whole number of seconds"),
        (
            "seconds=100000",
            "out of range: profile for 1 to 300 seconds",
        ),
    ] {
        for route in ["profile", "flamegraph"] {
            let (status, body) = get(addr, &format!("/debug/pprof/{route}?{query}"));
            let body = String::from_utf8(body).unwrap();
            assert_eq!(status, 400, "{route}?{query}: {body}");
            assert!(body.contains(reason), "{route}?{query}: {body}");
        }
    }
    // None of them started a profile.
    assert!(!profile::is_running());
    // The scrape route is untouched.
    assert_eq!(get(addr, "/metrics").0, 200);
}

#[test]
fn a_second_profile_request_gets_409_while_one_runs() {
    let _turn = one_at_a_time();
    let exporter = exporter();
    let addr = exporter.local_addr().unwrap();
    let first = send(addr, "/debug/pprof/profile?seconds=5");
    wait_running(true);
    let (status, body) = get(addr, "/debug/pprof/flamegraph?seconds=1");
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("already running"));

    let (status, body) = response(first);
    assert_eq!(status, 200);
    let decoded = pprof::protos::Profile::decode(body.as_slice()).unwrap();
    let sample_type: Vec<&str> = decoded
        .sample_type
        .iter()
        .map(|t| decoded.string_table[t.ty as usize].as_str())
        .collect();
    assert_eq!(sample_type, ["samples", "cpu"]);
    wait_running(false);
}

#[test]
fn a_client_that_hangs_up_stops_its_profile_and_the_next_request_works() {
    let _turn = one_at_a_time();
    let exporter = exporter();
    let addr = exporter.local_addr().unwrap();
    let abandoned = send(addr, "/debug/pprof/profile?seconds=300");
    wait_running(true);
    drop(abandoned);
    // Stopped long before its 300 s.
    wait_running(false);

    let burner = burn::in_background(burn::burn_cpu);
    let (status, body) = get(addr, "/debug/pprof/flamegraph?seconds=2");
    drop(burner);
    let svg = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{svg}");
    assert!(svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(300)]);
    assert!(svg.contains("profile_endpoint::burn::burn_cpu"));
}
