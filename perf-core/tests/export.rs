//! The installed exporter: one exposition of perf's histograms and the `metrics` facade,
//! served over HTTP on 127.0.0.1; recording before install and after drop; the listener's
//! header-read timeout.
//! (One global recorder per process: this binary installs it once.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use perf_core::Registry;

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf[9..12].parse().unwrap();
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

#[test]
fn serves_perf_and_facade_metrics_on_one_endpoint() {
    // Recorded before any exporter exists: kept.
    let before = perf_core::histogram("before_install_seconds", &[]).unwrap();
    before.record(Duration::from_millis(2));
    metrics::counter!("dropped_before_install_total").increment(1); // no recorder yet: a no-op

    let exporter = perf_core::export::prometheus()
        .with_http_listener(([127, 0, 0, 1], 0))
        .add_global_label("service", "test")
        .unwrap()
        .upkeep_interval(Duration::from_millis(50))
        .install()
        .expect("install");
    let addr = exporter.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);

    metrics::counter!("jobs_total", "queue" => "emails").increment(3);
    {
        let _t = perf_core::time("export_block");
    }

    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("before_install_seconds_count{service=\"test\"} 1"),
        "{body}"
    );
    assert!(body.contains("# TYPE function_calls_duration_seconds histogram"));
    assert!(body.contains(
        "function_calls_total{service=\"test\",function=\"export_block\",module=\"\",result=\"ok\"} 1"
    ), "{body}");
    assert!(
        body.contains("jobs_total{service=\"test\",queue=\"emails\"} 3"),
        "{body}"
    );
    assert!(!body.contains("dropped_before_install_total"));
    assert!(
        exporter.render().contains("before_install_seconds_count"),
        "render() gives the same text"
    );

    assert_eq!(get(addr, "/nope").0, 404);

    // A second install is a clear error, not a panic.
    let again = perf_core::export::prometheus().install();
    assert!(matches!(
        again,
        Err(perf_core::ExportError::RecorderAlreadyInstalled)
    ));

    drop(exporter);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "listener stopped"
    );
    // Recording after the exporter is gone keeps working.
    before.record(Duration::from_millis(1));
    assert_eq!(before.count(), 2);
    metrics::counter!("jobs_total", "queue" => "emails").increment(1);
}

/// Whether the server has closed `s`: end of stream, or a reset.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false, // a response (e.g. 408) may come before the close
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn a_client_trickling_its_headers_is_closed_and_scrapes_go_on() {
    // Real time on 127.0.0.1, wide margins; an exporter of its own, nothing installed.
    static REGISTRY: Registry = Registry::new();
    REGISTRY
        .histogram("trickle_seconds", &[])
        .unwrap()
        .record_nanos(1_000);
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(&REGISTRY)
        .with_http_listener(([127, 0, 0, 1], 0))
        .header_read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let addr = exporter.local_addr().unwrap();

    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Pad: {}\r\n",
        "x".repeat(100)
    );
    let start = Instant::now();
    let mut closed_after = None;
    // One byte every 100 ms: 60 bytes take 6 s, far past the 500 ms timeout.
    for (i, byte) in request.bytes().take(60).enumerate() {
        if slow.write_all(&[byte]).is_err() || closed(&mut slow) {
            closed_after = Some(start.elapsed());
            break;
        }
        if i == 2 {
            let (status, body) = get(addr, "/metrics");
            assert_eq!(status, 200);
            assert!(body.contains("trickle_seconds_count 1\n"), "{body}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed_after = closed_after.expect("the slow connection was still open after 6 s");
    assert!(
        closed_after >= Duration::from_millis(400) && closed_after < Duration::from_secs(4),
        "closed after {closed_after:?}, expected about 500 ms"
    );
    // The listener still serves.
    assert!(get(addr, "/metrics")
        .1
        .contains("trickle_seconds_count 1\n"));
}
