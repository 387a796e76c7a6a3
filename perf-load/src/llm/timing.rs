//! The times of one streamed request, from the instants its events arrived, with the
//! definitions of vLLM's `benchmark_serving.py`: TTFT, ITL, TPOT and E2EL.

use std::time::Duration;

use perf_llm::{TokenUsage, UsageError};
use serde_json::Value;

use crate::llm::error::RequestError;

/// What one successful streamed request measured.
///
/// * `ttft`: from sending the request (connection included, as vLLM's client opens one per
///   request) to the first chunk carrying content;
/// * `itl`: the gaps between consecutive content chunks (one per chunk after the first);
/// * `tpot`: `(e2el − ttft) / (output_tokens − 1)`, when more than one token came;
/// * `e2el`: from sending to the last chunk with `choices` (vLLM's `most_recent_timestamp`:
///   the usage chunk after it does not count);
/// * `output_tokens`: `usage.completion_tokens` of the usage chunk, else the number of
///   content chunks with `output_tokens_estimated` set.
///
/// ```
/// use perf_load::llm::RequestMetrics;
/// let m = RequestMetrics::default();
/// assert_eq!(m.output_tokens_per_s(), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestMetrics {
    /// Time to first token.
    pub ttft: Duration,
    /// Inter-token latencies.
    pub itl: Vec<Duration>,
    /// Time per output token after the first.
    pub tpot: Option<Duration>,
    /// End-to-end latency.
    pub e2el: Duration,
    /// Output tokens.
    pub output_tokens: u64,
    /// `output_tokens` was counted from content chunks: the server sent no usage.
    pub output_tokens_estimated: bool,
    /// `usage.prompt_tokens`, when the server reported usage.
    pub input_tokens: Option<u64>,
}

impl RequestMetrics {
    /// This request's output tokens per second, `output_tokens / e2el` (genai-perf's
    /// output token throughput per request); `None` for a zero latency.
    pub fn output_tokens_per_s(&self) -> Option<f64> {
        let s = self.e2el.as_secs_f64();
        (s > 0.0 && self.output_tokens > 0).then(|| self.output_tokens as f64 / s)
    }
}

/// What a data event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// `[DONE]`: the stream is over.
    Done,
    /// Any other chunk.
    Chunk,
}

/// Accumulates one request's event times (nanoseconds on one clock).
#[derive(Debug)]
pub(crate) struct StreamTiming {
    start: u64,
    first: Option<u64>,
    last_content: Option<u64>,
    last_choice: Option<u64>,
    itl: Vec<Duration>,
    content_chunks: u64,
    usage: Option<TokenUsage>,
}

fn nanos(from: u64, to: u64) -> Duration {
    Duration::from_nanos(to.saturating_sub(from))
}

impl StreamTiming {
    pub(crate) fn new(start: u64) -> Self {
        StreamTiming {
            start,
            first: None,
            last_content: None,
            last_choice: None,
            itl: Vec::new(),
            content_chunks: 0,
            usage: None,
        }
    }

    /// One event's data, which arrived at `now`.
    pub(crate) fn on_data(&mut self, now: u64, data: &str) -> Result<Event, RequestError> {
        if data.trim() == "[DONE]" {
            return Ok(Event::Done);
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| RequestError::MalformedChunk(format!("{e} in {:?}", truncate(data))))?;
        if !chunk.is_object() {
            return Err(RequestError::MalformedChunk(format!(
                "not a JSON object: {:?}",
                truncate(data)
            )));
        }
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let msg = err.get("message").and_then(Value::as_str);
            return Err(RequestError::ErrorEvent(
                msg.map_or_else(|| truncate(&err.to_string()), str::to_owned),
            ));
        }
        if chunk
            .get("choices")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty())
        {
            self.last_choice = Some(now);
        }
        if has_content(&chunk) {
            self.content_chunks += 1;
            if self.first.is_none() {
                self.first = Some(now);
            }
            if let Some(prev) = self.last_content.replace(now) {
                self.itl.push(nanos(prev, now));
            }
        }
        match TokenUsage::from_openai_chat(&chunk) {
            Ok(u) => self.usage = Some(u),
            Err(UsageError::Missing { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Event::Chunk)
    }

    /// The request's metrics once its stream ended at `now`; `cut` if it ended inside an event.
    pub(crate) fn finish(self, now: u64, cut: bool) -> Result<RequestMetrics, RequestError> {
        if cut {
            return Err(RequestError::Cut);
        }
        let Some(first) = self.first else {
            return Err(RequestError::NoContent);
        };
        let ttft = nanos(self.start, first);
        let e2el = nanos(self.start, self.last_choice.unwrap_or(now));
        let (output_tokens, estimated) = match self.usage {
            Some(u) => (u.output, false),
            None => (self.content_chunks, true),
        };
        // Integer nanoseconds: the division is exact to the nanosecond and cannot overflow.
        let tpot = (output_tokens > 1).then(|| {
            let decode = e2el.saturating_sub(ttft).as_nanos();
            Duration::from_nanos((decode / u128::from(output_tokens - 1)) as u64)
        });
        Ok(RequestMetrics {
            ttft,
            itl: self.itl,
            tpot,
            e2el,
            output_tokens,
            output_tokens_estimated: estimated,
            input_tokens: self.usage.map(|u| u.input),
        })
    }
}

/// A chunk with text in `choices[0].delta`: `content`, or `reasoning_content` that
/// reasoning servers (vLLM, SGLang, DeepSeek) stream before the answer. A role-only first
/// chunk or a `finish_reason` chunk carries no token, so it does not start TTFT.
fn has_content(chunk: &Value) -> bool {
    let Some(delta) = chunk.pointer("/choices/0/delta") else {
        return false;
    };
    ["content", "reasoning_content"].iter().any(|k| {
        delta
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    })
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn content(t: &str) -> String {
        format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"{t}"}}}}],"usage":null}}"#)
    }

    #[test]
    fn times_follow_vllm_definitions() {
        let mut t = StreamTiming::new(1_000 * MS);
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#;
        assert_eq!(t.on_data(1_090 * MS, role).unwrap(), Event::Chunk);
        t.on_data(1_100 * MS, &content("a")).unwrap();
        t.on_data(1_120 * MS, &content("b")).unwrap();
        t.on_data(1_150 * MS, &content("c")).unwrap();
        t.on_data(
            1_150 * MS,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5}}"#;
        t.on_data(1_160 * MS, usage).unwrap();
        assert_eq!(t.on_data(1_170 * MS, "[DONE]").unwrap(), Event::Done);
        let m = t.finish(1_171 * MS, false).unwrap();
        assert_eq!(m.ttft, Duration::from_millis(100));
        assert_eq!(
            m.itl,
            [Duration::from_millis(20), Duration::from_millis(30)]
        );
        // The finish chunk at 150 ms, not the usage chunk after it.
        assert_eq!(m.e2el, Duration::from_millis(150));
        assert_eq!((m.output_tokens, m.output_tokens_estimated), (5, false));
        assert_eq!(m.input_tokens, Some(7));
        // (150 − 100) ms / (5 − 1)
        assert_eq!(m.tpot, Some(Duration::from_micros(12_500)));
        assert_eq!(m.output_tokens_per_s(), Some(5.0 / 0.15));
    }

    #[test]
    fn without_usage_tokens_are_counted_and_marked() {
        let mut t = StreamTiming::new(0);
        t.on_data(10 * MS, &content("x")).unwrap();
        t.on_data(30 * MS, &content("y")).unwrap();
        let m = t.finish(40 * MS, false).unwrap();
        assert_eq!((m.output_tokens, m.output_tokens_estimated), (2, true));
        assert_eq!(m.e2el, Duration::from_millis(30));
        assert_eq!(m.tpot, Some(Duration::from_millis(20)));
        assert_eq!(m.input_tokens, None);
    }

    #[test]
    fn bad_streams_are_errors() {
        let kind = |data: &str| StreamTiming::new(0).on_data(1, data).unwrap_err().kind();
        assert_eq!(kind("{not json"), "malformed chunk");
        assert_eq!(kind("[1, 2]"), "malformed chunk");
        assert_eq!(kind(r#"{"error":{"message":"overloaded"}}"#), "error event");
        assert_eq!(kind(r#"{"usage":{"prompt_tokens":-1}}"#), "bad usage");
        let t = StreamTiming::new(0);
        assert_eq!(t.finish(5, false).unwrap_err().kind(), "no content");
        let mut t = StreamTiming::new(0);
        t.on_data(1, &content("x")).unwrap();
        assert_eq!(t.finish(5, true).unwrap_err().kind(), "cut mid-event");
    }

    /// Whatever bytes a server sends, split wherever, the request ends in metrics or a
    /// counted error: the decoder and the chunk reader never panic.
    fn consume(bytes: &[u8], split: usize) -> Result<RequestMetrics, RequestError> {
        let mut sse = perf_llm::sse::SseDecoder::new();
        let mut t = StreamTiming::new(0);
        let (a, b) = bytes.split_at(split.min(bytes.len()));
        for (i, part) in [a, b].into_iter().enumerate() {
            for e in sse.feed(part)? {
                if t.on_data(i as u64 + 1, &e.data)? == Event::Done {
                    return t.finish(3, false);
                }
            }
        }
        t.finish(3, sse.has_partial())
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_metrics_or_an_error(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), split in 0usize..300) {
            let _ = consume(&bytes, split);
        }

        #[test]
        fn chunk_like_text_gives_metrics_or_an_error(
            text in "(data: (\\{\"choices\":\\[\\{\"delta\":\\{\"content\":\"[a-z]{0,3}\"\\}\\}\\]\\}|\\[DONE\\]|\\{\"usage\":\\{\"prompt_tokens\":-?[0-9]{1,3}\\}\\}|[ -~]{0,20})\r?\n\r?\n?){0,8}",
            split in 0usize..400,
        ) {
            let _ = consume(text.as_bytes(), split);
        }
    }

    #[test]
    fn a_well_formed_stream_split_anywhere_reads_the_same() {
        let text = format!(
            "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            content("a"),
            content("b")
        );
        for split in 0..text.len() {
            let m = consume(text.as_bytes(), split).unwrap();
            assert_eq!(m.output_tokens, 2, "split at {split}");
        }
    }
}
