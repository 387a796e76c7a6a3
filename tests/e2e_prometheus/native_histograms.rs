//! Native histograms end to end: three known distributions (uniform 1–10 ms, log-normal
//! around 20 ms, a 1 ms / 100 ms bimodal mix) are recorded into a registry that two
//! exporters serve, one with the default form (native and classic buckets) and one with
//! classic buckets only. A real Prometheus with `--enable-feature=native-histograms` scrapes
//! both. Its `histogram_quantile` over the native histogram must be within 2% of perf's
//! in-process p50, p90, p99 and p999; the classic quantile is printed beside it. Counts are
//! exact and sums exact to the nanosecond. The alert rules of `alerts/perf.rules.yml` read
//! the native form: a route served as a native histogram only, slow at p99, raises
//! `HttpRouteLatencyP99AboveObjective` (pending, as its `for:` has not passed).

use std::path::Path;
use std::time::{Duration, Instant};

use perf::core::export::{client_model, HistogramFormat};
use perf::core::tower::HTTP_SERVER_REQUEST_DURATION;
use perf::core::{LatencyHistogram, Registry, Snapshot};

use super::prometheus::{tools_or_skip, PrometheusProcess};
use super::{run_bounded, ONE_AT_A_TIME};

/// Samples per distribution.
const SAMPLES: u64 = 20_000;

/// Largest gap between Prometheus' quantile over the native histogram and perf's own.
const MAX_ERROR: f64 = 0.02;

static DISTRIBUTIONS: Registry = Registry::new();

/// xorshift64*: the same samples on every run.
struct Rng(u64);

impl Rng {
    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.next(), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// One sample of a distribution, in milliseconds.
type Sampler = fn(&mut Rng) -> f64;

/// Records the three distributions.
fn record() -> Vec<(&'static str, Snapshot)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let distributions: [(&str, Sampler); 3] = [
        ("e2e_uniform_seconds", |r| 1.0 + 9.0 * r.next()),
        ("e2e_lognormal_seconds", |r| 20.0 * (0.5 * r.normal()).exp()),
        // 85% near 1 ms, 15% near 100 ms, each spread ±5%.
        ("e2e_bimodal_seconds", |r| {
            let mode = if r.next() < 0.85 { 1.0 } else { 100.0 };
            mode * (0.95 + 0.1 * r.next())
        }),
    ];
    let mut out = Vec::new();
    for (name, sample) in distributions {
        let h = DISTRIBUTIONS.histogram(name, &[]).unwrap();
        for _ in 0..SAMPLES {
            h.record_nanos((sample(&mut rng) * 1e6) as u64);
        }
        out.push((name, h.snapshot()));
    }
    out
}

#[test]
#[cfg_attr(
    perf_no_prometheus,
    ignore = "SKIPPED: prometheus/promtool not installed (apt-get install -y prometheus)"
)]
fn native_histograms_agree_with_perf_within_2_percent_or_skip() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((prometheus, _)) =
        tools_or_skip("native_histograms_agree_with_perf_within_2_percent_or_skip")
    else {
        return;
    };
    run_bounded("the native-histogram test", compare(&prometheus));
}

/// A route whose every request takes 900 ms, above the alert rules' 500 ms objective.
fn slow_route() -> std::sync::Arc<LatencyHistogram> {
    let labels = [("method", "GET"), ("route", "/slow"), ("status", "200")];
    DISTRIBUTIONS
        .histogram(HTTP_SERVER_REQUEST_DURATION, &labels)
        .unwrap()
}

async fn compare(prometheus: &Path) {
    let snapshots = record();
    // Both exporters serve the route as a native histogram only: the rules must read it.
    let serve = |format| {
        perf::core::export::prometheus()
            .registry(&DISTRIBUTIONS)
            .histogram_format(format)
            .histogram_format_for_metric(HTTP_SERVER_REQUEST_DURATION, HistogramFormat::Native)
            .with_http_listener(([127, 0, 0, 1], 0))
            .build()
            .unwrap()
    };
    let slow = slow_route();
    slow.record(Duration::from_millis(900));
    let (facade, native) = serve(HistogramFormat::Both);
    let (_, classic) = serve(HistogramFormat::Classic);
    // The facade's series come in the same protobuf response as the native histograms.
    metrics::with_local_recorder(&facade, || {
        metrics::counter!("e2e_facade_jobs_total", "queue" => "mail").increment(41);
        let h = metrics::histogram!("e2e_facade_wait_seconds");
        for v in [0.002, 0.03, 0.03] {
            h.record(v);
        }
    });
    for family in client_model::decode_delimited(&native.render_protobuf()).unwrap() {
        let Some(h) = family.metric[0].histogram.as_ref() else {
            continue;
        };
        if family.name.as_deref() == Some(HTTP_SERVER_REQUEST_DURATION) {
            assert!(h.bucket.is_empty() && h.schema.is_some(), "{h:?}");
            continue;
        }
        eprintln!(
            "{}: schema {:?}, {} native buckets, {} classic buckets",
            family.name.unwrap_or_default(),
            h.schema,
            h.positive_delta.len(),
            h.bucket.len()
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let jobs = [
        ("native", native.local_addr().unwrap()),
        ("classic", classic.local_addr().unwrap()),
    ];
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/perf.rules.yml");
    let mut prom = PrometheusProcess::start_ready(
        prometheus,
        dir.path(),
        &jobs,
        &[&rules],
        &["--enable-feature=native-histograms"],
    )
    .await;
    let (last, _) = snapshots[snapshots.len() - 1];
    let scraped = [
        format!("histogram_count({last}{{job=\"native\"}})"),
        format!("{last}_count{{job=\"classic\"}}"),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for promql in &scraped {
        while prom.scalar(promql, None).await != Some(SAMPLES as f64) {
            assert!(
                Instant::now() < deadline,
                "prometheus never scraped {promql} = {SAMPLES}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let facade_series = [
        ("e2e_facade_jobs_total{job=\"native\",queue=\"mail\"}", 41.0),
        ("e2e_facade_wait_seconds_count{job=\"native\"}", 3.0),
        (
            "e2e_facade_wait_seconds_bucket{job=\"native\",le=\"0.025\"}",
            1.0,
        ),
    ];
    for (promql, value) in facade_series {
        assert_eq!(prom.scalar(promql, None).await, Some(value), "{promql}");
    }

    for (name, snap) in &snapshots {
        let native_series = format!("{name}{{job=\"native\"}}");
        let count = prom
            .scalar(&format!("histogram_count({native_series})"), None)
            .await;
        assert_eq!(count, Some(snap.count() as f64), "{name} count");
        let sum = prom
            .scalar(&format!("histogram_sum({native_series})"), None)
            .await
            .unwrap();
        let exact = snap.sum_nanos() as f64 / 1e9;
        assert!(
            (sum - exact).abs() <= 1e-12 * exact,
            "{name} sum: Prometheus {sum} s, perf {exact} s"
        );
        for q in [0.5, 0.9, 0.99, 0.999] {
            let perf = snap.quantile_nanos(q) as f64 / 1e9;
            let native_q = prom
                .scalar(&format!("histogram_quantile({q}, {native_series})"), None)
                .await
                .unwrap_or_else(|| panic!("no native quantile of {name}"));
            let classic_q = prom
                .scalar(
                    &format!("histogram_quantile({q}, {name}_bucket{{job=\"classic\"}})"),
                    None,
                )
                .await
                .unwrap_or_else(|| panic!("no classic quantile of {name}"));
            let error = native_q / perf - 1.0;
            eprintln!(
                "{name} p{}: perf {:.4} ms, native {:.4} ms ({:+.2}%), classic {:.4} ms ({:+.1}%)",
                q * 100.0,
                perf * 1e3,
                native_q * 1e3,
                error * 100.0,
                classic_q * 1e3,
                (classic_q / perf - 1.0) * 100.0
            );
            assert!(
                error.abs() <= MAX_ERROR,
                "{name} p{}: Prometheus' native quantile {native_q} s is {:+.2}% off perf's {perf} s",
                q * 100.0,
                error * 100.0
            );
        }
    }

    // The route goes on being slow, so its rate stays above the rule's floor of 0.1/s.
    let pending = "ALERTS{alertname=\"HttpRouteLatencyP99AboveObjective\",\
                   alertstate=\"pending\",route=\"/slow\"}";
    let deadline = Instant::now() + Duration::from_secs(40);
    while prom.scalar(pending, None).await != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "the native-only slow route never raised {pending}"
        );
        for _ in 0..20 {
            slow.record(Duration::from_millis(900));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let classic_buckets = format!("count({HTTP_SERVER_REQUEST_DURATION}_bucket)");
    assert_eq!(prom.scalar(&classic_buckets, None).await, None);
    eprintln!("{pending}: raised from the native histogram alone");
}
