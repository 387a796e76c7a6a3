//! Prometheus export: perf's own histograms, rendered from their shards at scrape time,
//! served in one exposition with everything recorded through the `metrics` facade (the
//! counters and gauges of perf-llm, perf-async and the application).
//!
//! Timed calls are **not** pushed through the facade per call: measured here, a cached
//! `metrics::Histogram` record into metrics-exporter-prometheus costs ~40 ns and slows 5×
//! per thread under two threads, against ~7 ns for a thread-local shard record.
//!
//! ```no_run
//! # fn main() -> Result<(), perf_core::ExportError> {
//! let exporter = perf_core::export::prometheus()
//!     .with_http_listener(([127, 0, 0, 1], 9000))
//!     .add_global_label("service", "checkout")
//!     .install()?;
//! println!("scrape http://{}/metrics", exporter.local_addr().unwrap());
//! # Ok(()) }
//! ```

mod bridge;
mod layer;
mod server;
mod text;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusHandle, PrometheusRecorder};
use metrics_util::layers::Layer;

pub use bridge::{bridge, Bridge, BridgeBuilder};
pub use layer::{CardinalityLayer, CardinalityRecorder};
pub use text::{render, RenderOptions};

pub use crate::names::{
    DEFAULT_LATENCY_BUCKETS, FUNCTION_CALLS, FUNCTION_DURATION, GEN_AI_DURATION_BUCKETS,
    GEN_AI_TIME_PER_CHUNK_BUCKETS, GEN_AI_TOKEN_BUCKETS,
};

use crate::cardinality::DEFAULT_MAX_LABEL_VALUES;
use crate::error::{check_buckets, ExportError};
use crate::registry::Registry;

/// Starts configuring the Prometheus exporter.
pub fn prometheus() -> PrometheusBuilder {
    PrometheusBuilder::new()
}

/// Configures the Prometheus exporter: where it listens, global labels, buckets, upkeep,
/// the cardinality limit.
#[derive(Debug)]
pub struct PrometheusBuilder {
    listen: Option<SocketAddr>,
    global_labels: Vec<(String, String)>,
    buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    upkeep: Duration,
    max_label_values: usize,
    registry: &'static Registry,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusBuilder {
    /// Defaults: no listener (use [`PrometheusExporter::render`]), latency buckets
    /// [`DEFAULT_LATENCY_BUCKETS`], GenAI bucket sets for the `gen_ai_*` histograms, upkeep
    /// every 5 s, at most 1000 values per label.
    pub fn new() -> Self {
        PrometheusBuilder {
            listen: None,
            global_labels: Vec::new(),
            buckets: DEFAULT_LATENCY_BUCKETS.to_vec(),
            metric_buckets: vec![
                (
                    "gen_ai_client_operation_duration_seconds".into(),
                    GEN_AI_DURATION_BUCKETS.to_vec(),
                ),
                (
                    "gen_ai_client_operation_time_to_first_chunk_seconds".into(),
                    GEN_AI_DURATION_BUCKETS.to_vec(),
                ),
                (
                    "gen_ai_client_operation_time_per_output_chunk_seconds".into(),
                    GEN_AI_TIME_PER_CHUNK_BUCKETS.to_vec(),
                ),
                (
                    "gen_ai_client_token_usage".into(),
                    GEN_AI_TOKEN_BUCKETS.to_vec(),
                ),
            ],
            upkeep: Duration::from_secs(5),
            max_label_values: DEFAULT_MAX_LABEL_VALUES,
            registry: Registry::global(),
        }
    }

    /// Serves `GET /metrics` on `addr` (there is no default address; port 0 lets the OS
    /// pick, see [`PrometheusExporter::local_addr`]).
    pub fn with_http_listener(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.listen = Some(addr.into());
        self
    }

    /// Adds a label to every exported series.
    pub fn add_global_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((key.into(), value.into()));
        self
    }

    /// Bucket upper bounds, in seconds, for latency histograms without their own.
    pub fn latency_buckets(mut self, buckets: &[f64]) -> Result<Self, ExportError> {
        check_buckets(buckets)?;
        self.buckets = buckets.to_vec();
        Ok(self)
    }

    /// Bucket upper bounds for one metric: a histogram recorded through the `metrics`
    /// facade, or one of perf's own (a [`Registry::histogram`] name).
    pub fn buckets_for_metric(
        mut self,
        name: impl Into<String>,
        buckets: &[f64],
    ) -> Result<Self, ExportError> {
        check_buckets(buckets)?;
        let name = name.into();
        self.metric_buckets.retain(|(n, _)| *n != name);
        self.metric_buckets.push((name, buckets.to_vec()));
        Ok(self)
    }

    /// How often idle facade histograms are drained so memory stays bounded when nothing
    /// scrapes (default 5 s).
    pub fn upkeep_interval(mut self, every: Duration) -> Self {
        self.upkeep = every.max(Duration::from_millis(10));
        self
    }

    /// Most distinct values one label of one metric may take before further values are
    /// folded into `__overflow__` (default 1000).
    pub fn max_label_values(mut self, max: usize) -> Self {
        self.max_label_values = max;
        self
    }

    /// Builds the facade recorder (wrapped in the cardinality guard) and the exporter,
    /// without installing the recorder globally: for tests with
    /// `metrics::with_local_recorder`, or to compose with other layers.
    pub fn build(
        self,
    ) -> Result<(CardinalityRecorder<PrometheusRecorder>, PrometheusExporter), ExportError> {
        let mut inner = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&self.buckets)
            .map_err(|_| ExportError::InvalidBuckets(self.buckets.clone()))?;
        for (name, buckets) in &self.metric_buckets {
            inner = inner
                .set_buckets_for_metric(Matcher::Full(name.clone()), buckets)
                .map_err(|_| ExportError::InvalidBuckets(buckets.clone()))?;
        }
        for (k, v) in &self.global_labels {
            inner = inner.add_global_label(k.clone(), v.clone());
        }
        let recorder = inner.build_recorder();
        let handle = recorder.handle();
        self.registry.label_guard().set_max(self.max_label_values);
        let layer = CardinalityLayer::new(self.max_label_values);
        let recorder = layer.layer(recorder);
        let state = Arc::new(State {
            handle: Some(handle),
            registry: self.registry,
            options: RenderOptions {
                global_labels: self.global_labels,
                buckets: self.buckets,
                metric_buckets: self.metric_buckets,
            },
        });
        let upkeep = Some(server::Periodic::spawn("perf-upkeep", self.upkeep, {
            let state = state.clone();
            move || {
                if let Some(h) = &state.handle {
                    h.run_upkeep();
                }
            }
        })?);
        let server = match self.listen {
            Some(addr) => Some(server::Server::start(addr, state.clone())?),
            None => None,
        };
        Ok((
            recorder,
            PrometheusExporter {
                state,
                server,
                _upkeep: upkeep,
            },
        ))
    }

    /// Builds, installs the recorder as the global `metrics` recorder, and starts the
    /// listener if one was asked for. Fails if a global recorder is already installed.
    pub fn install(self) -> Result<PrometheusExporter, ExportError> {
        let (recorder, exporter) = self.build()?;
        metrics::set_global_recorder(recorder)
            .map_err(|_| ExportError::RecorderAlreadyInstalled)?;
        Ok(exporter)
    }
}

pub(crate) struct State {
    handle: Option<PrometheusHandle>,
    registry: &'static Registry,
    options: RenderOptions,
}

impl State {
    fn render(&self) -> String {
        let mut out = render(self.registry, &self.options);
        if let Some(h) = &self.handle {
            out.push_str(&h.render());
        }
        out
    }
}

/// The running exporter. Dropping it stops its listener and upkeep thread; recording goes
/// on unaffected (perf's histograms keep their samples, the facade recorder stays installed).
pub struct PrometheusExporter {
    state: Arc<State>,
    server: Option<server::Server>,
    _upkeep: Option<server::Periodic>,
}

impl std::fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

impl PrometheusExporter {
    /// The whole exposition text: perf's histograms, then the facade's metrics. Serve it
    /// from your own web server if you did not ask for a listener.
    pub fn render(&self) -> String {
        self.state.render()
    }

    /// The address the listener is bound to (with the port the OS picked), if any.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.local_addr)
    }
}
