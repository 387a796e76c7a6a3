//! Zero, huge and out-of-range durations, bad names: never a panic, never a lost sample.

use std::time::Duration;

use perf_core::{LatencyHistogram, NameError, Registry, MAX_TRACKABLE_NANOS};

#[test]
fn zero_is_recorded() {
    let h = LatencyHistogram::new();
    h.record(Duration::ZERO);
    let s = h.summary();
    assert_eq!((s.count, s.max), (1, Duration::ZERO));
}

#[test]
fn huge_durations_are_clamped_and_counted_as_saturated() {
    let h = LatencyHistogram::new();
    h.record(Duration::MAX);
    h.record(Duration::from_secs(3 * 3600));
    h.record_nanos(u64::MAX);
    h.record(Duration::from_secs(3600)); // one hour is in range
    let s = h.summary();
    assert_eq!(s.count, 4);
    assert_eq!(s.saturated, 3);
    assert_eq!(s.max, Duration::from_nanos(MAX_TRACKABLE_NANOS));
    let hour = 3_600_000_000_000f64;
    assert!((s.min.as_nanos() as f64 - hour).abs() / hour < perf_core::RELATIVE_ERROR);
    assert!(s.to_string().contains("saturated=3"));
}

#[test]
fn one_hour_is_within_range_and_exact_to_the_stated_error() {
    const { assert!(MAX_TRACKABLE_NANOS >= 3_600_000_000_000) };
    let h = LatencyHistogram::new();
    h.record(Duration::from_secs(3600));
    h.record(Duration::from_secs(3599));
    assert_eq!(h.summary().saturated, 0);
}

#[test]
fn invalid_names_and_label_keys_are_errors() {
    let r = Registry::new();
    assert_eq!(r.histogram("", &[]).unwrap_err(), NameError::EmptyName);
    assert!(matches!(
        r.histogram("has space", &[]),
        Err(NameError::InvalidName(_))
    ));
    assert!(matches!(
        r.histogram("ok", &[("bad-key", "v")]),
        Err(NameError::InvalidLabelKey(_))
    ));
    assert!(matches!(
        r.histogram("ok", &[("le", "v")]),
        Err(NameError::ReservedLabelKey(_))
    ));
    // The messages say what to do.
    assert!(NameError::EmptyName
        .to_string()
        .contains("name the histogram"));
    // Label values may be anything; they are escaped on export.
    assert!(r
        .histogram("ok", &[("k", "with \"quotes\"\nand newline")])
        .is_ok());
}

#[test]
fn quantile_of_out_of_range_q_is_clamped() {
    let h = LatencyHistogram::new();
    h.record_nanos(10);
    h.record_nanos(20);
    let s = h.summary();
    assert_eq!(s.quantile(-1.0).as_nanos(), 10);
    assert_eq!(s.quantile(7.0).as_nanos(), 20);
    assert_eq!(s.quantile(f64::NAN).as_nanos(), 10);
    assert_eq!(s.quantile(f64::INFINITY).as_nanos(), 20);
}
