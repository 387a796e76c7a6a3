//! The per-thread cache of histograms by route that keeps a timed request off the registry's
//! lock: the hot path is one map lookup and one shared read lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use thread_local::ThreadLocal;

use super::labels::{Status, METHODS};
use super::layer::{RequestHead, RequestTimingLayer};
use crate::cardinality::OVERFLOW;
use crate::histogram::LatencyHistogram;
use crate::names::{LABEL_METHOD, LABEL_ROUTE, LABEL_STATUS};

/// What every clone of one layered service shares: the configuration and the cache of
/// histograms by route.
pub(super) struct Shared {
    pub(super) layer: RequestTimingLayer,
    /// One cache per thread, keyed by the route as extracted (so the hot path looks up a
    /// borrowed `&str`). Per thread so that a request writes nothing another thread reads:
    /// a shared map's lock word and a shared entry's reference count would bounce between
    /// cores on every request (with a shared map the layer added ~100 ns of wall time per
    /// request on two threads, ~60 ns with these; BENCHMARKS.md). A route past the
    /// cardinality limit is not inserted, so each map stays bounded; the histograms behind
    /// the entries are the registry's, one per series.
    pub(super) routes: ThreadLocal<RefCell<HashMap<Box<str>, Arc<RouteSeries>>>>,
}

impl Shared {
    pub(super) fn route_series(&self, head: RequestHead<'_>) -> Arc<RouteSeries> {
        let route = match &self.layer.route {
            Some(extract) => extract(head).unwrap_or(&self.layer.unmatched),
            None => head.uri.path(),
        };
        let cache = self.routes.get_or_default();
        if let Some(series) = cache.borrow().get(route) {
            return series.clone();
        }
        self.route_series_slow(cache, route)
    }

    #[cold]
    fn route_series_slow(
        &self,
        cache: &RefCell<HashMap<Box<str>, Arc<RouteSeries>>>,
        route: &str,
    ) -> Arc<RouteSeries> {
        // Idempotent: a route another thread admitted is admitted again here.
        let admitted =
            self.layer
                .registry
                .label_guard()
                .admit(&self.layer.metric, LABEL_ROUTE, route);
        // Past the limit, every new route shares the `__overflow__` entry, cached under that
        // name only: caching each raw route would grow the map without bound.
        let key = if admitted == OVERFLOW {
            OVERFLOW
        } else {
            route
        };
        cache
            .borrow_mut()
            .entry(key.into())
            .or_insert_with(|| {
                Arc::new(RouteSeries {
                    layer: self.layer.clone(),
                    route: admitted.into(),
                    histograms: RwLock::new(Vec::new()),
                })
            })
            .clone()
    }
}

/// The histograms of one route, by (method, status): a handful per route, so a short list.
/// One per route and thread (see [`Shared::routes`]); the histograms are shared.
pub(super) struct RouteSeries {
    /// The configuration, so a request under way needs only its route's entry.
    pub(super) layer: RequestTimingLayer,
    route: Box<str>,
    histograms: RwLock<Vec<(u8, Status, Arc<LatencyHistogram>)>>,
}

impl RouteSeries {
    /// Records one request; under the read lock, so no reference count is touched.
    pub(super) fn record(&self, method: u8, status: Status, nanos: u64) {
        {
            let histograms = self.histograms.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, _, h)) = histograms
                .iter()
                .find(|(m, s, _)| *m == method && *s == status)
            {
                h.record_nanos(nanos);
                return;
            }
        }
        self.histogram_slow(method, status).record_nanos(nanos);
    }

    #[cold]
    fn histogram_slow(&self, method: u8, status: Status) -> Arc<LatencyHistogram> {
        let mut histograms = self.histograms.write().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, h)) = histograms
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            return h.clone();
        }
        let status_label = status.label();
        let labels = [
            (LABEL_METHOD, METHODS[usize::from(method)]),
            (LABEL_ROUTE, &*self.route),
            (LABEL_STATUS, &*status_label),
        ];
        // The name was checked when the layer was configured and the keys are constants,
        // so this cannot fail; a detached histogram keeps the request path panic-free anyway.
        let h = self
            .layer
            .registry
            .histogram(&self.layer.metric, &labels)
            .unwrap_or_else(|_| Arc::new(LatencyHistogram::new()));
        histograms.push((method, status, h.clone()));
        h
    }
}
