//! The `method` and `status` label values of request timing: the methods kept by name, and
//! how a request ended.

use std::borrow::Cow;

use http::Method;

/// The `method` label of a method outside RFC 9110 and PATCH (OpenTelemetry's convention),
/// so a client sending made-up methods cannot grow the label without bound.
pub const OTHER_METHOD: &str = "_OTHER";

/// How a request ended: the `status` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Code(u16),
    Error,
    Cancelled,
    Panic,
}

impl Status {
    pub(super) fn label(self) -> Cow<'static, str> {
        match self {
            Status::Code(code) => Cow::Owned(code.to_string()),
            Status::Error => Cow::Borrowed("error"),
            Status::Cancelled => Cow::Borrowed("cancelled"),
            Status::Panic => Cow::Borrowed("panic"),
        }
    }
}

pub(super) const METHODS: [&str; 10] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    OTHER_METHOD,
];

pub(super) fn method_index(method: &Method) -> u8 {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}
