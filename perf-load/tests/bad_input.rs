//! Bad input gives a clear error or a counted error: never a panic, never a hang.

mod support;

use std::time::Duration;

use perf_load::{
    BreakPoint, ClosedLoop, ConfigError, HttpTarget, OpenLoop, RunOptions, Schedule, Slo,
};
use support::{refused_addr, serve, Behaviour};

#[test]
fn invalid_urls_are_refused_before_anything_is_sent() {
    for (url, why) in [
        ("not a url", "invalid uri character"),
        ("ftp://127.0.0.1/", "the URL must start with http://"),
        ("https://127.0.0.1/", "https is not supported; use http://"),
        ("127.0.0.1:8080", "the URL must start with http://"),
    ] {
        match HttpTarget::new(url) {
            Err(ConfigError::Url { why: w, .. }) => assert_eq!(w, why, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    let e = HttpTarget::new("http://").unwrap_err().to_string();
    assert!(e.starts_with("invalid URL \"http://\": "), "{e}");
    assert!(
        e.ends_with("(expected e.g. http://127.0.0.1:8080/path)"),
        "{e}"
    );
    let t = HttpTarget::new("http://127.0.0.1:1/").unwrap();
    assert!(matches!(
        t.clone().header("no colon"),
        Err(ConfigError::Header(_))
    ));
    assert!(matches!(t.method("GE T"), Err(ConfigError::Header(_))));
}

#[test]
fn rates_durations_and_users_out_of_range_are_refused() {
    let one = Duration::from_secs(1);
    assert_eq!(
        OpenLoop::constant(0.0, one).unwrap_err(),
        ConfigError::Rate(0.0)
    );
    assert_eq!(
        OpenLoop::constant(-100.0, one).unwrap_err(),
        ConfigError::Rate(-100.0)
    );
    assert_eq!(
        OpenLoop::constant(100.0, Duration::ZERO).unwrap_err(),
        ConfigError::ZeroDuration
    );
    assert_eq!(
        ClosedLoop::new(0, one).unwrap_err(),
        ConfigError::Zero("the number of users")
    );
    assert_eq!(
        ClosedLoop::new(1, Duration::ZERO).unwrap_err(),
        ConfigError::ZeroDuration
    );
    assert_eq!(
        BreakPoint::new(100.0, 0.0, one, Slo::new()).err(),
        Some(ConfigError::Rate(0.0))
    );
    assert_eq!(
        BreakPoint::new(0.0, 100.0, one, Slo::new()).err(),
        Some(ConfigError::Rate(0.0))
    );
    assert!(Schedule::ramp(-1.0, 10.0, one).is_err());
}

#[test]
fn malformed_slos_say_what_is_wrong() {
    let cases = [
        (
            "p99 200ms",
            "a limit reads `stat < value` or `stat <= value`",
        ),
        ("p99 < fast", "expected number at 0"),
        (
            "p0 < 1s",
            "the statistic is p50, p99, p99.9, max, errors or dropped",
        ),
        (
            "p100 < 1s",
            "the statistic is p50, p99, p99.9, max, errors or dropped",
        ),
        (
            "latency < 1s",
            "the statistic is p50, p99, p99.9, max, errors or dropped",
        ),
        (
            "errors < 150%",
            "not a rate between 0 and 1 (or 0% and 100%)",
        ),
        (
            "errors < lots",
            "not a rate between 0 and 1 (or 0% and 100%)",
        ),
        ("dropped < 1.5", "dropped takes a whole number"),
    ];
    for (text, why) in cases {
        match Slo::parse(text) {
            Err(ConfigError::Slo { why: w, .. }) => assert_eq!(w, why, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(perf_load::parse_duration("-5ms").is_err());
    assert!(Slo::new()
        .percentile(120.0, Duration::from_millis(1))
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_counted_and_fails_the_slo() {
    let t = HttpTarget::new(&format!("http://{}/", refused_addr())).unwrap();
    let report = OpenLoop::constant(50.0, Duration::from_millis(400))
        .unwrap()
        .run(t.clone())
        .await;
    assert_eq!(
        (report.requests, report.ok, report.errors),
        (20, 0, 20),
        "{report}"
    );
    assert_eq!(report.error_kinds.len(), 1);
    assert_eq!(report.error_kinds[0].kind, "connection refused");
    let v = Slo::new().check(&report).unwrap_err();
    assert_eq!(
        v.to_string(),
        "target went away: 20 requests met a refused connection"
    );

    let found = BreakPoint::new(50.0, 50.0, Duration::from_millis(200), Slo::new())
        .unwrap()
        .run(t.clone())
        .await;
    assert_eq!(found.steps.len(), 1, "stops at the first step");
    assert_eq!(found.first_bad_rate, Some(50.0));
    assert_eq!(found.last_good_rate, None);
    assert!(
        found.reason.starts_with("target went away"),
        "{}",
        found.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_only_fails_is_counted_by_status() {
    let server = serve(
        Behaviour {
            status: 500,
            ..Behaviour::default()
        },
        1,
    );
    let t = HttpTarget::new(&server.url("/")).unwrap();
    let report = OpenLoop::constant(100.0, Duration::from_millis(500))
        .unwrap()
        .run(t.clone())
        .await;
    assert_eq!(
        (report.requests, report.ok, report.errors),
        (50, 0, 50),
        "{report}"
    );
    let kinds: Vec<(&str, u64)> = report
        .error_kinds
        .iter()
        .map(|e| (e.kind.as_str(), e.count))
        .collect();
    assert_eq!(kinds, [("status 500", 50)]);
    assert_eq!(report.error_rate(), 1.0);
    let text = report.to_string();
    assert!(text.contains("errors 50 (100.00%)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_times_out_instead_of_hanging_the_run() {
    let report = OpenLoop::constant(20.0, Duration::from_millis(100))
        .unwrap()
        .options(RunOptions::default().timeout(Duration::from_millis(200)))
        .run(std::future::pending::<Result<(), String>>)
        .await;
    assert_eq!((report.requests, report.errors), (2, 2));
    assert_eq!(report.error_kinds[0].kind, "timeout");
}
