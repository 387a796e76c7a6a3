//! The exporter's HTTP listener (hyper on a thread of its own, closing connections whose
//! request headers do not arrive in time) and its periodic upkeep.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use super::negotiate::{Exposition, TEXT_CONTENT_TYPE};
use crate::error::ExportError;

/// Renders the exposition at each scrape, in the form the scrape negotiated.
pub(crate) type Render = Arc<dyn Fn(Exposition) -> Vec<u8> + Send + Sync>;

/// A response built asynchronously, off the request it answers.
pub(crate) type Responding =
    std::pin::Pin<Box<dyn std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static>>;

/// An extra route of the listener (the opt-in profiling endpoints): answers the requests it
/// knows, and passes (`None`) on the others. Dropping the future cancels the answer; hyper
/// drops it when the client disconnects.
pub(crate) type Route = Arc<dyn Fn(&Request<Incoming>) -> Option<Responding> + Send + Sync>;

pub(crate) struct Server {
    pub(crate) local_addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(
        addr: SocketAddr,
        header_read_timeout: Duration,
        render: Render,
        routes: Vec<Route>,
    ) -> Result<Server, ExportError> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| ExportError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ExportError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ExportError::Bind { addr, source })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("perf-exporter".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        let stream = tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => stream,
                                Err(_) => continue,
                            },
                        };
                        let render = render.clone();
                        let routes = routes.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let render = render.clone();
                                let routed = routes.iter().find_map(|route| route(&req));
                                async move {
                                    Ok::<_, Infallible>(match routed {
                                        Some(responding) => responding.await,
                                        None => respond(&*render, &req),
                                    })
                                }
                            });
                            // hyper applies the timeout only with a timer; without
                            // one a client that never ends its headers holds the
                            // connection forever.
                            let _ = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(header_read_timeout)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })?;
        Ok(Server {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn respond(
    render: &(dyn Fn(Exposition) -> Vec<u8> + Send + Sync),
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (status, body, content_type) = match (req.method().as_str(), req.uri().path()) {
        ("GET", "/metrics") | ("GET", "/") => {
            let accept = req.headers().get(hyper::header::ACCEPT);
            let exposition = Exposition::from_accept(accept.and_then(|a| a.to_str().ok()));
            (
                StatusCode::OK,
                render(exposition),
                exposition.content_type(),
            )
        }
        ("GET", _) => (
            StatusCode::NOT_FOUND,
            b"not found: scrape /metrics\n".to_vec(),
            TEXT_CONTENT_TYPE,
        ),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            b"use GET /metrics\n".to_vec(),
            TEXT_CONTENT_TYPE,
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
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

/// A thread that runs a task at an interval until dropped.
pub(crate) struct Periodic {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    pub(crate) fn spawn(
        name: &str,
        every: Duration,
        mut task: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Periodic> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    task();
                }
            })?;
        Ok(Periodic {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
