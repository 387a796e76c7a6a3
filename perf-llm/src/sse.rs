//! Server-sent events, the framing of every provider's streamed responses: bytes as they
//! arrive, split anywhere, become whole events. Follows the WHATWG event-stream rules
//! (LF, CRLF or CR line ends, `:` comments, multi-line `data`, one optional space after the
//! colon) and bounds the bytes held for an unfinished event, so a peer that never ends a
//! line cannot grow memory without limit.

use thiserror::Error;

/// One dispatched event: its `event:` type, if any, and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`None` for the default `message` type).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SseError {
    /// An event grew past the limit without ending: the peer is not sending server-sent events.
    #[error("a server-sent event grew past {limit} bytes without ending; is this an event stream (Content-Type text/event-stream)?")]
    TooLong {
        /// The limit, [`SseDecoder::with_limit`].
        limit: usize,
    },
    /// A line was not UTF-8, which the event-stream format requires.
    #[error("a server-sent event line is not UTF-8; the event-stream format requires UTF-8")]
    NotUtf8,
}

/// Turns the bytes of an event stream, in frames split anywhere, into [`SseEvent`]s.
///
/// ```
/// use perf_llm::sse::SseDecoder;
///
/// let mut sse = SseDecoder::new();
/// assert!(sse.feed(b"data: {\"a\":").unwrap().is_empty()); // not a whole event yet
/// let events = sse.feed(b"1}\n\n: a comment\r\ndata: [DONE]\r\n\r\n").unwrap();
/// let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
/// assert_eq!(data, ["{\"a\":1}", "[DONE]"]);
/// ```
#[derive(Debug, Clone)]
pub struct SseDecoder {
    line: Vec<u8>,
    // A CR ended the last line; an LF that opens the next frame belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    limit: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// The bytes one event may take by default: 1 MiB, far above any provider's chunk.
    pub const DEFAULT_LIMIT: usize = 1 << 20;

    /// A decoder with the [default limit](Self::DEFAULT_LIMIT).
    pub fn new() -> Self {
        Self::with_limit(Self::DEFAULT_LIMIT)
    }

    /// A decoder that refuses an event (its unfinished line and data together) longer
    /// than `limit` bytes.
    ///
    /// ```
    /// let mut sse = perf_llm::sse::SseDecoder::with_limit(8);
    /// assert!(sse.feed(b"data: 0123456789").is_err());
    /// ```
    pub fn with_limit(limit: usize) -> Self {
        SseDecoder {
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
            limit,
        }
    }

    /// Reads `bytes`, the next part of the stream, and returns the events it completed. After
    /// an error the decoder starts over at the next line; the event in progress is lost.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(e) = self.line_ended(&line)? {
                        events.push(e);
                    }
                }
                _ => {
                    if self.line.len() + self.data.len() >= self.limit {
                        self.reset();
                        return Err(SseError::TooLong { limit: self.limit });
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(events)
    }

    /// Whether an event was started and not finished: at the end of the stream, the
    /// format drops it, and a caller may want to say the stream was cut.
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data
    }

    fn reset(&mut self) {
        self.line.clear();
        self.event = None;
        self.data.clear();
        self.has_data = false;
    }

    fn line_ended(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            if !self.has_data {
                self.event = None;
                return Ok(None);
            }
            self.has_data = false;
            let mut data = std::mem::take(&mut self.data);
            data.pop(); // the `\n` after the last data line
            return Ok(Some(SseEvent {
                event: self.event.take(),
                data,
            }));
        }
        let Ok(line) = std::str::from_utf8(line) else {
            self.reset();
            return Err(SseError::NotUtf8);
        };
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            // `id` and `retry` matter to a reconnecting browser, not to a metered call.
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn split_at_every_byte_gives_the_same_events() {
        let text =
            b"event: delta\r\ndata: a\r\ndata:b\r\n\r\n:keep-alive\n\ndata: c\r\rdata: [DONE]\n\n";
        let whole = SseDecoder::new().feed(text).unwrap();
        assert_eq!(data(&whole), ["a\nb", "c", "[DONE]"]);
        assert_eq!(whole[0].event.as_deref(), Some("delta"));
        assert_eq!(whole[1].event, None);
        let mut sse = SseDecoder::new();
        let mut one_by_one = Vec::new();
        for b in text {
            one_by_one.extend(sse.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(one_by_one, whole);
        assert!(!sse.has_partial());
    }

    #[test]
    fn a_cut_event_is_partial_and_never_dispatched() {
        let mut sse = SseDecoder::new();
        assert_eq!(sse.feed(b"data: x\n").unwrap(), vec![]);
        assert!(sse.has_partial());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut sse = SseDecoder::with_limit(16);
        assert_eq!(sse.feed(&[b'x'; 17]), Err(SseError::TooLong { limit: 16 }));
        assert_eq!(
            SseDecoder::new().feed(b"data: \xff\xfe\n\n"),
            Err(SseError::NotUtf8)
        );
        // After an error the decoder reads on from the next line.
        assert_eq!(data(&sse.feed(b"\ndata: ok\n\n").unwrap()), ["ok"]);
    }
}
