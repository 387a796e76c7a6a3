//! Runs a closure (or an async closure) many times and records how long each call took, on
//! an injectable [`Clock`], catching a panicking call. The measuring half of the regression
//! assertions in [`latency`](crate::regress::latency), [`baseline`](crate::regress::baseline)
//! and [`ratio`](crate::regress::ratio).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::clock::Clock;
use crate::{LatencyHistogram, LatencySummary};

/// Number of timed calls when a check does not say: enough for a p999 clause (see
/// [`Stat::min_samples`](crate::regress::latency::Stat::min_samples)).
pub const DEFAULT_SAMPLES: usize = 1000;

/// Number of untimed calls before sampling when a check does not say: fills caches, lazy
/// statics and connection pools so the first samples are not cold-start outliers.
pub const DEFAULT_WARMUP: usize = 100;

/// Measuring a closure failed before any judgement could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    /// Zero samples were asked for.
    #[error("samples = 0: nothing to measure; ask for at least 1 sample (the default is {DEFAULT_SAMPLES})")]
    NoSamples,
    /// The closure panicked.
    #[error("the measured closure panicked during {phase} call {index}: {message}; fix the closure — a latency check cannot judge code that fails")]
    Panicked {
        /// `"warm-up"` or `"sample"`.
        phase: &'static str,
        /// Zero-based index of the call within its phase.
        index: usize,
        /// The panic payload, if it was a string.
        message: String,
    },
}

/// How many calls to make and which clock to read.
///
/// ```
/// use std::time::Duration;
/// use perf_core::clock::Clock;
/// use perf_core::sampler::Sampler;
///
/// let (clock, hand) = Clock::manual();
/// let samples = Sampler::new().samples(3).warmup(1).clock(clock)
///     .run(|| hand.advance(Duration::from_micros(5)))
///     .unwrap();
/// assert_eq!(samples, vec![5_000, 5_000, 5_000]);
/// ```
#[derive(Clone, Debug)]
pub struct Sampler {
    samples: usize,
    warmup: usize,
    clock: Clock,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            samples: DEFAULT_SAMPLES,
            warmup: DEFAULT_WARMUP,
            clock: Clock::system(),
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// The summary of samples in nanoseconds, as the assertions report and judge it.
pub(crate) fn summarize(samples_ns: &[u64]) -> LatencySummary {
    let h = LatencyHistogram::new();
    for &s in samples_ns {
        h.record_nanos(s);
    }
    h.summary()
}

impl Sampler {
    /// [`DEFAULT_SAMPLES`] samples after [`DEFAULT_WARMUP`] warm-up calls, system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of timed calls.
    pub fn samples(mut self, n: usize) -> Self {
        self.samples = n;
        self
    }

    /// Number of untimed calls first.
    pub fn warmup(mut self, n: usize) -> Self {
        self.warmup = n;
        self
    }

    /// The clock to read (a manual clock makes tests exact).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The number of timed calls this sampler makes.
    pub fn sample_count(&self) -> usize {
        self.samples
    }

    /// The number of untimed calls this sampler makes first.
    pub fn warmup_count(&self) -> usize {
        self.warmup
    }

    /// The clock this sampler reads.
    pub fn clock_ref(&self) -> &Clock {
        &self.clock
    }

    /// Times one call of `f` in nanoseconds, catching a panic.
    pub(crate) fn time_one<R>(
        &self,
        f: &mut impl FnMut() -> R,
        phase: &'static str,
        index: usize,
    ) -> Result<u64, SampleError> {
        let start = self.clock.now_nanos();
        match catch_unwind(AssertUnwindSafe(|| std::hint::black_box(f()))) {
            Ok(_) => Ok(self.clock.now_nanos().saturating_sub(start)),
            Err(payload) => Err(SampleError::Panicked {
                phase,
                index,
                message: panic_message(payload.as_ref()),
            }),
        }
    }

    /// Calls `f` `warmup` times untimed, then `samples` times timed; returns the samples in
    /// nanoseconds, in call order.
    pub fn run<R>(&self, mut f: impl FnMut() -> R) -> Result<Vec<u64>, SampleError> {
        if self.samples == 0 {
            return Err(SampleError::NoSamples);
        }
        for i in 0..self.warmup {
            self.time_one(&mut f, "warm-up", i)?;
        }
        (0..self.samples)
            .map(|i| self.time_one(&mut f, "sample", i))
            .collect()
    }

    /// The async form of [`run`](Self::run): `f` makes a fresh future per call, and each
    /// sample is the time from creating the future to its completion, awaited on the
    /// caller's runtime (so inside `#[tokio::test]` it runs on that test's runtime).
    ///
    /// ```
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # rt.block_on(async {
    /// use perf_core::sampler::Sampler;
    /// let samples = Sampler::new().samples(10).warmup(0).run_async(|| async { 1 + 1 }).await.unwrap();
    /// assert_eq!(samples.len(), 10);
    /// # });
    /// ```
    pub async fn run_async<F, Fut>(&self, mut f: F) -> Result<Vec<u64>, SampleError>
    where
        F: FnMut() -> Fut,
        Fut: Future,
    {
        if self.samples == 0 {
            return Err(SampleError::NoSamples);
        }
        for i in 0..self.warmup {
            self.time_one_async(&mut f, "warm-up", i).await?;
        }
        let mut out = Vec::with_capacity(self.samples);
        for i in 0..self.samples {
            out.push(self.time_one_async(&mut f, "sample", i).await?);
        }
        Ok(out)
    }

    async fn time_one_async<F, Fut>(
        &self,
        f: &mut F,
        phase: &'static str,
        index: usize,
    ) -> Result<u64, SampleError>
    where
        F: FnMut() -> Fut,
        Fut: Future,
    {
        let panicked = |payload: Box<dyn Any + Send>| SampleError::Panicked {
            phase,
            index,
            message: panic_message(payload.as_ref()),
        };
        let start = self.clock.now_nanos();
        let fut = catch_unwind(AssertUnwindSafe(&mut *f)).map_err(panicked)?;
        let mut fut = std::pin::pin!(fut);
        // A panic inside one poll is caught like a panic in a sync call; the future is then
        // never polled again.
        std::future::poll_fn(
            |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
                Ok(std::task::Poll::Ready(_)) => std::task::Poll::Ready(Ok(())),
                Err(payload) => std::task::Poll::Ready(Err(panicked(payload))),
            },
        )
        .await?;
        Ok(self.clock.now_nanos().saturating_sub(start))
    }
}

/// The `samples`, `warmup` and `clock` methods of an assertion builder, written once for
/// [`LatencyCheck`](crate::regress::latency::LatencyCheck),
/// [`RatioCheck`](crate::regress::ratio::RatioCheck) and
/// [`BaselineCheck`](crate::regress::baseline::BaselineCheck) so the three measure alike:
/// each holds a `sampler: Sampler` and these set it. `$calls` says what is timed, for the docs.
macro_rules! sampling_setters {
    ($calls:literal) => {
        #[doc = concat!("Number of timed ", $calls, " (default [`DEFAULT_SAMPLES`](crate::regress::sampler::DEFAULT_SAMPLES)).")]
        pub fn samples(mut self, n: usize) -> Self {
            self.sampler = self.sampler.samples(n);
            self
        }

        #[doc = concat!("Number of untimed ", $calls, " first (default [`DEFAULT_WARMUP`](crate::regress::sampler::DEFAULT_WARMUP)).")]
        pub fn warmup(mut self, n: usize) -> Self {
            self.sampler = self.sampler.warmup(n);
            self
        }

        /// The clock to read (a manual clock makes tests exact).
        pub fn clock(mut self, clock: $crate::clock::Clock) -> Self {
            self.sampler = self.sampler.clock(clock);
            self
        }
    };
}
pub(crate) use sampling_setters;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn manual_clock_gives_exact_samples_and_warmup_is_untimed() {
        let (clock, hand) = Clock::manual();
        let mut calls = 0u64;
        let samples = Sampler::new()
            .samples(4)
            .warmup(2)
            .clock(clock)
            .run(|| {
                calls += 1;
                hand.advance(Duration::from_nanos(calls * 10));
            })
            .unwrap();
        assert_eq!(calls, 6);
        assert_eq!(samples, vec![30, 40, 50, 60]);
    }

    #[test]
    fn zero_samples_is_an_error() {
        assert_eq!(
            Sampler::new().samples(0).run(|| ()),
            Err(SampleError::NoSamples)
        );
    }

    #[test]
    fn panic_names_phase_and_index() {
        let mut n = 0;
        let err = Sampler::new()
            .samples(10)
            .warmup(3)
            .run(|| {
                n += 1;
                if n == 6 {
                    panic!("boom at six");
                }
            })
            .unwrap_err();
        assert_eq!(
            err,
            SampleError::Panicked {
                phase: "sample",
                index: 2,
                message: "boom at six".into()
            }
        );
        assert!(err.to_string().contains("sample call 2: boom at six"));
    }

    #[test]
    fn async_samples_and_panics() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (clock, hand) = Clock::manual();
        let sampler = Sampler::new().samples(3).warmup(1).clock(clock);
        let got = rt.block_on(sampler.run_async(|| {
            let hand = hand.clone();
            async move {
                tokio::task::yield_now().await;
                hand.advance(Duration::from_micros(7));
            }
        }));
        assert_eq!(got.unwrap(), vec![7_000; 3]);

        let mut n = 0;
        let err = rt
            .block_on(sampler.run_async(|| {
                n += 1;
                let boom = n == 3;
                async move {
                    tokio::task::yield_now().await;
                    if boom {
                        panic!("async boom");
                    }
                }
            }))
            .unwrap_err();
        assert!(
            matches!(&err, SampleError::Panicked { phase: "sample", index: 1, message } if message == "async boom"),
            "{err:?}"
        );
    }
}
