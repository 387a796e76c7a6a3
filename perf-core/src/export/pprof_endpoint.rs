//! The exporter's opt-in profiling routes (`with_profiling`, feature `profile`), after Go's
//! `net/http/pprof`: `/debug/pprof/profile?seconds=N` (pprof protobuf) and
//! `/debug/pprof/flamegraph?seconds=N` (flame graph SVG) profile the next N seconds.
//!
//! The profile's session lives inside the response future: when the client disconnects,
//! hyper drops the future and with it the session, so the sampler stops at once and the
//! next request can start one.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use super::server::{Responding, Route};
use crate::profile::{Profile, ProfileError, Sampler};

/// Seconds profiled when the request names none (Go's default too).
pub(crate) const DEFAULT_SECONDS: u64 = 30;
/// The longest profile a request may ask for.
pub(crate) const MAX_SECONDS: u64 = 300;

/// What a profiling route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Protobuf,
    FlameGraph,
}

/// The route `with_profiling` adds to the listener.
pub(crate) fn route() -> Route {
    Arc::new(|req: &Request<Incoming>| {
        let output = match req.uri().path() {
            "/debug/pprof/profile" => Output::Protobuf,
            "/debug/pprof/flamegraph" => Output::FlameGraph,
            _ => return None,
        };
        if req.method() != hyper::Method::GET {
            return Some(ready(text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("use GET {}\n", req.uri().path()),
            )));
        }
        Some(match seconds(req.uri().query()) {
            Ok(secs) => Box::pin(profile(output, Duration::from_secs(secs))),
            Err(reason) => ready(text(StatusCode::BAD_REQUEST, reason)),
        })
    })
}

/// The `seconds` query parameter: 1..=300, 30 when absent; the error is the 400's text.
fn seconds(query: Option<&str>) -> Result<u64, String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("seconds="));
    let Some(value) = value else {
        return Ok(DEFAULT_SECONDS);
    };
    match value.parse::<u64>() {
        Ok(n) if (1..=MAX_SECONDS).contains(&n) => Ok(n),
        Ok(n) => Err(format!(
            "seconds={n} is out of range: profile for 1 to {MAX_SECONDS} seconds\n"
        )),
        Err(_) => Err(format!(
            "seconds={value:?} is not a whole number of seconds: use 1 to {MAX_SECONDS}\n"
        )),
    }
}

async fn profile(output: Output, duration: Duration) -> Response<Full<Bytes>> {
    let session = match Sampler::new().start() {
        Ok(session) => session,
        Err(ProfileError::AlreadyRunning) => {
            return text(
                StatusCode::CONFLICT,
                "a CPU profile is already running; retry when it ends\n".into(),
            )
        }
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    };
    tokio::time::sleep(duration).await;
    // Symbolizing can take a second or more the first time: off the listener's thread.
    let finished = tokio::task::spawn_blocking(move || {
        let profile = session.stop()?;
        render(output, &profile)
    })
    .await;
    match finished {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the profile could not be built: {e}\n"),
        ),
    }
}

fn render(output: Output, profile: &Profile) -> Result<Response<Full<Bytes>>, ProfileError> {
    let (body, content_type) = match output {
        Output::Protobuf => (profile.pprof().to_vec(), "application/octet-stream"),
        Output::FlameGraph => match profile.flamegraph_svg() {
            Ok(svg) => (svg.into_bytes(), "image/svg+xml"),
            Err(ProfileError::NoSamples) => {
                return Ok(text(
                    StatusCode::OK,
                    format!("{}\n", ProfileError::NoSamples),
                ))
            }
            Err(e) => return Err(e),
        },
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if output == Output::Protobuf {
        resp.headers_mut().insert(
            CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"profile.pb\""),
        );
    }
    Ok(resp)
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn ready(resp: Response<Full<Bytes>>) -> Responding {
    Box::pin(std::future::ready(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_default_to_30_and_stay_within_1_to_300() {
        assert_eq!(seconds(None), Ok(30));
        assert_eq!(seconds(Some("debug=1")), Ok(30));
        assert_eq!(seconds(Some("debug=1&seconds=300")), Ok(300));
        assert_eq!(seconds(Some("seconds=1")), Ok(1));
        for bad in ["seconds=0", "seconds=301", "seconds=100000"] {
            let reason = seconds(Some(bad)).unwrap_err();
            assert!(reason.contains("out of range"), "{bad}: {reason}");
        }
        for bad in ["seconds=-1", "seconds=abc", "seconds=", "seconds=1.5"] {
            let reason = seconds(Some(bad)).unwrap_err();
            assert!(reason.contains("not a whole number"), "{bad}: {reason}");
        }
    }
}
