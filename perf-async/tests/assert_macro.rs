//! `assert_no_blocking!`: passes async code that yields, fails code that blocks, listing each
//! slow poll with its location and duration.

use std::time::Duration;

use perf_async::{Config, FutureExt};

#[test]
fn passes_code_that_yields_and_returns_its_output() {
    let v = perf_async::assert_no_blocking!(async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (c, s) = tokio::join!(tokio::net::TcpStream::connect(addr), l.accept());
        c.unwrap();
        s.unwrap();
        41 + 1
    });
    assert_eq!(v, 42);
}

#[test]
fn fails_listing_every_slow_poll() {
    let (inner_line, outer_line) = (line!() + 5, line!() + 2);
    let err = std::panic::catch_unwind(|| {
        perf_async::assert_no_blocking!(async {
            tokio::task::yield_now().await;
            async { std::thread::sleep(Duration::from_millis(60)) }
                .detect_blocking()
                .await;
        })
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("blocking detected: 2 slow poll(s)"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("assert_macro.rs:{inner_line} took")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("assert_macro.rs:{outer_line} took")),
        "{msg}"
    );
    assert!(msg.contains("(threshold 10.0ms)"), "{msg}");
}

#[test]
fn takes_a_config() {
    let cfg = Config::new()
        .with_threshold(Duration::from_millis(2))
        .unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        perf_async::assert_no_blocking!(
            async { std::thread::sleep(Duration::from_millis(20)) },
            cfg
        )
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("(threshold 2.00ms)"), "{msg}");
}
