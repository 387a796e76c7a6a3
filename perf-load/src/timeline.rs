//! The per-second record of a run: each second's completions, errors and HDR histograms,
//! kept open for two seconds (completions race to the lock a little out of order), then
//! closed into a [`Second`] row and a compact V2-encoded interval for the HDR log.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::summary::ms;

/// Significant digits of the per-second HDR histograms (0.1% resolution).
const SIGFIG: u8 = 3;

/// One second of a run, by completion time.
///
/// ```
/// let s = perf_load::Second::default();
/// assert_eq!(s.requests, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the start of the run.
    pub second: u64,
    /// Requests that completed in this second (ok or error): the achieved rate.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Median latency from the intended start.
    #[serde(rename = "p50_ms", with = "ms")]
    pub p50: Duration,
    /// 99th percentile latency from the intended start.
    #[serde(rename = "p99_ms", with = "ms")]
    pub p99: Duration,
}

/// One second's histograms, V2-encoded (a few hundred bytes for a typical second).
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    pub(crate) second: u64,
    pub(crate) latency: Vec<u8>,
    pub(crate) service: Vec<u8>,
}

impl Interval {
    pub(crate) fn decode(bytes: &[u8]) -> Histogram<u64> {
        Deserializer::new()
            .deserialize(&mut &bytes[..])
            .unwrap_or_else(|_| new_histogram())
    }
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // Cannot fail: 3 significant digits is in hdrhistogram's accepted 0..=5.
    Histogram::new(SIGFIG).expect("3 significant digits are valid")
}

struct Open {
    requests: u64,
    errors: u64,
    latency: Histogram<u64>,
    service: Histogram<u64>,
}

#[derive(Default)]
pub(crate) struct Timeline {
    open: BTreeMap<u64, Open>,
    rows: Vec<Second>,
    intervals: Vec<Interval>,
}

impl Timeline {
    pub(crate) fn record(&mut self, second: u64, latency_ns: u64, service_ns: u64, error: bool) {
        let closed = self.rows.len() as u64;
        let second = second.max(closed);
        let open = self.open.entry(second).or_insert_with(|| Open {
            requests: 0,
            errors: 0,
            latency: new_histogram(),
            service: new_histogram(),
        });
        open.requests += 1;
        open.errors += u64::from(error);
        // Auto-resizing histograms grow to take any value a run can measure.
        let _ = open.latency.record(latency_ns.max(1));
        let _ = open.service.record(service_ns.max(1));
        if second >= 2 {
            self.close_before(second - 1);
        }
    }

    /// Closes every second before `end`, filling seconds without completions with zeros.
    fn close_before(&mut self, end: u64) {
        while (self.rows.len() as u64) < end {
            let second = self.rows.len() as u64;
            let row = match self.open.remove(&second) {
                None => Second {
                    second,
                    ..Second::default()
                },
                Some(o) => {
                    let mut ser = V2Serializer::new();
                    let mut latency = Vec::new();
                    let mut service = Vec::new();
                    // Serializing into a Vec cannot fail for a valid histogram.
                    let _ = ser.serialize(&o.latency, &mut latency);
                    let _ = ser.serialize(&o.service, &mut service);
                    self.intervals.push(Interval {
                        second,
                        latency,
                        service,
                    });
                    Second {
                        second,
                        requests: o.requests,
                        errors: o.errors,
                        p50: Duration::from_nanos(o.latency.value_at_quantile(0.5)),
                        p99: Duration::from_nanos(o.latency.value_at_quantile(0.99)),
                    }
                }
            };
            self.rows.push(row);
        }
    }

    pub(crate) fn finish(mut self) -> (Vec<Second>, Vec<Interval>) {
        let end = self.open.keys().next_back().map_or(0, |s| s + 1);
        self.close_before(end);
        (self.rows, self.intervals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fill_gaps_and_late_arrivals_join_the_oldest_open_second() {
        let mut t = Timeline::default();
        t.record(0, 10_000_000, 9_000_000, false);
        t.record(0, 20_000_000, 9_000_000, true);
        t.record(3, 1_000_000, 1_000_000, false); // closes 0 and 1
        t.record(0, 5_000_000, 5_000_000, false); // 0 is closed: counted in second 2
        let (rows, intervals) = t.finish();
        let got: Vec<(u64, u64, u64)> = rows
            .iter()
            .map(|r| (r.second, r.requests, r.errors))
            .collect();
        assert_eq!(got, [(0, 2, 1), (1, 0, 0), (2, 1, 0), (3, 1, 0)]);
        assert_eq!(intervals.len(), 3);
        let h = Interval::decode(&intervals[0].latency);
        assert_eq!(h.len(), 2);
        assert_eq!(
            h.highest_equivalent(h.max()),
            h.highest_equivalent(20_000_000)
        );
        assert_eq!(rows[0].p50.as_millis(), 10);
    }
}
