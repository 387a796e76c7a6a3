//! [`Target`]: what a load run calls, any `Fn() -> impl Future<Output = Result<T, E>>`
//! (an HTTP call, a gRPC call, a function in the same process).

use std::fmt::Display;
use std::future::Future;

/// What a load run calls. Implemented for every closure returning a future of
/// `Result<T, E>` with `E: Display`; an `Err` is counted under its `Display` text.
///
/// ```
/// fn takes(_: impl perf_load::Target) {}
/// takes(|| async { Ok::<u16, std::io::Error>(200) });
/// ```
pub trait Target: Send + Sync + 'static {
    /// What a successful call returns.
    type Output: Send + 'static;
    /// What a failed call returns.
    type Error: Display + Send + 'static;
    /// The call.
    type Call: Future<Output = Result<Self::Output, Self::Error>> + Send + 'static;

    /// Starts one call.
    fn call(&self) -> Self::Call;
}

impl<F, Fut, T, E> Target for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Display + Send + 'static,
{
    type Output = T;
    type Error = E;
    type Call = Fut;

    fn call(&self) -> Fut {
        self()
    }
}
