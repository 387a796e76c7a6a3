//! [`ConfigError`]: what is wrong with a load test's settings, and what to do instead.

use std::time::Duration;

/// A load test, schedule, SLO or target that cannot run as given. Nothing is sent when one
/// of these is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rate that is zero, negative or not a number.
    #[error("rate {0} req/s cannot be scheduled: give a finite rate above 0 (e.g. 100)")]
    Rate(f64),
    /// A schedule, step or run of zero length.
    #[error("a duration of 0 sends nothing: give a duration of at least 1ms (e.g. 10s)")]
    ZeroDuration,
    /// A schedule that would start more requests than a run can hold.
    #[error("the schedule asks for {requested} requests, more than the {max} one run accepts: lower the rate or the duration")]
    TooManyRequests {
        /// How many requests the schedule would start.
        requested: u64,
        /// The most one run accepts ([`MAX_REQUESTS`](crate::MAX_REQUESTS)).
        max: u64,
    },
    /// User-given instants out of order.
    #[error("instant #{index} ({at:?}) comes before the one before it: give the instants in ascending order")]
    Unsorted {
        /// Position of the first instant out of order.
        index: usize,
        /// Its offset from the start of the run.
        at: Duration,
    },
    /// A schedule, ramp or sweep with nothing in it.
    #[error("the {0} is empty: give at least one step")]
    Empty(&'static str),
    /// Zero virtual users, or an in-flight cap of zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A URL the HTTP helper cannot send to.
    #[error("invalid URL {url:?}: {why} (expected e.g. http://127.0.0.1:8080/path)")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// A header that is not `Name: value`, or has characters HTTP does not allow.
    #[error(
        "invalid header {0:?}: write it as Name:value with a token name and a visible-ASCII value"
    )]
    Header(String),
    /// An SLO or limit that cannot be parsed.
    #[error("invalid SLO {given:?}: {why} (expected e.g. {example})")]
    Slo {
        /// The text as given.
        given: String,
        /// What is wrong with it.
        why: String,
        /// A well-formed example of the same kind.
        example: &'static str,
    },
}
