// `le` and `quantile` are the labels Prometheus puts on histogram buckets and summary
// quantiles: a static label of either would appear twice on every `_bucket` line.
#[perf_core::timed(labels(tier = "gold", le = "x", quantile = "0.5"))]
fn handle() {}

#[perf_core::timed(labels(function = "f", module = "m"))]
fn other() {}

fn main() {
    handle();
    other();
}
