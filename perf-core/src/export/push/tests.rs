use super::*;

fn target(url: &str, job: PushJob) -> Result<PushTarget, PushConfigError> {
    PushTarget::new(url, Duration::from_secs(10), job)
}

fn path_of(job: PushJob) -> String {
    target("http://127.0.0.1:9091", job).unwrap().path
}

#[test]
fn the_grouping_key_is_escaped_as_the_pushgateway_reads_it() {
    assert_eq!(path_of(PushJob::new("nightly")), "/metrics/job/nightly");
    assert_eq!(
        path_of(
            PushJob::new("nightly bench%")
                .grouping_label("branch", "feature/fast")
                .grouping_label("host", "ci-3.example")
                .grouping_label("empty", "")
                .grouping_label("dots", "..")
                .grouping_label("city", "Zürich")
        ),
        "/metrics/job/nightly%20bench%25/branch@base64/ZmVhdHVyZS9mYXN0\
         /host/ci-3.example/empty@base64/=/dots@base64/Li4=/city/Z%C3%BCrich"
    );
    assert_eq!(
        path_of(PushJob::new("a/b")),
        "/metrics/job@base64/YS9i",
        "a '/' in the job name too"
    );
}

#[test]
fn the_url_gives_host_port_base_path_and_host_header() {
    let t = target("http://gateway.internal/prefix/", PushJob::new("j")).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("gateway.internal", 80));
    assert_eq!(t.authority, "gateway.internal");
    assert_eq!(t.path, "/prefix/metrics/job/j");
    assert_eq!(t.url, "http://gateway.internal/prefix/metrics/job/j");
    let t = target("http://[::1]:9091", PushJob::new("j")).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("::1", 9091));
    assert_eq!(t.authority, "[::1]:9091");
}

#[test]
fn bad_urls_are_refused_with_the_reason() {
    for (url, says) in [
        ("", "not a URL"),
        ("not a url", "not a URL"),
        ("127.0.0.1:9091", "no scheme"),
        ("https://gateway:9091", "plain http only"),
        ("ftp://gateway:9091", "must be http"),
        ("http://user:pw@gateway:9091", "credentials"),
        ("http://gateway:9091/?x=1", "query"),
        ("http://gateway:9091/metrics/job/j", "without /metrics/job"),
    ] {
        match target(url, PushJob::new("j")) {
            Err(PushConfigError::InvalidUrl { url: u, reason }) => {
                assert_eq!(u, url);
                assert!(reason.contains(says), "{url}: {reason}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[test]
fn bad_jobs_labels_interval_and_timeout_are_refused() {
    let url = "http://127.0.0.1:9091";
    let err = |job: PushJob| target(url, job).unwrap_err();
    assert_eq!(err(PushJob::new("")), PushConfigError::EmptyJob);
    assert_eq!(
        err(PushJob::new("j").grouping_label("job", "x")),
        PushConfigError::JobLabel
    );
    assert_eq!(
        err(PushJob::new("j").grouping_label("__name__", "x")),
        PushConfigError::InvalidLabel(NameError::ReservedLabelKey("__name__".into()))
    );
    assert_eq!(
        err(PushJob::new("j").grouping_label("9x", "x")),
        PushConfigError::InvalidLabel(NameError::InvalidLabelKey("9x".into()))
    );
    assert_eq!(
        err(PushJob::new("j").grouping_label("result", "x")),
        PushConfigError::InvalidLabel(NameError::LabelKeyWrittenByPerf("result".into()))
    );
    assert_eq!(
        err(PushJob::new("j")
            .grouping_label("a", "1")
            .grouping_label("a", "2")),
        PushConfigError::InvalidLabel(NameError::DuplicateLabelKey("a".into()))
    );
    assert_eq!(
        err(PushJob::new("j").timeout(Duration::ZERO)),
        PushConfigError::ZeroTimeout
    );
    assert_eq!(
        PushTarget::new(url, Duration::ZERO, PushJob::new("j")).unwrap_err(),
        PushConfigError::ZeroInterval
    );
}

#[test]
fn push_errors_are_logged_once_a_minute_and_the_recovery_once() {
    let s = |secs: u64| secs * 1_000_000_000;
    let mut log = PushLog::default();
    assert_eq!(log.judge(s(0), true), LogLine::Nothing);
    assert_eq!(log.judge(s(10), false), LogLine::Failed { held_back: 0 });
    assert_eq!(log.judge(s(20), false), LogLine::Nothing);
    assert_eq!(log.judge(s(69), false), LogLine::Nothing);
    assert_eq!(log.judge(s(70), false), LogLine::Failed { held_back: 2 });
    assert_eq!(log.judge(s(80), true), LogLine::Recovered { failures: 4 });
    assert_eq!(log.judge(s(90), true), LogLine::Nothing);
    // A new outage is logged at once, not a minute after the last error.
    assert_eq!(log.judge(s(91), false), LogLine::Failed { held_back: 0 });
}
