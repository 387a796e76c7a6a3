//! [`PrometheusBuilder`]: where the exporter listens, its global labels, buckets, upkeep and
//! cardinality limit, and the step that builds the facade recorder and the exporter.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusRecorder};
use metrics_util::layers::Layer;

use super::exporter::{PrometheusExporter, State};
use super::layer::{CardinalityLayer, CardinalityRecorder};
use super::native::{HistogramFormat, NativeOptions};
use super::process::ProcessCollector;
use super::push::{PushJob, PushTarget};
use super::text::{RenderOptions, Renderer};
use crate::cardinality::DEFAULT_MAX_LABEL_VALUES;
use crate::error::{check_buckets, check_global_label_key, ExportError};
use crate::names::DEFAULT_LATENCY_BUCKETS;
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
    header_read_timeout: Duration,
    push: Option<PushTarget>,
    process_metrics: bool,
    /// The form of each histogram in a protobuf scrape.
    native: NativeOptions,
    #[cfg(feature = "profile")]
    profiling: bool,
}

/// How long the listener waits for a request's headers by default: ample for any scraper,
/// short enough that slow or stalled clients cannot pile up connections.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PrometheusBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusBuilder {
    /// Defaults: no listener (use [`PrometheusExporter::render`]), latency buckets
    /// [`DEFAULT_LATENCY_BUCKETS`] for every histogram, upkeep every 5 s, at most 1000 values
    /// per label; to a protobuf scrape every histogram of perf's goes as a native histogram
    /// with its classic buckets alongside, at most 160 native buckets per series (see
    /// [`histogram_format`](Self::histogram_format)). The crates above perf-core name their
    /// own histograms' buckets (perf-llm: `perf_llm::names::HISTOGRAM_BUCKETS`); the
    /// facade's `perf::core::export::prometheus()` passes them in through
    /// [`buckets_for_metrics`](Self::buckets_for_metrics).
    pub fn new() -> Self {
        PrometheusBuilder {
            listen: None,
            global_labels: Vec::new(),
            buckets: DEFAULT_LATENCY_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            upkeep: Duration::from_secs(5),
            max_label_values: DEFAULT_MAX_LABEL_VALUES,
            registry: Registry::global(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            push: None,
            process_metrics: false,
            native: NativeOptions::default(),
            #[cfg(feature = "profile")]
            profiling: false,
        }
    }

    /// Exports `registry` instead of the global one, e.g. a registry a test owns.
    ///
    /// [`build`](Self::build) then changes nothing global: the cardinality limit
    /// ([`max_label_values`](Self::max_label_values)) is set on `registry` only. What
    /// `#[timed]` and [`time`](crate::time) record stays in the global registry
    /// ([`Registry::global`]) and is not in this exporter's text; facade metrics go to the
    /// recorder that `build` returns.
    ///
    /// ```
    /// use perf_core::Registry;
    ///
    /// static REGISTRY: Registry = Registry::new();
    ///
    /// REGISTRY.histogram("job_seconds", &[]).unwrap().record_nanos(2_000);
    /// let (_recorder, exporter) = perf_core::export::prometheus()
    ///     .registry(&REGISTRY)
    ///     .build()
    ///     .unwrap();
    /// assert!(exporter.render().contains("job_seconds_count 1\n"));
    /// ```
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Serves `GET /metrics` on `addr` (there is no default address; port 0 lets the OS
    /// pick, see [`PrometheusExporter::local_addr`]).
    /// A connection whose request headers take longer than
    /// [`header_read_timeout`](Self::header_read_timeout) (10 s) is closed.
    pub fn with_http_listener(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.listen = Some(addr.into());
        self
    }

    /// Also serves CPU profiles of the next N seconds on the listener (feature `profile`),
    /// as Go's `net/http/pprof` does: `GET /debug/pprof/profile?seconds=N` answers with the
    /// pprof protobuf, `GET /debug/pprof/flamegraph?seconds=N` with a flame graph SVG.
    ///
    /// `seconds` defaults to 30 and may be 1 to 300; another value gets a 400 that says
    /// why. One profile runs at a time: a request while one runs gets a 409. A client that
    /// disconnects stops its profile. A flame graph of a process that used no CPU meanwhile
    /// has no boxes to draw: it answers 200 with a plain-text note. Like everything on this
    /// listener, the endpoints must be reachable only from inside the service's network:
    /// bind the listener there (it has no default address).
    ///
    /// ```
    /// let exporter = perf_core::export::prometheus()
    ///     .with_http_listener(([127, 0, 0, 1], 0))
    ///     .with_profiling()
    ///     .build()
    ///     .unwrap()
    ///     .1;
    /// let addr = exporter.local_addr().unwrap();
    /// println!("go tool pprof http://{addr}/debug/pprof/profile?seconds=30");
    /// ```
    #[cfg(feature = "profile")]
    pub fn with_profiling(mut self) -> Self {
        self.profiling = true;
        self
    }

    /// How long the listener waits for the headers of a request before it closes the
    /// connection (default [`DEFAULT_HEADER_READ_TIMEOUT`], 10 s), so a client that sends
    /// slowly or stalls cannot hold a connection forever. The whole header must arrive in
    /// this time, however steadily its bytes trickle in.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let exporter = perf_core::export::prometheus()
    ///     .with_http_listener(([127, 0, 0, 1], 0))
    ///     .header_read_timeout(Duration::from_secs(2))
    ///     .build()
    ///     .unwrap()
    ///     .1;
    /// # drop(exporter);
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Pushes the exposition (what a scrape of `/metrics` gets: perf's histograms and the
    /// facade's series) to the Prometheus Pushgateway at `url` (its base URL, plain http)
    /// under `job`'s job name and grouping labels, every `interval` and once more when the
    /// exporter is dropped: keep the exporter alive until the job's work is done. For jobs
    /// that end before a scrape, e.g. a batch job, a CLI run or a CI benchmark.
    ///
    /// A push that fails (gateway down, refusing, or silent past [`PushJob::timeout`]) is
    /// logged as a `tracing` ERROR (target `perf::push`, at most one a minute,
    /// [`PUSH_ERROR_LOG_INTERVAL`](super::PUSH_ERROR_LOG_INTERVAL)) and the app goes on;
    /// the next push is tried an interval later. Dropping the exporter waits at most the
    /// push timeout for the final push.
    ///
    /// Fails with [`ExportError::Push`] on a URL that is not `http://host[:port][/prefix]`,
    /// an empty job name, a grouping label key that is invalid, `job`, given twice or one
    /// perf writes itself, or a zero interval or timeout.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), perf_core::ExportError> {
    /// use std::time::Duration;
    /// use perf_core::export::PushJob;
    ///
    /// let exporter = perf_core::export::prometheus()
    ///     .with_push_gateway(
    ///         "http://127.0.0.1:9091",
    ///         Duration::from_secs(10),
    ///         PushJob::new("nightly_bench").grouping_label("branch", "main"),
    ///     )?
    ///     .install()?;
    /// // ... the job's work ...
    /// drop(exporter); // the final push
    /// # Ok(()) }
    /// ```
    ///
    /// ```
    /// use std::time::Duration;
    /// use perf_core::export::PushJob;
    ///
    /// let refused = perf_core::export::prometheus()
    ///     .with_push_gateway("https://gateway:9091", Duration::from_secs(10), PushJob::new("j"));
    /// assert!(refused.is_err());
    /// ```
    pub fn with_push_gateway(
        mut self,
        url: impl AsRef<str>,
        interval: Duration,
        job: PushJob,
    ) -> Result<Self, ExportError> {
        self.push = Some(PushTarget::new(url.as_ref(), interval, job)?);
        Ok(self)
    }

    /// Adds the process metrics of the Prometheus client libraries to every scrape (and
    /// push), read from `/proc` at that moment, under their standard names so existing
    /// dashboards work: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
    /// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
    /// `process_start_time_seconds`, `process_threads` (see [`crate::names`]).
    ///
    /// Linux only: on a platform without `/proc` they are left out. `process_open_fds`
    /// does not count the descriptor that lists `/proc/self/fd` (the client libraries
    /// count it, so theirs read one higher).
    ///
    /// ```
    /// let (_recorder, exporter) = perf_core::export::prometheus()
    ///     .with_process_metrics()
    ///     .build()
    ///     .unwrap();
    /// let text = exporter.render();
    /// # #[cfg(target_os = "linux")]
    /// assert!(text.contains("\n# TYPE process_resident_memory_bytes gauge\n"));
    /// ```
    pub fn with_process_metrics(mut self) -> Self {
        self.process_metrics = true;
        self
    }

    /// Adds a label to every exported series; a key given again replaces its value. A
    /// series' own label of the same key wins over the global one.
    ///
    /// Fails with [`ExportError::InvalidGlobalLabel`] on a key that would break the scrape:
    /// not a valid Prometheus label name, reserved (`le`, `quantile`, `__…`), or one perf
    /// writes on its own series (`function`, `module`, `result`).
    ///
    /// ```
    /// # fn main() -> Result<(), perf_core::ExportError> {
    /// let builder = perf_core::export::prometheus().add_global_label("service", "checkout")?;
    /// # let _ = builder;
    /// assert!(perf_core::export::prometheus().add_global_label("le", "x").is_err());
    /// # Ok(()) }
    /// ```
    pub fn add_global_label(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ExportError> {
        let key = key.into();
        check_global_label_key(&key).map_err(ExportError::InvalidGlobalLabel)?;
        let value = value.into();
        match self.global_labels.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.global_labels.push((key, value)),
        }
        Ok(self)
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

    /// Bucket upper bounds for many metrics at once, as a crate that exports histograms
    /// lists them next to its metric names: each pair is what
    /// [`buckets_for_metric`](Self::buckets_for_metric) takes, and a later pair for the same
    /// name replaces an earlier one. Fails on the first invalid bucket set.
    ///
    /// ```
    /// # fn main() -> Result<(), perf_core::ExportError> {
    /// const QUEUE_BUCKETS: &[(&str, &[f64])] = &[
    ///     ("queue_wait_seconds", &[0.001, 0.01, 0.1, 1.0]),
    ///     ("queue_batch_size", &[1.0, 10.0, 100.0]),
    /// ];
    /// let builder = perf_core::export::prometheus().buckets_for_metrics(QUEUE_BUCKETS)?;
    /// # let _ = builder;
    /// # Ok(()) }
    /// ```
    pub fn buckets_for_metrics(mut self, metrics: &[(&str, &[f64])]) -> Result<Self, ExportError> {
        for (name, buckets) in metrics {
            self = self.buckets_for_metric(*name, buckets)?;
        }
        Ok(self)
    }

    /// How often idle facade histograms are drained so memory stays bounded when nothing
    /// scrapes (default 5 s).
    pub fn upkeep_interval(mut self, every: Duration) -> Self {
        self.upkeep = every.max(Duration::from_millis(10));
        self
    }

    /// Most distinct values one label of one metric may take before further values are
    /// folded into `__overflow__` (default 1000). It applies to the facade metrics of the
    /// recorder [`build`](Self::build) returns and to the registry this exporter renders
    /// (the global one unless [`registry`](Self::registry) names another).
    pub fn max_label_values(mut self, max: usize) -> Self {
        self.max_label_values = max;
        self
    }

    /// Builds the facade recorder (wrapped in the cardinality guard) and the exporter,
    /// without installing the recorder globally: for tests with
    /// `metrics::with_local_recorder`, or to compose with other layers. Its one effect
    /// outside what it returns is the cardinality limit of the exported registry; give a
    /// test its own with [`registry`](Self::registry).
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
        let process = self
            .process_metrics
            .then(|| ProcessCollector::new(&self.global_labels));
        let state = Arc::new(State {
            handle: Some(handle),
            process,
            registry: self.registry,
            renderer: Mutex::new(Renderer::new(&RenderOptions {
                global_labels: self.global_labels,
                buckets: self.buckets,
                metric_buckets: self.metric_buckets,
            })),
            native: self.native,
        });
        let listen = self.listen.map(|addr| (addr, self.header_read_timeout));
        #[cfg(feature = "profile")]
        let routes = match self.profiling {
            true => vec![super::pprof_endpoint::route()],
            false => Vec::new(),
        };
        #[cfg(not(feature = "profile"))]
        let routes = Vec::new();
        let exporter = PrometheusExporter::start(state, listen, self.upkeep, self.push, routes)?;
        Ok((recorder, exporter))
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

/// Native histograms on the exporter builder (their mapping is in `native.rs`).
impl PrometheusBuilder {
    /// The form of every histogram of perf's in a protobuf scrape (default
    /// [`HistogramFormat::Both`]). A text scrape always gets the classic buckets.
    pub fn histogram_format(mut self, format: HistogramFormat) -> Self {
        self.native.format = format;
        self
    }

    /// The form of the histograms exported under one metric name (a
    /// [`Registry::histogram`](crate::Registry::histogram) name, or
    /// `function_calls_duration_seconds` for every timed function), overriding
    /// [`histogram_format`](Self::histogram_format). A later call for the same name wins.
    pub fn histogram_format_for_metric(
        mut self,
        name: impl Into<String>,
        format: HistogramFormat,
    ) -> Self {
        let name = name.into();
        self.native.metric_formats.retain(|(n, _)| *n != name);
        self.native.metric_formats.push((name, format));
        self
    }

    /// Most filled native buckets of one series (default [`DEFAULT_NATIVE_BUCKET_LIMIT`](super::DEFAULT_NATIVE_BUCKET_LIMIT),
    /// 160). A series with more is served at a lower schema, each step merging pairs of
    /// buckets, so one wide distribution cannot blow up a scrape.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// let builder = perf_core::export::prometheus()
    ///     .native_bucket_limit(NonZeroUsize::new(320).unwrap());
    /// # let _ = builder;
    /// ```
    pub fn native_bucket_limit(mut self, limit: NonZeroUsize) -> Self {
        self.native.bucket_limit = limit;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets_of<'a>(b: &'a PrometheusBuilder, name: &str) -> Vec<&'a [f64]> {
        b.metric_buckets
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    #[test]
    fn buckets_for_metrics_sets_each_name_and_replaces_earlier_sets() {
        let b = prometheus()
            .buckets_for_metric("a_seconds", &[9.0])
            .unwrap()
            .buckets_for_metrics(&[
                ("a_seconds", &[0.1, 1.0]),
                ("b_total", &[1.0, 2.0, 3.0]),
                ("b_total", &[5.0]),
            ])
            .unwrap();
        assert_eq!(buckets_of(&b, "a_seconds"), [&[0.1, 1.0][..]]);
        assert_eq!(buckets_of(&b, "b_total"), [&[5.0][..]]);
        assert!(buckets_of(&b, "c_seconds").is_empty());
    }

    #[test]
    fn buckets_for_metrics_refuses_an_invalid_set() {
        let err = prometheus()
            .buckets_for_metrics(&[("ok_seconds", &[1.0]), ("bad_seconds", &[2.0, 1.0])])
            .unwrap_err();
        assert!(matches!(err, ExportError::InvalidBuckets(b) if b == [2.0, 1.0]));
    }

    #[test]
    fn buckets_for_metrics_reach_the_exposition() {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        registry
            .histogram("own_seconds", &[])
            .unwrap()
            .record_nanos(1_500_000_000);
        let (_recorder, exporter) = prometheus()
            .buckets_for_metrics(&[("own_seconds", &[1.0, 2.0])])
            .unwrap()
            .registry(registry)
            .build()
            .unwrap();
        let text = exporter.render();
        assert!(text.contains("own_seconds_bucket{le=\"1\"} 0\n"), "{text}");
        assert!(text.contains("own_seconds_bucket{le=\"2\"} 1\n"), "{text}");
    }
}
