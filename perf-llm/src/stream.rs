//! Metering of streamed responses: a wrapper over any `futures` `Stream` of chunks that
//! records time to first chunk, the time between chunks, decode speed and the final usage,
//! and records the call when the stream ends — or, if it is dropped early, as cancelled.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use perf_core::clock::Clock;
use pin_project::{pin_project, pinned_drop};
use serde_json::Value;

use crate::call::{CallStatus, LlmCall};
use crate::meter::LlmMeter;
use crate::providers::anthropic::AnthropicStreamUsage;
use crate::usage::{TokenUsage, UsageStatus};

enum MeterRef {
    Global,
    Shared(Arc<LlmMeter>),
    None,
}

/// The call a [`MeteredStream`] recorded, readable once the stream ended or was dropped.
#[derive(Debug, Clone, Default)]
pub struct StreamReport(Arc<OnceLock<LlmCall>>);

impl StreamReport {
    /// The recorded call, once the stream has ended or been dropped.
    pub fn get(&self) -> Option<&LlmCall> {
        self.0.get()
    }
}

/// A stream of chunks, metered. Each chunk is shown to `usage_of`, which returns the usage
/// it carries, if any (the last one seen wins: OpenAI sends it once in the final chunk,
/// Anthropic cumulatively). At the end the call is recorded with:
/// * latency: from the wrapper's creation to the end of the stream;
/// * time to first chunk, and the gaps between consecutive chunks;
/// * decode speed `(output − 1) / (latency − time to first chunk)` tokens per second;
/// * usage `Reported`, or `Missing` if no chunk carried it — never a silent zero.
///
/// Dropped before its end, the call is recorded as [`CallStatus::Cancelled`], with usage
/// `Missing`, or `Estimated` (a lower bound) if a partial usage had been seen.
///
/// ```
/// use perf_llm::stream::{openai_chat_usage, MeteredStream};
/// use perf_llm::LlmCall;
///
/// # fn chunks() -> impl futures_core::Stream<Item = serde_json::Value> {
/// #     struct Empty; impl futures_core::Stream for Empty { type Item = serde_json::Value;
/// #     fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<serde_json::Value>> { std::task::Poll::Ready(None) } }
/// #     Empty }
/// let metered = MeteredStream::new(chunks(), LlmCall::new("openai", "gpt-4o"), openai_chat_usage);
/// let report = metered.report();
/// // … poll `metered` to its end; then `report.get()` holds the recorded LlmCall.
/// # drop(metered);
/// assert!(report.get().is_some());
/// ```
#[pin_project(PinnedDrop)]
pub struct MeteredStream<S, F> {
    #[pin]
    inner: S,
    usage_of: F,
    state: State,
}

/// Everything measured so far, apart from the stream itself.
struct State {
    clock: Clock,
    meter: MeterRef,
    started: u64,
    first: Option<u64>,
    last: Option<u64>,
    gaps: Vec<Duration>,
    usage: Option<TokenUsage>,
    call: Option<LlmCall>,
    report: StreamReport,
}

impl<S, F> MeteredStream<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Option<TokenUsage>,
{
    /// Wraps `inner`; the clock starts now. Recorded with the global meter by default.
    pub fn new(inner: S, call: LlmCall, usage_of: F) -> Self {
        Self::with_clock(inner, call, usage_of, Clock::system())
    }

    /// Wraps `inner`, timing with `clock` (a manual clock in tests).
    pub fn with_clock(inner: S, call: LlmCall, usage_of: F, clock: Clock) -> Self {
        let started = clock.now_nanos();
        MeteredStream {
            inner,
            usage_of,
            state: State {
                clock,
                meter: MeterRef::Global,
                started,
                first: None,
                last: None,
                gaps: Vec::new(),
                usage: None,
                call: Some(call),
                report: StreamReport::default(),
            },
        }
    }

    /// Records with `meter` instead of the global one.
    pub fn meter(mut self, meter: Arc<LlmMeter>) -> Self {
        self.state.meter = MeterRef::Shared(meter);
        self
    }

    /// Does not record anywhere; the call is only put in the [`StreamReport`].
    pub fn unrecorded(mut self) -> Self {
        self.state.meter = MeterRef::None;
        self
    }

    /// A handle to the call recorded at the end.
    pub fn report(&self) -> StreamReport {
        self.state.report.clone()
    }
}

impl State {
    fn chunk(&mut self) {
        let now = self.clock.now_nanos();
        if self.first.is_none() {
            self.first = Some(now);
        }
        if let Some(prev) = self.last.replace(now) {
            self.gaps
                .push(Duration::from_nanos(now.saturating_sub(prev)));
        }
    }

    fn finish(&mut self, completed: bool) {
        let Some(mut call) = self.call.take() else {
            return;
        };
        let now = self.clock.now_nanos();
        let latency = Duration::from_nanos(now.saturating_sub(self.started));
        let ttfc = self
            .first
            .map(|f| Duration::from_nanos(f.saturating_sub(self.started)));
        call.latency = Some(latency);
        call.time_to_first_chunk = ttfc;
        call.chunk_gaps = std::mem::take(&mut self.gaps);
        call.usage = match (self.usage, completed) {
            (Some(u), true) => UsageStatus::Reported(u),
            (Some(u), false) => UsageStatus::Estimated(u),
            (None, _) => UsageStatus::Missing,
        };
        if !completed {
            call.status = CallStatus::Cancelled;
        }
        if let (Some(u), Some(t)) = (self.usage.filter(|_| completed), ttfc) {
            let decode = latency.saturating_sub(t).as_secs_f64();
            if u.output >= 2 && decode > 0.0 {
                call.decode_tokens_per_second = Some((u.output - 1) as f64 / decode);
            }
        }
        let call = match &self.meter {
            MeterRef::Global => call.record(),
            MeterRef::Shared(m) => call.record_with(m),
            MeterRef::None => call,
        };
        let _ = self.report.0.set(call);
    }
}

impl<S, F> Stream for MeteredStream<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Option<TokenUsage>,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.state.chunk();
                if let Some(u) = (this.usage_of)(&item) {
                    this.state.usage = Some(u);
                }
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.state.finish(true);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[pinned_drop]
impl<S, F> PinnedDrop for MeteredStream<S, F> {
    fn drop(self: Pin<&mut Self>) {
        self.project().state.finish(false);
    }
}

/// The usage of an OpenAI Chat Completions stream chunk: `Some` on the final chunk of a
/// stream requested with `stream_options.include_usage`, else `None`.
pub fn openai_chat_usage(chunk: &Value) -> Option<TokenUsage> {
    if chunk.get("usage").is_none_or(Value::is_null) {
        return None;
    }
    TokenUsage::from_openai_chat(chunk).ok()
}

/// A usage extractor for an Anthropic Messages event stream: merges `message_start` and
/// the cumulative `message_delta` counts (see [`AnthropicStreamUsage`]).
pub fn anthropic_usage() -> impl FnMut(&Value) -> Option<TokenUsage> {
    let mut acc = AnthropicStreamUsage::default();
    move |event| match acc.update(event) {
        Ok(true) => acc.usage().and_then(Result::ok),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_core::clock::ManualClock;
    use serde_json::json;
    use std::collections::VecDeque;
    use std::task::Waker;

    /// Yields each chunk after moving the manual clock by its delay.
    struct Script {
        items: VecDeque<(Duration, Value)>,
        hand: ManualClock,
    }

    impl Stream for Script {
        type Item = Value;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Value>> {
            match self.items.pop_front() {
                Some((d, v)) => {
                    self.hand.advance(d);
                    Poll::Ready(Some(v))
                }
                None => Poll::Ready(None),
            }
        }
    }

    fn drain<S: Stream + Unpin>(s: &mut S, max: usize) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        let mut n = 0;
        while n < max {
            match Pin::new(&mut *s).poll_next(&mut cx) {
                Poll::Ready(Some(_)) => n += 1,
                Poll::Ready(None) => break,
                Poll::Pending => unreachable!("script never pends"),
            }
        }
        n
    }

    /// `call` metered over `script` on `clock`, recorded nowhere; its report.
    fn metered<F>(
        script: Script,
        call: LlmCall,
        usage_of: F,
        clock: Clock,
    ) -> (MeteredStream<Script, F>, StreamReport)
    where
        F: FnMut(&Value) -> Option<TokenUsage>,
    {
        let s = MeteredStream::with_clock(script, call, usage_of, clock).unrecorded();
        let report = s.report();
        (s, report)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn openai_stream_times_are_exact() {
        let (clock, hand) = Clock::manual();
        let content = |t: &str| json!({"choices": [{"delta": {"content": t}}], "usage": null});
        let script = Script {
            items: VecDeque::from(vec![
                (ms(200), content("Hel")),
                (ms(50), content("lo")),
                (ms(50), content("!")),
                (
                    ms(100),
                    json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 21}}),
                ),
            ]),
            hand,
        };
        let (mut s, report) = metered(
            script,
            LlmCall::new("openai", "gpt-4o"),
            openai_chat_usage,
            clock,
        );
        assert_eq!(drain(&mut s, 100), 4);
        let call = report.get().expect("recorded at the end");
        assert_eq!(call.time_to_first_chunk, Some(ms(200)));
        assert_eq!(call.latency, Some(ms(400)));
        assert_eq!(call.chunk_gaps, vec![ms(50), ms(50), ms(100)]);
        assert_eq!(call.usage, UsageStatus::Reported(TokenUsage::new(10, 21)));
        // (21 − 1) tokens / (0.4 s − 0.2 s) = 100 tokens/s
        assert_eq!(call.decode_tokens_per_second, Some(100.0));
        assert_eq!(call.status, CallStatus::Ok);
    }

    #[test]
    fn stream_without_usage_chunk_is_missing_not_zero() {
        let (clock, hand) = Clock::manual();
        let script = Script {
            items: VecDeque::from(vec![(ms(10), json!({"usage": null}))]),
            hand,
        };
        let (mut s, report) = metered(
            script,
            LlmCall::new("openai", "gpt-4o"),
            openai_chat_usage,
            clock,
        );
        drain(&mut s, 10);
        let call = report.get().unwrap();
        assert_eq!(call.usage, UsageStatus::Missing);
        assert_eq!(call.decode_tokens_per_second, None);
    }

    #[test]
    fn dropped_anthropic_stream_is_cancelled_with_estimate() {
        let (clock, hand) = Clock::manual();
        let script = Script {
            items: VecDeque::from(vec![
                (
                    ms(300),
                    json!({"type": "message_start", "message": {"usage": {"input_tokens": 50, "output_tokens": 1}}}),
                ),
                (
                    ms(20),
                    json!({"type": "content_block_delta", "delta": {"text": "a"}}),
                ),
                (
                    ms(20),
                    json!({"type": "message_delta", "usage": {"output_tokens": 30}}),
                ),
            ]),
            hand: hand.clone(),
        };
        let (mut s, report) = metered(
            script,
            LlmCall::new("anthropic", "claude-3-5-haiku"),
            anthropic_usage(),
            clock,
        );
        assert_eq!(drain(&mut s, 2), 2);
        hand.advance(ms(5));
        drop(s);
        let call = report.get().unwrap();
        assert_eq!(call.status, CallStatus::Cancelled);
        assert_eq!(call.usage, UsageStatus::Estimated(TokenUsage::new(50, 1)));
        assert_eq!(call.latency, Some(ms(325)));
        assert_eq!(call.time_to_first_chunk, Some(ms(300)));
    }

    #[test]
    fn anthropic_full_stream_merges_usage() {
        let (clock, hand) = Clock::manual();
        let script = Script {
            items: VecDeque::from(vec![
                (
                    ms(100),
                    json!({"type": "message_start", "message": {"usage": {"input_tokens": 50, "cache_read_input_tokens": 950, "output_tokens": 1}}}),
                ),
                (
                    ms(10),
                    json!({"type": "content_block_delta", "delta": {"text": "a"}}),
                ),
                (
                    ms(10),
                    json!({"type": "message_delta", "usage": {"output_tokens": 3}}),
                ),
                (ms(0), json!({"type": "message_stop"})),
            ]),
            hand,
        };
        let (mut s, report) = metered(
            script,
            LlmCall::new("anthropic", "claude-3-5-haiku"),
            anthropic_usage(),
            clock,
        );
        drain(&mut s, 10);
        let u = *report.get().unwrap().usage.usage().unwrap();
        assert_eq!((u.input, u.cache_read, u.output), (1000, 950, 3));
        // (3 − 1) / (0.12 − 0.1) s = 100 tokens/s
        let tps = report.get().unwrap().decode_tokens_per_second.unwrap();
        assert!((tps - 100.0).abs() < 1e-9, "{tps}");
    }
}
