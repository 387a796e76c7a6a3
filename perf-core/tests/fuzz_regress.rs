//! The regression-testing parsers never panic on what a user or a file gives them: the gate's
//! threshold and window, the `PERF_*` variables, criterion's `change/estimates.json`, a
//! baseline file (hand-edited, truncated, or holding hostile numbers) and the comparison run
//! on what it holds. Run in the test profile, so arithmetic overflow would panic too.

use std::path::Path;
use std::time::Duration;

use perf_core::baseline::BaselineCheck;
use perf_core::env::{parse_baseline_mode, parse_latency_scale, BaselineMode};
use perf_core::fingerprint::Fingerprint;
use perf_core::gate::{parse_change, parse_threshold, parse_window};
use perf_core::Snapshot;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Numbers at the edges, as JSON.
fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::Null),
        Just(json!("12")),
    ]
}

/// A baseline file as `BaselineCheck` writes it, for the current machine.
fn written_baseline(dir: &Path) -> Value {
    let check = BaselineCheck::new("seed")
        .dir(dir)
        .mode(BaselineMode::Update)
        .fingerprint(Fingerprint::current());
    check.check_samples(vec![1_000, 2_000, 3_000]).unwrap();
    serde_json::from_str(&std::fs::read_to_string(check.path()).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn text_knobs_never_panic(text in "\\PC{0,40}") {
        let _ = parse_threshold(&text);
        let _ = parse_window(&text);
        let _ = parse_latency_scale(Some(&text));
        let _ = parse_baseline_mode(Some(&text));
        let _ = parse_change(&text, Path::new("x/change/estimates.json"));
        let _ = serde_json::from_str::<Snapshot>(&text);
    }

    #[test]
    fn numeric_knobs_never_panic(n in any::<f64>(), unit in prop_oneof![Just(""), Just("%"), Just("s"), Just("h")]) {
        let text = format!("{n}{unit}");
        let _ = parse_threshold(&text);
        let _ = parse_window(&text);
        let _ = parse_latency_scale(Some(&text));
    }

    #[test]
    fn well_formed_thresholds_parse_exactly(tenths in 0u32..=10_000) {
        let percent = f64::from(tenths) / 10.0;
        prop_assert_eq!(parse_threshold(&format!("{percent}%")).unwrap(), percent / 100.0);
        prop_assert_eq!(parse_window(&format!("{tenths}s")).unwrap(), Duration::from_secs(u64::from(tenths)));
    }

    #[test]
    fn change_files_of_any_numbers_never_panic(
        numbers in prop::collection::vec(hostile_number(), 6),
    ) {
        let estimate = |i: usize| json!({
            "confidence_interval": {
                "confidence_level": numbers[i],
                "lower_bound": numbers[i + 1],
                "upper_bound": numbers[i + 2],
            },
            "point_estimate": numbers[i],
            "standard_error": numbers[i + 1],
        });
        let text = json!({"mean": estimate(0), "median": estimate(3)}).to_string();
        if let Ok(e) = parse_change(&text, Path::new("x/change/estimates.json")) {
            prop_assert!(e.mean.confidence_interval.lower_bound <= e.mean.confidence_interval.upper_bound);
        }
    }

    #[test]
    fn baseline_files_with_hostile_contents_give_a_result_not_a_panic(
        samples in prop_oneof![
            prop::collection::vec(any::<u64>(), 0..40).prop_map(|v| json!(v)),
            prop::collection::vec(prop_oneof![Just(0u64), Just(u64::MAX), Just(1)], 0..40)
                .prop_map(|v| json!(v)),
            prop::collection::vec(hostile_number(), 0..8).prop_map(Value::Array),
            hostile_number(),
        ],
        summary_field in prop_oneof![Just("count"), Just("p50_ns"), Just("max_ns"), Just("mean_ns")],
        summary_value in hostile_number(),
        current in prop::collection::vec(prop_oneof![any::<u64>(), Just(u64::MAX), Just(0)], 1..40),
        version in prop_oneof![Just(json!(1)), hostile_number()],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut file = written_baseline(dir.path());
        file["samples_ns"] = samples;
        file["summary"][summary_field] = summary_value;
        file["format_version"] = version;
        let check = BaselineCheck::new("seed")
            .dir(dir.path())
            .mode(BaselineMode::Check)
            .fingerprint(Fingerprint::current());
        std::fs::write(check.path(), file.to_string()).unwrap();
        match check.check_samples(current) {
            Ok(outcome) => prop_assert!(!outcome.to_string().is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn baseline_files_cut_anywhere_are_errors(cut in 0usize..400) {
        let dir = tempfile::tempdir().unwrap();
        let text = written_baseline(dir.path()).to_string();
        let check = BaselineCheck::new("seed")
            .dir(dir.path())
            .mode(BaselineMode::Check)
            .fingerprint(Fingerprint::current());
        let cut = cut.min(text.len().saturating_sub(1));
        std::fs::write(check.path(), &text.as_bytes()[..cut]).unwrap();
        let e = check.check_samples(vec![1_000]).unwrap_err();
        prop_assert!(e.to_string().contains("seed"), "{}", e);
    }
}
