//! No silent omission: a server stalls every request for 1 s once, during a 10 s open-loop
//! run at 100 req/s. Every scheduled request starts, and the tail shows the stall; the
//! closed-loop run of the same server hides it in its raw numbers, and says so.

mod support;

use std::time::Duration;

use perf_load::{ClosedLoop, HttpTarget, OpenLoop};
use support::{serve, Behaviour};

fn stalling() -> Behaviour {
    Behaviour {
        delay: Duration::from_millis(5),
        stall: Some((Duration::from_secs(3), Duration::from_secs(1))),
        ..Behaviour::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_sending_through_a_stall_and_closed_loop_hides_it() {
    let server = serve(stalling(), 1);
    let target = HttpTarget::new(&server.url("/")).unwrap();
    let open = OpenLoop::constant(100.0, Duration::from_secs(10))
        .unwrap()
        .run(target.clone())
        .await;
    println!("{open}");
    assert_eq!(open.requests, 1000, "rate × duration started, none skipped");
    assert_eq!((open.dropped, open.errors), (0, 0));
    // About 100 of the 1000 requests waited part of the 1 s stall: the worst 1% waited
    // at least 900 ms of it.
    assert!(open.latency.p99 >= Duration::from_millis(500), "{open}");
    drop(server);

    let server = serve(stalling(), 1);
    let target = HttpTarget::new(&server.url("/")).unwrap();
    let closed = ClosedLoop::new(1, Duration::from_secs(10))
        .unwrap()
        .expected_interval(Duration::from_millis(10))
        .run(target)
        .await;
    println!("{closed}");
    // The one user sat out the stall with one request, so its raw tail does not show it...
    assert!(closed.latency.p99 < Duration::from_millis(500), "{closed}");
    assert!(closed.latency.max >= Duration::from_millis(900), "{closed}");
    // ...and the correction for the requests it could not send brings it back.
    let corrected = closed.corrected_latency.clone().unwrap();
    assert!(corrected.p99 >= Duration::from_millis(500), "{closed}");
    assert!(closed.to_string().contains("coordinated omission"));
}
