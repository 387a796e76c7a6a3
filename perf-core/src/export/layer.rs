//! The cardinality guard as a `metrics` layer, so counters and gauges recorded through the
//! facade are bounded the same way perf's own histograms are.

use std::sync::Arc;

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit,
};
use metrics_util::layers::Layer;

use crate::cardinality::LabelGuard;

/// Wraps a recorder so that no label of any metric takes more than `max` distinct values;
/// the excess is recorded under `__overflow__`.
///
/// ```
/// use metrics_util::layers::Layer;
/// use metrics_util::debugging::DebuggingRecorder;
/// use perf_core::export::CardinalityLayer;
///
/// let recorder = CardinalityLayer::new(1).layer(DebuggingRecorder::new());
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("hits", "user" => "a").increment(1);
///     metrics::counter!("hits", "user" => "b").increment(1); // folded
/// });
/// ```
#[derive(Clone, Debug)]
pub struct CardinalityLayer {
    guard: Arc<LabelGuard>,
}

impl CardinalityLayer {
    /// A layer allowing `max` distinct values per label of each metric.
    pub fn new(max: usize) -> Self {
        CardinalityLayer {
            guard: Arc::new(LabelGuard::new(max)),
        }
    }
}

impl<R> Layer<R> for CardinalityLayer {
    type Output = CardinalityRecorder<R>;
    fn layer(&self, inner: R) -> Self::Output {
        CardinalityRecorder {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The recorder [`CardinalityLayer`] produces.
#[derive(Debug)]
pub struct CardinalityRecorder<R> {
    inner: R,
    guard: Arc<LabelGuard>,
}

impl<R> CardinalityRecorder<R> {
    fn guarded(&self, key: &Key) -> Key {
        let name = key.name();
        let mut changed = false;
        let labels: Vec<Label> = key
            .labels()
            .map(|l| {
                let v = self.guard.admit(name, l.key(), l.value());
                if v == l.value() {
                    l.clone()
                } else {
                    changed = true;
                    Label::new(l.key().to_owned(), v.to_owned())
                }
            })
            .collect();
        if changed {
            Key::from_parts(name.to_owned(), labels)
        } else {
            key.clone()
        }
    }
}

impl<R: Recorder> Recorder for CardinalityRecorder<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.inner.register_counter(&self.guarded(key), metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(&self.guarded(key), metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(&self.guarded(key), metadata)
    }
}
