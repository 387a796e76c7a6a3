//! [`Connections`]: the HTTP/1.1 keep-alive connections an [`HttpTarget`](crate::HttpTarget)
//! sends on, at most N at once (wrk2's and oha's `-c`), and [`HttpError`], why one exchange
//! failed.
//!
//! A request finds an idle connection or opens one; when N are busy it waits for one to come
//! back. An unbounded pool opens a new connection for every request that finds none idle, so
//! one stall of the server (or of the generator) at 20,000 req/s opens hundreds of them, all
//! of which the server must accept while it is behind: the bench server went from 17 to
//! 689–1,760 accepted connections in one 10 s run. A request that waits here is still
//! measured from its intended start, so the wait shows in its latency, as in wrk2.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How long opening one connection may take before the request fails with `connect: timed out`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why one HTTP request failed. Its `Display` text is the kind the report groups by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server answered with a status of 400 or more.
    #[error("status {0}")]
    Status(u16),
    /// Nothing listens at the address (the target went away, or never came up).
    #[error("connection refused")]
    Refused,
    /// Connecting failed for another reason.
    #[error("connect: {0}")]
    Connect(String),
    /// The request or response broke off.
    #[error("{0}")]
    Transfer(String),
}

type Sender = SendRequest<Full<Bytes>>;

/// At most `limit` connections to one `host:port`, each reused for request after request.
#[derive(Debug)]
pub(crate) struct Connections {
    addr: String,
    limit: usize,
    busy: Semaphore,
    idle: Mutex<Vec<Sender>>,
}

impl Connections {
    /// A pool for `addr` (`host:port`, resolved at each connect) of at most `limit` (≥ 1).
    pub(crate) fn new(addr: String, limit: usize) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Connections {
            addr,
            limit,
            busy: Semaphore::new(limit),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The `host:port` this pool connects to.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The most connections this pool opens at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Sends `req` on a free connection, reads the whole response and returns its status (an
    /// error for 400 or more).
    pub(crate) async fn exchange(&self, req: Request<Full<Bytes>>) -> Result<u16, HttpError> {
        // The semaphore is never closed, so acquiring fails never; were it to, sending on a
        // new connection anyway would only break the cap, not the count.
        let _slot = self.busy.acquire().await.ok();
        let (mut sender, reused) = match self.take_idle() {
            Some(s) => (s, true),
            None => (self.connect().await?, false),
        };
        let res = match Self::send(&mut sender, req).await {
            Ok(res) => res,
            // A kept-alive connection the server closed while it sat idle (its keep-alive
            // timeout, or `Connection: close`): the request was not sent on it, so it goes
            // once more, on a new connection.
            Err((Some(req), _)) if reused => {
                sender = self.connect().await?;
                Self::send(&mut sender, req).await.map_err(|(_, e)| e)?
            }
            Err((_, e)) => return Err(e),
        };
        let status = res.status().as_u16();
        res.into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Transfer(format!("reading the body: {e}")))?;
        // The whole response is read: the connection is free for the next request (a closed
        // one is skipped when it is taken again).
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        if status >= 400 {
            Err(HttpError::Status(status))
        } else {
            Ok(status)
        }
    }

    /// Sends `req` on `sender` once it is ready; on failure, `req` back if it was not sent.
    async fn send(
        sender: &mut Sender,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, (Option<Request<Full<Bytes>>>, HttpError)> {
        if sender.ready().await.is_err() {
            return Err((Some(req), HttpError::Transfer("connection closed".into())));
        }
        sender.try_send_request(req).await.map_err(|mut e| {
            let req = e.take_message();
            (req, transfer(e.into_error()))
        })
    }

    /// An idle connection that is still open, if any.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Sender, HttpError> {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.addr.as_str()))
            .await
            .map_err(|_| HttpError::Connect("timed out".into()))?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => HttpError::Refused,
                // The OS's own words: "Too many open files (os error 24)" says what to do
                // where the error kind alone ("uncategorized error") would not.
                _ => HttpError::Connect(e.to_string()),
            })?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(transfer)?;
        // The connection's own task reads and writes it; it ends when the sender is dropped
        // or the server closes the connection.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

fn transfer(e: hyper::Error) -> HttpError {
    let mut text = e.to_string();
    if let Some(s) = std::error::Error::source(&e) {
        text = format!("{text}: {s}");
    }
    HttpError::Transfer(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    use hyper::server::conn::http1 as server;
    use hyper::service::service_fn;

    /// A server that counts the connections it accepted and answers each request after
    /// `delay`, with `status`.
    async fn server(delay: Duration, status: u16) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, SeqCst);
                tokio::spawn(async move {
                    let svc = service_fn(move |_req| async move {
                        tokio::time::sleep(delay).await;
                        let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
                        *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(res)
                    });
                    let _ = server::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (addr, accepted)
    }

    fn get(addr: &str) -> Request<Full<Bytes>> {
        Request::get("/")
            .header(http::header::HOST, addr)
            .body(Full::new(Bytes::new()))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_opens_more_than_the_limit() {
        let (addr, accepted) = server(Duration::from_millis(20), 200).await;
        let pool = Arc::new(Connections::new(addr.clone(), 3));
        let calls: Vec<_> = (0..30)
            .map(|_| {
                let (pool, req) = (Arc::clone(&pool), get(&addr));
                tokio::spawn(async move { pool.exchange(req).await })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap(), Ok(200));
        }
        assert_eq!(accepted.load(SeqCst), 3);
        assert_eq!(pool.limit(), 3);
    }

    #[tokio::test]
    async fn reuses_one_connection_one_request_after_another() {
        let (addr, accepted) = server(Duration::ZERO, 200).await;
        let pool = Connections::new(addr.clone(), 64);
        for _ in 0..10 {
            assert_eq!(pool.exchange(get(&addr)).await, Ok(200));
        }
        assert_eq!(accepted.load(SeqCst), 1);
    }

    #[tokio::test]
    async fn a_status_of_400_or_more_is_an_error_and_keeps_the_connection() {
        let (addr, accepted) = server(Duration::ZERO, 503).await;
        let pool = Connections::new(addr.clone(), 4);
        for _ in 0..3 {
            assert_eq!(pool.exchange(get(&addr)).await, Err(HttpError::Status(503)));
        }
        assert_eq!(accepted.load(SeqCst), 1);
    }

    #[tokio::test]
    async fn nothing_listening_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let pool = Connections::new(addr.clone(), 4);
        assert_eq!(pool.exchange(get(&addr)).await, Err(HttpError::Refused));
        // The failed exchange gave its slot back.
        assert_eq!(pool.busy.available_permits(), 4);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        // Each connection answers one request, then the server closes it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let svc = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    });
                    let _ = server::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let pool = Connections::new(addr.clone(), 1);
        for _ in 0..5 {
            assert_eq!(pool.exchange(get(&addr)).await, Ok(200));
        }
    }
}
