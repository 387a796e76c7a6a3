//! Every metric name perf-async exports, and the label keys it puts on them, in one place:
//! the per-location poll metrics of the wrapper and the watchdog, and the tokio runtime
//! gauges of [`RuntimeGauges`](crate::RuntimeGauges). Dashboards and alert rules use these.

/// `async_polls_total`: polls of wrapped futures.
pub const POLLS_TOTAL: &str = "async_polls_total";
/// `async_slow_polls_total`: polls longer than their threshold.
pub const SLOW_POLLS_TOTAL: &str = "async_slow_polls_total";
/// `async_slow_poll_duration_seconds`: histogram of slow polls' durations.
pub const SLOW_POLL_DURATION: &str = "async_slow_poll_duration_seconds";
/// `async_stalls_total`: polls the watchdog saw still running past their threshold.
pub const STALLS_TOTAL: &str = "async_stalls_total";

/// `tokio_workers`: worker threads of the runtime. (Not `_count`: Prometheus reserves that
/// suffix for histograms and summaries.)
pub const WORKERS: &str = "tokio_workers";
/// Tasks alive (spawned, not yet finished).
pub const ALIVE_TASKS: &str = "tokio_alive_tasks";
/// Tasks waiting in the global (injection) queue.
pub const GLOBAL_QUEUE_DEPTH: &str = "tokio_global_queue_depth";
/// `tokio_worker_busy_seconds`: total time each worker was busy, seconds (label `worker`).
///
/// A gauge holding the running total, because `metrics` counters are integers and whole
/// seconds would be too coarse; without `_total`, which Prometheus reserves for counters.
/// `rate()` reads it as it reads a counter.
pub const WORKER_BUSY_SECONDS: &str = "tokio_worker_busy_seconds";
/// Times each worker parked (label `worker`), as a counter.
pub const WORKER_PARKS: &str = "tokio_worker_park_total";

/// Every metric family perf-async exports: what a dashboard or an alert rule may read.
pub const METRICS: &[&str] = &[
    POLLS_TOTAL,
    SLOW_POLLS_TOTAL,
    SLOW_POLL_DURATION,
    STALLS_TOTAL,
    WORKERS,
    ALIVE_TASKS,
    GLOBAL_QUEUE_DEPTH,
    WORKER_BUSY_SECONDS,
    WORKER_PARKS,
];

/// Gives the recorder in effect the HELP text of the wrapper's and the watchdog's metrics.
/// Called where their handles are registered, so the recorder that gets the handles also
/// gets the descriptions (without one, `promtool check metrics` flags "no help text").
pub(crate) fn describe_poll_metrics() {
    metrics::describe_counter!(POLLS_TOTAL, "Polls of futures wrapped by perf-async.");
    metrics::describe_counter!(
        SLOW_POLLS_TOTAL,
        "Polls of wrapped futures that took at least their slow-poll threshold."
    );
    metrics::describe_histogram!(
        SLOW_POLL_DURATION,
        metrics::Unit::Seconds,
        "Duration of slow polls of wrapped futures, seconds."
    );
    metrics::describe_counter!(
        STALLS_TOTAL,
        "Polls the watchdog saw still running past their slow-poll threshold."
    );
}

/// Gives the recorder in effect the HELP text of [`RuntimeGauges`](crate::RuntimeGauges)'
/// metrics; called at each sample, so a recorder installed after the first one gets it too.
pub(crate) fn describe_runtime_gauges() {
    metrics::describe_gauge!(WORKERS, "Worker threads of the tokio runtime.");
    metrics::describe_gauge!(
        ALIVE_TASKS,
        "Tasks of the tokio runtime spawned and not yet finished."
    );
    metrics::describe_gauge!(
        GLOBAL_QUEUE_DEPTH,
        "Tasks waiting in the tokio runtime's global (injection) queue."
    );
    metrics::describe_gauge!(
        WORKER_BUSY_SECONDS,
        metrics::Unit::Seconds,
        "Time the tokio worker was busy since the runtime started, seconds (a running total: use rate())."
    );
    metrics::describe_counter!(WORKER_PARKS, "Times the tokio worker parked.");
}

/// Label of the poll metrics: the `file:line` where the future was wrapped.
pub(crate) const LABEL_LOCATION: &str = "location";
/// Label of the poll metrics, when the wrapper was given a task name.
pub(crate) const LABEL_TASK: &str = "task";
/// Label of every runtime gauge: the name given to [`RuntimeGauges`](crate::RuntimeGauges).
pub(crate) const LABEL_RUNTIME: &str = "runtime";
/// Label of the per-worker runtime metrics: the worker's index.
pub(crate) const LABEL_WORKER: &str = "worker";
