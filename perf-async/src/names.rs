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

/// Worker threads of the runtime.
pub const WORKERS: &str = "tokio_workers_count";
/// Tasks alive (spawned, not yet finished).
pub const ALIVE_TASKS: &str = "tokio_alive_tasks";
/// Tasks waiting in the global (injection) queue.
pub const GLOBAL_QUEUE_DEPTH: &str = "tokio_global_queue_depth";
/// Total time each worker was busy, seconds (label `worker`), as a counter.
pub const WORKER_BUSY_SECONDS: &str = "tokio_worker_busy_seconds_total";
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

/// Label of the poll metrics: the `file:line` where the future was wrapped.
pub(crate) const LABEL_LOCATION: &str = "location";
/// Label of the poll metrics, when the wrapper was given a task name.
pub(crate) const LABEL_TASK: &str = "task";
/// Label of every runtime gauge: the name given to [`RuntimeGauges`](crate::RuntimeGauges).
pub(crate) const LABEL_RUNTIME: &str = "runtime";
/// Label of the per-worker runtime metrics: the worker's index.
pub(crate) const LABEL_WORKER: &str = "worker";
