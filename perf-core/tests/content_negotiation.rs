//! Content negotiation of a scrape over HTTP: a text `Accept` (or none, or garbage) gets
//! today's text, byte for byte what `render()` gives; a protobuf `Accept` gets the protobuf
//! exposition with its `Content-Type`, with the facade's and the process collector's series
//! in it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use perf_core::export::{client_model, PROTOBUF_CONTENT_TYPE};
use perf_core::Registry;

/// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
const PROMETHEUS_NATIVE: &str = "application/vnd.google.protobuf;\
    proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,\
    text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
/// What Prometheus 2.42 sends without it.
const PROMETHEUS_TEXT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Status, `Content-Type` and body of `GET /metrics` with `accept` (no header if `None`).
fn scrape(addr: SocketAddr, accept: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, buf[end + 4..].to_vec())
}

#[test]
fn each_accept_gets_its_form() {
    static REGISTRY: Registry = Registry::new();
    REGISTRY
        .histogram("negotiated_seconds", &[("k", "v")])
        .unwrap()
        .record_nanos(2_500_000);
    let (recorder, exporter) = perf_core::export::prometheus()
        .registry(&REGISTRY)
        .with_http_listener(([127, 0, 0, 1], 0))
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("negotiated_total").increment(2);
    });
    let addr = exporter.local_addr().unwrap();
    let text = exporter.render();
    assert!(
        text.contains("negotiated_seconds_count{k=\"v\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("negotiated_total 2\n"), "{text}");

    let text_type = "text/plain; version=0.0.4; charset=utf-8";
    for accept in [
        None,
        Some("text/plain;version=0.0.4"),
        Some(PROMETHEUS_TEXT),
        Some("garbage;;q=x,,/,application/vnd.google.protobuf;q=high"),
        Some("application/vnd.google.protobuf;q=0.1,text/plain"),
    ] {
        let (status, content_type, body) = scrape(addr, accept);
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(content_type, text_type, "{accept:?}");
        assert_eq!(String::from_utf8(body).unwrap(), text, "{accept:?}");
    }

    for accept in [PROMETHEUS_NATIVE, PROTOBUF_CONTENT_TYPE] {
        let (status, content_type, body) = scrape(addr, Some(accept));
        assert_eq!(status, 200);
        assert_eq!(content_type, PROTOBUF_CONTENT_TYPE);
        assert_eq!(body, exporter.render_protobuf());
        let families = client_model::decode_delimited(&body).unwrap();
        let names: Vec<_> = families.iter().map(|f| f.name.clone().unwrap()).collect();
        assert_eq!(names, ["negotiated_seconds", "negotiated_total"]);
        let h = families[0].metric[0].histogram.as_ref().unwrap();
        assert_eq!((h.schema, &h.positive_delta[..]), (Some(6), &[1][..]));
        let total = families[1].metric[0].counter.as_ref().unwrap();
        assert_eq!(total.value, Some(2.0));
    }
}

/// The process collector's series are text only; a protobuf scrape gets them as well.
#[test]
#[cfg(target_os = "linux")]
fn a_protobuf_scrape_holds_the_process_metrics() {
    static EMPTY: Registry = Registry::new();
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(&EMPTY)
        .with_process_metrics()
        .with_http_listener(([127, 0, 0, 1], 0))
        .build()
        .unwrap();
    let (_, content_type, body) = scrape(exporter.local_addr().unwrap(), Some(PROMETHEUS_NATIVE));
    assert_eq!(content_type, PROTOBUF_CONTENT_TYPE);
    let families = client_model::decode_delimited(&body).unwrap();
    let kinds: Vec<(&str, i32)> = families
        .iter()
        .map(|f| (f.name.as_deref().unwrap(), f.r#type.unwrap()))
        .collect();
    let (counter, gauge) = (
        client_model::MetricType::Counter as i32,
        client_model::MetricType::Gauge as i32,
    );
    assert_eq!(
        kinds,
        [
            ("process_cpu_seconds_total", counter),
            ("process_open_fds", gauge),
            ("process_max_fds", gauge),
            ("process_virtual_memory_bytes", gauge),
            ("process_resident_memory_bytes", gauge),
            ("process_start_time_seconds", gauge),
            ("process_threads", gauge),
        ]
    );
    // Fixed for the process's life: the value the text gives.
    let text = exporter.render();
    let in_text = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap()
            .parse()
            .unwrap()
    };
    for (i, name) in [(2, "process_max_fds"), (5, "process_start_time_seconds")] {
        let value = families[i].metric[0].gauge.as_ref().unwrap().value;
        assert_eq!(value, Some(in_text(name)), "{name}");
    }
}
