//! Every parser of user-given text in perf-load (durations, rates, SLOs, LLM limits, prompt
//! files, URLs, headers, methods) returns a value or a clear error for any input, never a
//! panic; run in the test profile, so arithmetic overflow would panic too. Well-formed
//! input parses to exactly its value.

use std::time::Duration;

use perf_load::llm::{prompts_from_jsonl, Endpoint, Slo as LlmSlo};
use perf_load::{parse_duration, parse_rate, HttpTarget, Slo};
use proptest::prelude::*;

/// Text shaped like what the parsers read: numbers of every size and form, units,
/// comparison operators, percent signs, separators, and some noise.
fn shaped_text() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        Just("1e308".to_string()),
        Just("1e-320".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-0".to_string()),
        "[0-9]{1,40}(\\.[0-9]{0,20})?".prop_map(|s| s),
    ];
    let unit = prop_oneof![
        Just(""),
        Just("ms"),
        Just("s"),
        Just("m"),
        Just("h"),
        Just("us"),
        Just("ns"),
        Just("d"),
        Just("y"),
        Just("%"),
        Just("min"),
    ];
    let piece = prop_oneof![
        (number, unit).prop_map(|(n, u)| format!("{n}{u}")),
        prop_oneof![
            Just("p99"),
            Just("p99.9"),
            Just("p50"),
            Just("max"),
            Just("errors"),
            Just("error_rate"),
            Just("dropped"),
            Just("<"),
            Just("<="),
            Just(">"),
            Just(","),
            Just(" "),
            Just(":"),
        ]
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

/// One line of a prompt file: JSON objects with the keys the reader looks at, holding
/// values of every type.
fn prompt_line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1".into()
        }),
        "[a-z ]{0,8}".prop_map(|s| format!("{s:?}")),
        Just("[]".to_string()),
        Just(r#"[{"role": "user", "content": "hi"}]"#.to_string()),
        Just("{}".to_string()),
    ];
    let key = prop_oneof![
        Just("prompt"),
        Just("messages"),
        Just("max_tokens"),
        Just("x")
    ];
    prop_oneof![
        prop::collection::vec((key, value), 0..4).prop_map(|kv| {
            let fields: Vec<_> = kv.iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
            format!("{{{}}}", fields.join(", "))
        }),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn durations_rates_and_slos_never_panic(text in shaped_text()) {
        let _ = parse_duration(&text);
        let _ = parse_rate(&text);
        let _ = Slo::parse(&text);
        let _ = LlmSlo::parse_limit(&text);
    }

    #[test]
    fn any_text_never_panics_a_parser(text in "\\PC{0,60}") {
        let _ = parse_duration(&text);
        let _ = parse_rate(&text);
        let _ = Slo::parse(&text);
        let _ = LlmSlo::parse_limit(&text);
        let _ = Endpoint::parse(&text);
        let _ = HttpTarget::new(&text);
        let _ = prompts_from_jsonl(&text);
    }

    #[test]
    fn urls_headers_and_methods_never_panic(
        host in "[a-z0-9.\\[\\]:]{0,20}",
        port in prop_oneof![Just(String::new()), any::<u32>().prop_map(|p| format!(":{p}"))],
        path in "[/a-z?=&%]{0,12}",
        scheme in prop_oneof![Just("http://"), Just("https://"), Just("ftp://"), Just("")],
        header in "\\PC{0,30}",
        method in "\\PC{0,10}",
    ) {
        let url = format!("{scheme}{host}{port}{path}");
        let _ = Endpoint::parse(&url);
        if let Ok(target) = HttpTarget::new(&url) {
            let _ = target.clone().header(&header);
            let _ = target.method(&method);
        }
    }

    #[test]
    fn prompt_files_never_panic(lines in prop::collection::vec(prompt_line(), 0..6)) {
        match prompts_from_jsonl(&lines.join("\n")) {
            Ok(prompts) => prop_assert!(prompts.len() <= lines.len()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn well_formed_durations_parse_exactly(n in 0u64..=1_000_000_000) {
        prop_assert_eq!(parse_duration(&format!("{n}ms")).unwrap(), Duration::from_millis(n));
        prop_assert_eq!(parse_duration(&format!("{n}s")).unwrap(), Duration::from_secs(n));
        prop_assert_eq!(parse_duration(&format!(" {n} s ")).unwrap(), Duration::from_secs(n));
    }

    #[test]
    fn well_formed_rates_parse_exactly(per_mille in 0u32..=1000) {
        let rate = f64::from(per_mille) / 1000.0;
        prop_assert_eq!(parse_rate(&rate.to_string()).unwrap(), rate);
        let percent = f64::from(per_mille) / 10.0;
        prop_assert_eq!(parse_rate(&format!("{percent}%")).unwrap(), percent / 100.0);
    }
}

#[test]
fn durations_too_long_for_a_duration_are_errors_not_panics() {
    for text in [
        "1e300ms",
        "1e300s",
        "18446744073709551616s",
        "1e20s",
        "1.9e19 s",
    ] {
        let e = parse_duration(text).expect_err(text);
        assert!(e.to_string().contains(text), "{e}");
    }
    // The longest a Duration holds still parses.
    assert_eq!(
        parse_duration("18446744073709551615s").unwrap(),
        Duration::from_secs(u64::MAX)
    );
}
