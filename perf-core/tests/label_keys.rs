//! Label keys that would break a scrape are refused with an error: global labels of the
//! exporter and the labels of a runtime histogram.

use perf_core::{ExportError, NameError, Registry};

static REGISTRY: Registry = Registry::new();

fn global_label_error(key: &str) -> NameError {
    match perf_core::export::prometheus().add_global_label(key, "v") {
        Err(ExportError::InvalidGlobalLabel(e)) => e,
        other => panic!("{key:?}: expected InvalidGlobalLabel, got {other:?}"),
    }
}

#[test]
fn global_label_keys_that_break_the_scrape_are_refused() {
    for key in ["le", "quantile", "__name__", "__x"] {
        assert_eq!(
            global_label_error(key),
            NameError::ReservedLabelKey(key.into())
        );
    }
    for key in ["function", "module", "result"] {
        assert_eq!(
            global_label_error(key),
            NameError::LabelKeyWrittenByPerf(key.into())
        );
    }
    for key in ["", "9x", "bad-key", "a b", "é"] {
        assert_eq!(
            global_label_error(key),
            NameError::InvalidLabelKey(key.into())
        );
    }
    let msg = ExportError::InvalidGlobalLabel(NameError::ReservedLabelKey("le".into()));
    assert!(msg.to_string().contains("pick another key"), "{msg}");
}

#[test]
fn a_global_label_given_twice_keeps_the_later_value() {
    REGISTRY
        .histogram("twice_seconds", &[])
        .unwrap()
        .record_nanos(1_000);
    let (_recorder, exporter) = perf_core::export::prometheus()
        .registry(&REGISTRY)
        .add_global_label("service", "a")
        .unwrap()
        .add_global_label("service", "b")
        .unwrap()
        .build()
        .unwrap();
    let text = exporter.render();
    assert!(
        text.contains("twice_seconds_count{service=\"b\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("service=\"a\""), "{text}");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert_eq!(line.matches("service=").count(), 1, "{line}");
    }
}

#[test]
fn runtime_histogram_label_keys_that_break_the_scrape_are_refused() {
    let r = Registry::new();
    for key in ["le", "quantile", "__name__"] {
        assert_eq!(
            r.histogram("ok_seconds", &[(key, "v")]).unwrap_err(),
            NameError::ReservedLabelKey(key.into())
        );
        assert_eq!(
            perf_core::histogram("ok_seconds", &[(key, "v")]).unwrap_err(),
            NameError::ReservedLabelKey(key.into())
        );
    }
    assert_eq!(
        r.histogram("ok_seconds", &[("bad-key", "v")]).unwrap_err(),
        NameError::InvalidLabelKey("bad-key".into())
    );
    assert_eq!(
        r.histogram("ok_seconds", &[("a", "1"), ("b", "2"), ("a", "3")])
            .unwrap_err(),
        NameError::DuplicateLabelKey("a".into())
    );
    assert!(r.series().is_empty(), "nothing is registered on an error");
}
