//! The opt-in bridge for users of other `metrics` exporters (StatsD, OpenTelemetry): at an
//! interval, off the hot path, forwards what perf's histograms gained since the last tick
//! into the `metrics` facade.

use std::collections::HashMap;
use std::time::Duration;

use super::server::Periodic;
use crate::histogram::Snapshot;
use crate::names::FUNCTION_DURATION;
use crate::registry::{Family, Registry};

/// Starts configuring the bridge.
pub fn bridge() -> BridgeBuilder {
    BridgeBuilder {
        interval: Duration::from_secs(10),
        registry: Registry::global(),
    }
}

/// Configures the bridge.
#[derive(Debug)]
pub struct BridgeBuilder {
    interval: Duration,
    registry: &'static Registry,
}

impl BridgeBuilder {
    /// How often deltas are forwarded (default 10 s).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::from_millis(10));
        self
    }

    /// Forwards from `registry` instead of the global one.
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Starts the forwarding thread; it stops when the [`Bridge`] is dropped.
    ///
    /// ```
    /// let bridge = perf_core::export::bridge()
    ///     .interval(std::time::Duration::from_secs(15))
    ///     .spawn()
    ///     .unwrap();
    /// drop(bridge);
    /// ```
    pub fn spawn(self) -> std::io::Result<Bridge> {
        let registry = self.registry;
        let mut state = Forwarder::default();
        let periodic = Periodic::spawn("perf-bridge", self.interval, move || {
            state.forward(registry)
        })?;
        Ok(Bridge {
            _periodic: periodic,
        })
    }
}

/// The running bridge; dropping it stops forwarding.
pub struct Bridge {
    _periodic: Periodic,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bridge")
    }
}

/// Remembers what was forwarded per series.
#[derive(Default)]
pub(crate) struct Forwarder {
    last: HashMap<(String, Vec<(String, String)>), Snapshot>,
}

impl Forwarder {
    /// Records each series' new samples into the current `metrics` recorder, in seconds.
    pub(crate) fn forward(&mut self, registry: &Registry) {
        for s in registry.series() {
            let name = match s.family {
                Family::FunctionCalls => FUNCTION_DURATION.to_owned(),
                Family::Named => s.name.to_string(),
            };
            let labels: Vec<(String, String)> = s
                .labels()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let now = s.histogram().snapshot();
            let key = (name.clone(), labels.clone());
            let delta = match self.last.get(&key) {
                Some(prev) => now.delta_since(prev),
                None => now.clone(),
            };
            if delta.count() > 0 {
                let labels: Vec<metrics::Label> = labels
                    .into_iter()
                    .map(|(k, v)| metrics::Label::new(k, v))
                    .collect();
                let h = metrics::histogram!(name, labels);
                for (nanos, count) in delta.buckets() {
                    h.record_many(nanos as f64 / 1e9, count as usize);
                }
            }
            self.last.insert(key, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    #[test]
    fn forwards_only_new_samples() {
        let registry = Registry::new();
        let h = registry.histogram("q_seconds", &[]).unwrap();
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let mut fwd = Forwarder::default();
        let count = |snapshotter: &metrics_util::debugging::Snapshotter| -> usize {
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(_, _, _, v)| match v {
                    DebugValue::Histogram(v) => v.len(),
                    _ => 0,
                })
                .sum()
        };
        metrics::with_local_recorder(&recorder, || {
            h.record_nanos(1_000);
            h.record_nanos(2_000);
            fwd.forward(&registry);
        });
        assert_eq!(count(&snapshotter), 2);
        metrics::with_local_recorder(&recorder, || {
            h.record_nanos(3_000);
            fwd.forward(&registry);
        });
        assert_eq!(count(&snapshotter), 1, "only the new sample is forwarded");
    }
}
