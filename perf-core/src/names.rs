//! Every metric name perf-core exports, the label keys it writes, and the bucket sets that go
//! with them, in one place: rename one here and every writer and reader follows.
//!
//! The public constants keep their documented paths (`perf_core::export::*`,
//! `perf_core::tower::HTTP_SERVER_REQUEST_DURATION`) as re-exports.

/// Name of the histogram family of timed functions.
pub const FUNCTION_DURATION: &str = "function_calls_duration_seconds";
/// Name of the counter family of timed functions.
pub const FUNCTION_CALLS: &str = "function_calls_total";

/// Counter of the allocations made by timed functions' calls (callees included), labels
/// `function`, `module`, `result`. Exported when perf's counting allocator is installed.
pub const FUNCTION_ALLOCATIONS: &str = "function_allocations_total";
/// Counter of the bytes allocated by timed functions' calls (callees included), labels
/// `function`, `module`, `result`.
pub const FUNCTION_ALLOCATED_BYTES: &str = "function_allocated_bytes_total";
/// Gauge of the process's live heap bytes, as perf's counting allocator sees it.
pub const HEAP_LIVE_BYTES: &str = "perf_heap_live_bytes";
/// Counter of the allocations the process made through perf's counting allocator:
/// `rate()` of it is the allocation rate.
pub const HEAP_ALLOCATIONS: &str = "perf_heap_allocations_total";

/// The function's name: a label of [`FUNCTION_DURATION`] and [`FUNCTION_CALLS`].
pub(crate) const LABEL_FUNCTION: &str = "function";
/// The function's module path (empty for a scope timer).
pub(crate) const LABEL_MODULE: &str = "module";
/// How the call ended: `ok`, `error`, `panic`, `cancelled`.
pub(crate) const LABEL_RESULT: &str = "result";

/// The default metric name of request timing: OpenTelemetry's `http.server.request.duration`
/// as Prometheus spells it. Its labels `method`, `route` and `status` hold what OpenTelemetry
/// calls `http.request.method`, `http.route` and `http.response.status_code`.
// Ungated so the name has one home; only the `tower` feature records under it.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub const HTTP_SERVER_REQUEST_DURATION: &str = "http_server_request_duration_seconds";

/// Total user and system CPU time of the process, in seconds (counter). This and the other
/// `PROCESS_*` names are the Prometheus client libraries' process metrics, exported on Linux
/// by an exporter built with `with_process_metrics`.
pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds_total";
/// Open file descriptors of the process (gauge).
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
/// The process's limit on open file descriptors, its soft `RLIMIT_NOFILE` (gauge).
pub const PROCESS_MAX_FDS: &str = "process_max_fds";
/// Virtual memory size of the process, in bytes (gauge).
pub const PROCESS_VIRTUAL_MEMORY: &str = "process_virtual_memory_bytes";
/// Resident memory size of the process, in bytes (gauge).
pub const PROCESS_RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// When the process started, in seconds since the Unix epoch (gauge).
pub const PROCESS_START_TIME: &str = "process_start_time_seconds";
/// OS threads of the process (gauge).
pub const PROCESS_THREADS: &str = "process_threads";

/// Every metric family perf-core exports (`HTTP_SERVER_REQUEST_DURATION` with feature
/// `tower`, the `PROCESS_*` ones on Linux with `with_process_metrics`): what a dashboard or
/// an alert rule may read.
pub const METRICS: &[&str] = &[
    FUNCTION_DURATION,
    FUNCTION_CALLS,
    FUNCTION_ALLOCATIONS,
    FUNCTION_ALLOCATED_BYTES,
    HEAP_LIVE_BYTES,
    HEAP_ALLOCATIONS,
    HTTP_SERVER_REQUEST_DURATION,
    PROCESS_CPU_SECONDS,
    PROCESS_OPEN_FDS,
    PROCESS_MAX_FDS,
    PROCESS_VIRTUAL_MEMORY,
    PROCESS_RESIDENT_MEMORY,
    PROCESS_START_TIME,
    PROCESS_THREADS,
];

/// The request method label of [`HTTP_SERVER_REQUEST_DURATION`].
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) const LABEL_METHOD: &str = "method";
/// The route label of [`HTTP_SERVER_REQUEST_DURATION`].
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) const LABEL_ROUTE: &str = "route";
/// The response status label of [`HTTP_SERVER_REQUEST_DURATION`].
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) const LABEL_STATUS: &str = "status";

/// Default bucket upper bounds (seconds) of latency histograms: autometrics' set with four
/// finer buckets below 5 ms, so in-process calls are resolved too.
pub const DEFAULT_LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0,
];

/// OpenTelemetry GenAI advice: `gen_ai.client.operation.duration` and
/// `gen_ai.client.operation.time_to_first_chunk` buckets, in seconds.
pub const GEN_AI_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// OpenTelemetry GenAI advice: `gen_ai.client.token.usage` buckets, in tokens.
pub const GEN_AI_TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// OpenTelemetry GenAI advice: `gen_ai.server.time_per_output_token` buckets, in seconds.
pub const GEN_AI_TIME_PER_CHUNK_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
