//! The scheduling logic under tokio's paused clock: time moves only when every task waits,
//! so each latency, lag and count below is exact.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_load::{BreakPoint, ClosedLoop, ConcurrencySweep, OpenLoop, RunOptions, Schedule, Slo};
use tokio::time::{sleep, Instant};

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Within the 0.78% relative error of perf-core's histograms.
fn near(got: Duration, want: Duration) -> bool {
    (got.as_secs_f64() - want.as_secs_f64()).abs() <= want.as_secs_f64() * 0.008
}

#[tokio::test(start_paused = true)]
async fn constant_rate_starts_on_time_and_measures_from_the_intended_start() {
    let report = OpenLoop::constant(100.0, Duration::from_secs(1))
        .unwrap()
        .run(|| async {
            sleep(ms(10)).await;
            Ok::<_, String>(())
        })
        .await;
    assert_eq!(
        (report.requests, report.ok, report.errors, report.dropped),
        (100, 100, 0, 0)
    );
    assert_eq!(report.late, 0);
    assert_eq!(report.lag.max, Duration::ZERO);
    assert!(near(report.latency.p50, ms(10)), "{report}");
    assert!(near(report.latency.max, ms(10)), "{report}");
    assert_eq!(report.achieved_rate, 100.0);
    assert_eq!(report.target_rate, Some(100.0));
    let per_second: Vec<u64> = report.timeline.iter().map(|s| s.requests).collect();
    assert_eq!(per_second, [99, 1]); // the last request ends at exactly 1.000 s
}

/// A server that stalls for 1 s once: every request that arrives during the stall waits it out.
#[derive(Clone)]
struct StallingServer {
    stall_from: Instant,
    stall_until: Arc<Mutex<Option<Instant>>>,
}

impl StallingServer {
    fn new(at: Duration) -> Self {
        StallingServer {
            stall_from: Instant::now() + at,
            stall_until: Arc::new(Mutex::new(None)),
        }
    }

    async fn handle(&self) -> Result<(), String> {
        let now = Instant::now();
        let until = {
            let mut u = self.stall_until.lock().unwrap();
            if u.is_none() && now >= self.stall_from {
                *u = Some(now + Duration::from_secs(1));
            }
            *u
        };
        if let Some(until) = until {
            if now < until {
                tokio::time::sleep_until(until).await;
            }
        }
        sleep(ms(10)).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_stall_shows_in_the_open_loop_and_hides_in_the_closed_loop() {
    let server = StallingServer::new(Duration::from_secs(2));
    let s = server.clone();
    let open = OpenLoop::constant(100.0, Duration::from_secs(10))
        .unwrap()
        .run(move || {
            let s = s.clone();
            async move { s.handle().await }
        })
        .await;
    assert_eq!(open.requests, 1000, "every scheduled request started");
    assert_eq!(open.dropped, 0);
    // The request that met the stall first waited 1 s + 10 ms; 100 requests waited part of it.
    assert!(near(open.latency.max, ms(1010)), "{open}");
    assert!(open.latency.p99 >= ms(900), "{open}");
    // The 100 requests sent during the stall all end at 3.01 s, with the 99 sent after it.
    let per_second: Vec<u64> = open.timeline.iter().map(|s| s.requests).collect();
    assert_eq!(
        per_second,
        [99, 100, 1, 199, 100, 100, 100, 100, 100, 100, 1]
    );
    assert!(near(open.timeline[3].p99, ms(1000)), "{open}");

    let server = StallingServer::new(Duration::from_secs(2));
    let closed = ClosedLoop::new(1, Duration::from_secs(10))
        .unwrap()
        .expected_interval(ms(10))
        .run(move || {
            let s = server.clone();
            async move { s.handle().await }
        })
        .await;
    // One user sent nothing while it waited: 200 before, the stalled one, 699 after.
    assert_eq!(closed.requests, 900, "{closed}");
    assert!(
        near(closed.latency.p99, ms(10)),
        "raw p99 hides the stall: {closed}"
    );
    let corrected = closed.corrected_latency.clone().unwrap();
    // record_correct adds the 100 requests the user could not send: 990 ms, 980 ms, … 10 ms.
    assert_eq!(corrected.count, 1000);
    assert!(corrected.p99 >= ms(880), "{closed}");
    let text = closed.to_string();
    assert!(text.contains("coordinated omission"), "{text}");
    assert!(text.contains("latency, corrected for omission"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn over_the_in_flight_cap_requests_are_dropped_never_delayed() {
    let report = OpenLoop::constant(10.0, Duration::from_secs(1))
        .unwrap()
        .max_in_flight(2)
        .run(|| async {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, String>(())
        })
        .await;
    assert_eq!((report.requests, report.dropped, report.ok), (2, 8, 2));
    assert_eq!(report.lag.max, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn late_starts_are_counted_with_their_lag() {
    // The first request holds the (single) runtime thread while the clock moves 5 ms, so the
    // requests meant for 1 ms and 2 ms start at 5 ms.
    let first = Arc::new(AtomicU64::new(0));
    let schedule = Schedule::at(vec![Duration::ZERO, MS, 2 * MS, ms(10)]).unwrap();
    let report = OpenLoop::new(schedule)
        .run(move || {
            let first = first.clone();
            async move {
                if first.fetch_add(1, SeqCst) == 0 {
                    tokio::time::advance(ms(5)).await;
                }
                Ok::<_, String>(())
            }
        })
        .await;
    assert_eq!(report.requests, 4);
    assert_eq!(report.late, 2, "{report}");
    assert!(near(report.lag.max, ms(4)), "{report}");
    assert_eq!(report.lag.count, 4);
}

#[tokio::test(start_paused = true)]
async fn errors_are_grouped_by_kind_and_timeouts_counted() {
    let n = Arc::new(AtomicU64::new(0));
    let report = OpenLoop::constant(100.0, Duration::from_secs(1))
        .unwrap()
        .options(RunOptions::default().timeout(ms(50)).top_errors(2))
        .run(move || {
            let i = n.fetch_add(1, SeqCst);
            async move {
                match i % 10 {
                    0 => Err("status 500".to_string()),
                    1 | 2 => Err("status 503".to_string()),
                    3 => {
                        sleep(Duration::from_secs(1)).await;
                        Ok(())
                    }
                    4 => Err("reset".to_string()),
                    _ => Ok(()),
                }
            }
        })
        .await;
    assert_eq!((report.requests, report.ok, report.errors), (100, 50, 50));
    let kinds: Vec<(&str, u64)> = report
        .error_kinds
        .iter()
        .map(|e| (e.kind.as_str(), e.count))
        .collect();
    assert_eq!(
        kinds,
        [("status 503", 20), ("reset", 10), ("(other kinds)", 20)]
    );
    assert_eq!(report.error_rate(), 0.5);
    let slo = Slo::parse("errors < 1%").unwrap();
    let v = report.check(&slo).unwrap_err();
    assert_eq!(v.to_string(), "error rate 50.00% (50 of 100) ≥ 1%");
}

/// Four workers, 10 ms each: exactly 400 req/s of capacity.
fn limited_server(
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
       + Send
       + Sync
       + 'static {
    let slots = Arc::new(tokio::sync::Semaphore::new(4));
    move || {
        let slots = slots.clone();
        Box::pin(async move {
            let _slot = slots.acquire().await.map_err(|e| e.to_string())?;
            sleep(ms(10)).await;
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn break_point_is_the_first_rate_over_capacity() {
    let slo = Slo::parse("p99 < 100ms, errors < 1%").unwrap();
    let found = BreakPoint::new(200.0, 100.0, Duration::from_secs(2), slo)
        .unwrap()
        .run(limited_server())
        .await;
    assert_eq!(found.last_good_rate, Some(400.0), "{found}");
    assert_eq!(found.first_bad_rate, Some(500.0), "{found}");
    assert_eq!(found.steps.len(), 4, "stops at the first bad step");
    assert!(found.reason.starts_with("p99 latency "), "{}", found.reason);
    let json: serde_json::Value = serde_json::from_str(&found.to_json()).unwrap();
    assert_eq!(json["last_good_rate"], 400.0);
    assert_eq!(json["first_bad_rate"], 500.0);
    assert_eq!(json["steps"].as_array().unwrap().len(), 4);
    assert_eq!(json["target_rate"], 500.0);
    assert!(json["latency"]["p99_ms"].as_f64().unwrap() >= 100.0);
}

#[tokio::test(start_paused = true)]
async fn concurrency_sweep_breaks_where_users_outnumber_workers() {
    let slo = Slo::parse("p99 < 15ms").unwrap();
    let found = ConcurrencySweep::new(16, Duration::from_secs(1), slo)
        .unwrap()
        .run(limited_server())
        .await;
    let users: Vec<usize> = found.steps.iter().map(|s| s.users.unwrap()).collect();
    assert_eq!(users, [1, 2, 4, 8]);
    assert_eq!(
        (found.last_good_users, found.first_bad_users),
        (Some(4), Some(8))
    );
    assert!(near(found.steps[3].latency.p50, ms(20)), "{found}");
}

#[tokio::test(start_paused = true)]
async fn ramp_and_steps_schedule_what_they_say() {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    let ramp = Schedule::ramp(0.0, 200.0, Duration::from_secs(2)).unwrap();
    let start = Instant::now();
    let report = OpenLoop::new(ramp)
        .run(move || {
            c.fetch_add(1, SeqCst);
            async { Ok::<_, String>(()) }
        })
        .await;
    assert_eq!(report.requests, 200);
    assert_eq!(counter.load(SeqCst), 200);
    let per_second: Vec<u64> = report.timeline.iter().map(|s| s.requests).collect();
    // N(t) = 50 t²: 50 requests start in the first second, 150 in the second.
    assert_eq!(per_second, [50, 150]);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn hdr_logs_round_trip_and_merge() {
    let report = OpenLoop::constant(50.0, Duration::from_secs(2))
        .unwrap()
        .run(|| async {
            sleep(ms(4)).await;
            Err::<(), _>("status 500")
        })
        .await;
    let mut log = Vec::new();
    report.write_hlog(&mut log).unwrap();
    let text = String::from_utf8(log.clone()).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("Tag=latency,"))
            .count(),
        2,
        "{text}"
    );
    let merged = perf_load::hlog::merge(&[("a", &log[..]), ("b", &log[..])]).unwrap();
    assert_eq!(merged.requests, 200);
    assert_eq!(merged.errors, 200);
    assert_eq!(merged.latency.count, 200);
    assert_eq!(merged.error_kinds[0].count, 200);
    assert_eq!(merged.error_kinds[0].kind, "status 500");
    let per_second: Vec<(u64, u64)> = merged
        .timeline
        .iter()
        .map(|s| (s.requests, s.errors))
        .collect();
    assert_eq!(per_second, [(100, 100), (100, 100)]);
    assert!(near(merged.latency.p50, ms(4)), "{merged}");
    assert_eq!(merged.achieved_rate, 100.0);
}

#[tokio::test(start_paused = true)]
async fn svg_draws_both_plots() {
    let report = OpenLoop::constant(100.0, Duration::from_secs(3))
        .unwrap()
        .run(|| async {
            sleep(ms(10)).await;
            Ok::<_, String>(())
        })
        .await;
    let svg = report.to_svg().unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    for text in [
        "latency by percentile",
        "latency over time",
        "99.99%",
        "99.9%",
        "service time (from actual start)",
    ] {
        assert!(svg.contains(text), "{text} missing");
    }
    // Latency (red) and service time (blue) by percentile, p50 and p99 (red) over time.
    assert!(
        svg.contains(r##"stroke="#0000FF" stroke-width="2""##),
        "{svg}"
    );
    assert_eq!(
        svg.matches(r##"<polyline fill="none" opacity="1" stroke="#FF0000" stroke-width="2""##)
            .count(),
        2
    );
    std::fs::write(std::env::temp_dir().join("perf-load-fake-clock.svg"), svg).unwrap();
}
