//! HTTP servers on 127.0.0.1 (ports the OS picks) with a known behaviour, each on a thread
//! and runtime of its own so the load generator under test does not share its scheduler.
#![allow(dead_code)] // each test binary uses part of it

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What every request meets.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// How long each request takes once it holds a slot.
    pub delay: Duration,
    /// At most this many requests handled at once; the others wait for a slot.
    pub limit: Option<usize>,
    /// The status every response has (200 when 0).
    pub status: u16,
    /// Once, `at` after the server starts, every request stalls until `at + for`.
    pub stall: Option<(Duration, Duration)>,
}

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a server with `behaviour` on `threads` runtime threads.
pub fn serve(behaviour: Behaviour, threads: usize) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let started = Instant::now();
            let slots = behaviour.limit.map(|n| Arc::new(Semaphore::new(n)));
            let stall_until: Arc<Mutex<Option<Instant>>> = Arc::default();
            let status = StatusCode::from_u16(if behaviour.status == 0 {
                200
            } else {
                behaviour.status
            })
            .unwrap();
            loop {
                let (stream, _) = tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                };
                let _ = stream.set_nodelay(true);
                let (b, slots, stall_until) =
                    (behaviour.clone(), slots.clone(), stall_until.clone());
                let svc = service_fn(move |_req| {
                    let (b, slots, stall_until) = (b.clone(), slots.clone(), stall_until.clone());
                    async move {
                        if let Some((at, length)) = b.stall {
                            let now = Instant::now();
                            let until = {
                                let mut u = stall_until.lock().unwrap();
                                if u.is_none() && now >= started + at {
                                    *u = Some(now + length);
                                }
                                *u
                            };
                            if let Some(until) = until.filter(|u| now < *u) {
                                tokio::time::sleep_until(until).await;
                            }
                        }
                        let _slot = match &slots {
                            Some(s) => Some(s.acquire().await.unwrap()),
                            None => None,
                        };
                        if !b.delay.is_zero() {
                            tokio::time::sleep(b.delay).await;
                        }
                        let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
                        *res.status_mut() = status;
                        Ok::<_, Infallible>(res)
                    }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        rt.shutdown_timeout(Duration::from_millis(100));
    });
    Server {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// The address of a port nothing listens on (bound, then closed).
pub fn refused_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// How late a 10 ms tokio sleep ends on this machine now (the median of 100, started 2 ms
/// apart): the part of a server's latency that is the machine's, not the code's.
pub async fn timer_overshoot() -> Duration {
    let mut tasks = Vec::new();
    for _ in 0..100 {
        tasks.push(tokio::spawn(async {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            t.elapsed().saturating_sub(Duration::from_millis(10))
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut late = Vec::new();
    for t in tasks {
        late.push(t.await.unwrap());
    }
    late.sort();
    late[late.len() / 2]
}
