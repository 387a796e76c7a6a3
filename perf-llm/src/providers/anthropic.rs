//! Anthropic's Messages usage shapes. `input_tokens` excludes cache reads and writes, which
//! come as `cache_read_input_tokens` and `cache_creation_input_tokens` (split into 5-minute
//! and 1-hour writes under `cache_creation`); perf-llm adds them back into `input`.

use serde::Serialize;
use serde_json::Value;

use crate::error::UsageError;
use crate::providers::json::{count, objects_only, sub_object, usage_object};
use crate::usage::TokenUsage;

const P: &str = "anthropic";

/// The counts present in one usage object; absent ones are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Partial {
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    write_5m: Option<u64>,
    write_1h: Option<u64>,
}

fn partial(v: &Value) -> Result<Partial, UsageError> {
    let u = usage_object(v, P, &["input_tokens", "output_tokens"])?;
    let (write_5m, write_1h) = match sub_object(u, "cache_creation", "usage.cache_creation", P)? {
        Some(c) => (
            count(
                c,
                "ephemeral_5m_input_tokens",
                "usage.cache_creation.ephemeral_5m_input_tokens",
                P,
            )?,
            count(
                c,
                "ephemeral_1h_input_tokens",
                "usage.cache_creation.ephemeral_1h_input_tokens",
                P,
            )?,
        ),
        None => (None, None),
    };
    Ok(Partial {
        input: count(u, "input_tokens", "usage.input_tokens", P)?,
        output: count(u, "output_tokens", "usage.output_tokens", P)?,
        cache_read: count(
            u,
            "cache_read_input_tokens",
            "usage.cache_read_input_tokens",
            P,
        )?,
        cache_write: count(
            u,
            "cache_creation_input_tokens",
            "usage.cache_creation_input_tokens",
            P,
        )?,
        write_5m,
        write_1h,
    })
}

impl Partial {
    /// Later cumulative counts replace earlier ones; absent ones keep the earlier value.
    fn merge(&mut self, later: Partial) {
        let pick = |a: &mut Option<u64>, b: Option<u64>| {
            if b.is_some() {
                *a = b;
            }
        };
        pick(&mut self.input, later.input);
        pick(&mut self.output, later.output);
        pick(&mut self.cache_read, later.cache_read);
        pick(&mut self.cache_write, later.cache_write);
        pick(&mut self.write_5m, later.write_5m);
        pick(&mut self.write_1h, later.write_1h);
    }

    fn finish(&self) -> Result<TokenUsage, UsageError> {
        let uncached = self.input.ok_or(UsageError::Incomplete {
            provider: P,
            field: "usage.input_tokens",
        })?;
        let output = self.output.ok_or(UsageError::Incomplete {
            provider: P,
            field: "usage.output_tokens",
        })?;
        let cache_read = self.cache_read.unwrap_or(0);
        let split = match (self.write_5m, self.write_1h) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).checked_add(b.unwrap_or(0)).ok_or(
                UsageError::Overflow {
                    what: "cache_creation 5m + 1h",
                },
            )?),
        };
        // The total is authoritative; the split, when present, says how much of it is 1-hour.
        let cache_write = self.cache_write.or(split).unwrap_or(0);
        let input = uncached
            .checked_add(cache_read)
            .and_then(|s| s.checked_add(cache_write))
            .ok_or(UsageError::Overflow {
                what: "input_tokens + cache_read_input_tokens + cache_creation_input_tokens",
            })?;
        TokenUsage {
            input,
            output,
            cache_read,
            cache_write,
            cache_write_1h: self.write_1h.unwrap_or(0),
            reasoning: 0,
        }
        .validate()
    }
}

impl TokenUsage {
    /// Usage from an Anthropic Messages response, a `message_start` event, or a
    /// `message_delta` event (whose counts are cumulative). Input is normalised:
    /// `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`.
    ///
    /// ```
    /// let u = perf_llm::TokenUsage::from_anthropic(&serde_json::json!({
    ///     "type": "message", "usage": {"input_tokens": 10, "output_tokens": 3,
    ///     "cache_creation_input_tokens": 50,
    ///     "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 30}}
    /// })).unwrap();
    /// assert_eq!((u.input, u.cache_write, u.cache_write_1h), (60, 50, 30));
    /// ```
    pub fn from_anthropic(response: &Value) -> Result<TokenUsage, UsageError> {
        partial(response)?.finish()
    }
}

/// Merges a Messages stream's usage: `message_start` carries the input counts,
/// each `message_delta` carries cumulative counts (always `output_tokens`, and on newer API
/// versions the input and cache counts too). The last value of each count wins.
///
/// ```
/// use perf_llm::providers::anthropic::AnthropicStreamUsage;
/// use serde_json::json;
///
/// let mut acc = AnthropicStreamUsage::default();
/// acc.update(&json!({"type": "message_start", "message": {"usage": {
///     "input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1}}})).unwrap();
/// acc.update(&json!({"type": "content_block_delta", "delta": {"text": "hi"}})).unwrap();
/// acc.update(&json!({"type": "message_delta", "usage": {"output_tokens": 42}})).unwrap();
/// let u = acc.usage().unwrap().unwrap();
/// assert_eq!((u.input, u.cache_read, u.output), (100, 90, 42));
/// ```
#[derive(Debug, Clone, Default)]
pub struct AnthropicStreamUsage {
    acc: Partial,
    seen: bool,
}

impl AnthropicStreamUsage {
    /// Takes one stream event; events without usage are ignored. Returns whether the event
    /// carried usage.
    pub fn update(&mut self, event: &Value) -> Result<bool, UsageError> {
        match partial(event) {
            Ok(p) => {
                self.acc.merge(p);
                self.seen = true;
                Ok(true)
            }
            Err(UsageError::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The usage so far; `None` before any usage was seen, an error if counts are missing.
    pub fn usage(&self) -> Option<Result<TokenUsage, UsageError>> {
        self.seen.then(|| self.acc.finish())
    }
}

objects_only! {
    "Usage"
    /// `usage` of an Anthropic Messages response.
    ///
    /// ```
    /// let u: perf_llm::providers::anthropic::Usage = serde_json::from_str(
    ///     r#"{"input_tokens": 100, "cache_read_input_tokens": 5000,
    ///         "cache_creation_input_tokens": 1000, "output_tokens": 200}"#).unwrap();
    /// assert_eq!(perf_llm::TokenUsage::try_from(&u).unwrap().input, 6100);
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    pub struct Usage {
        /// Uncached input tokens.
        pub input_tokens: u64,
        /// Output tokens. Required, as [`TokenUsage::from_anthropic`] requires it: a usage
        /// without it would bill no output.
        pub output_tokens: u64,
        /// Input tokens written to the cache.
        #[serde(default)]
        pub cache_creation_input_tokens: Option<u64>,
        /// Input tokens read from the cache.
        #[serde(default)]
        pub cache_read_input_tokens: Option<u64>,
        /// The cache writes by lifetime.
        #[serde(default)]
        pub cache_creation: Option<CacheCreation>,
    }
}

objects_only! {
    "CacheCreation"
    /// `usage.cache_creation`: cache writes by lifetime.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    pub struct CacheCreation {
        /// Written with the 5-minute lifetime.
        #[serde(default)]
        pub ephemeral_5m_input_tokens: u64,
        /// Written with the 1-hour lifetime.
        #[serde(default)]
        pub ephemeral_1h_input_tokens: u64,
    }
}

impl TryFrom<&Usage> for TokenUsage {
    type Error = UsageError;
    fn try_from(u: &Usage) -> Result<Self, UsageError> {
        Partial {
            input: Some(u.input_tokens),
            output: Some(u.output_tokens),
            cache_read: u.cache_read_input_tokens,
            cache_write: u.cache_creation_input_tokens,
            write_5m: u
                .cache_creation
                .as_ref()
                .map(|c| c.ephemeral_5m_input_tokens),
            write_1h: u
                .cache_creation
                .as_ref()
                .map(|c| c.ephemeral_1h_input_tokens),
        }
        .finish()
    }
}

objects_only! {
    "Message"
    /// An Anthropic Messages response, reduced to what metering needs.
    ///
    /// ```
    /// use perf_llm::LlmResponse;
    /// let m: perf_llm::providers::anthropic::Message = serde_json::from_str(
    ///     r#"{"id": "msg_1", "model": "claude-sonnet-4-20250514",
    ///         "usage": {"input_tokens": 3, "output_tokens": 4}}"#).unwrap();
    /// assert_eq!(m.usage().unwrap().total(), 7);
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    pub struct Message {
        /// The message id.
        #[serde(default)]
        pub id: String,
        /// The model that answered.
        #[serde(default)]
        pub model: String,
        /// Token usage.
        pub usage: Usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_is_normalised_with_cache_reads_and_writes() {
        let v = json!({"type": "message", "usage": {"input_tokens": 100,
            "cache_read_input_tokens": 5000, "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400},
            "output_tokens": 200}});
        let u = TokenUsage::from_anthropic(&v).unwrap();
        assert_eq!(
            u,
            TokenUsage {
                input: 6100,
                output: 200,
                cache_read: 5000,
                cache_write: 1000,
                cache_write_1h: 400,
                reasoning: 0
            }
        );
        assert_eq!(u.uncached_input(), 100);
    }

    #[test]
    fn delta_alone_is_incomplete_but_merges_with_start() {
        let delta = json!({"type": "message_delta", "usage": {"output_tokens": 7}});
        assert!(matches!(
            TokenUsage::from_anthropic(&delta),
            Err(UsageError::Incomplete { .. })
        ));
        let mut acc = AnthropicStreamUsage::default();
        assert!(acc.usage().is_none());
        acc.update(&json!({"type": "message_start", "message": {"usage": {
            "input_tokens": 5, "cache_creation_input_tokens": 20, "output_tokens": 1}}}))
            .unwrap();
        acc.update(&json!({"type": "ping"})).unwrap();
        acc.update(&delta).unwrap();
        // Newer API versions repeat cumulative input counts on message_delta.
        acc.update(
            &json!({"type": "message_delta", "usage": {"input_tokens": 5,
            "cache_creation_input_tokens": 20, "output_tokens": 9}}),
        )
        .unwrap();
        let u = acc.usage().unwrap().unwrap();
        assert_eq!((u.input, u.cache_write, u.output), (25, 20, 9));
    }

    #[test]
    fn typed_message_and_from_anthropic_agree_on_missing_output() {
        let text = r#"{"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 3}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            TokenUsage::from_anthropic(&v),
            Err(UsageError::Incomplete {
                provider: P,
                field: "usage.output_tokens"
            })
        );
        let e = serde_json::from_str::<Message>(text).unwrap_err();
        assert!(
            e.to_string().contains("missing field `output_tokens`"),
            "{e}"
        );
    }

    #[test]
    fn overflowing_sum_is_an_error() {
        let v = json!({"usage": {"input_tokens": u64::MAX, "cache_read_input_tokens": 1,
            "output_tokens": 0}});
        assert!(matches!(
            TokenUsage::from_anthropic(&v),
            Err(UsageError::Overflow { .. })
        ));
    }

    #[test]
    fn split_larger_than_total_is_impossible() {
        let v = json!({"usage": {"input_tokens": 1, "output_tokens": 0,
            "cache_creation_input_tokens": 10,
            "cache_creation": {"ephemeral_1h_input_tokens": 11}}});
        assert!(matches!(
            TokenUsage::from_anthropic(&v),
            Err(UsageError::PartExceedsWhole { .. })
        ));
    }
}
