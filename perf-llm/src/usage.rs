//! Token usage of one call in one convention for every provider: `input` includes cached
//! input (as OpenTelemetry GenAI requires), so OpenAI's `prompt_tokens` and Anthropic's
//! `input_tokens + cache_*` land in the same field and cached tokens are never billed twice.

use serde_json::Value;

use crate::error::UsageError;

/// Tokens of one call, normalised.
///
/// Parts are contained in wholes: `cache_read + cache_write <= input`,
/// `cache_write_1h <= cache_write`, `reasoning <= output`. Every constructor checks this, so
/// the uncached input ([`TokenUsage::uncached_input`]) is never negative.
///
/// ```
/// use perf_llm::TokenUsage;
///
/// // Anthropic reports uncached input apart from cache reads and writes …
/// let a = TokenUsage::from_anthropic(&serde_json::json!({"usage": {
///     "input_tokens": 100, "cache_read_input_tokens": 5000,
///     "cache_creation_input_tokens": 1000, "output_tokens": 200}})).unwrap();
/// assert_eq!(a.input, 6100); // … perf-llm's input includes them.
/// assert_eq!(a.uncached_input(), 100);
///
/// // OpenAI's prompt_tokens already include cached tokens.
/// let o = TokenUsage::from_openai_chat(&serde_json::json!({"usage": {
///     "prompt_tokens": 2000, "completion_tokens": 300,
///     "prompt_tokens_details": {"cached_tokens": 1500}}})).unwrap();
/// assert_eq!((o.input, o.cache_read, o.uncached_input()), (2000, 1500, 500));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokenUsage {
    /// All input tokens, cached or not (OpenAI `prompt_tokens`; Anthropic
    /// `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`).
    pub input: u64,
    /// All output tokens, reasoning included.
    pub output: u64,
    /// Input tokens served from the provider's prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache (5-minute and 1-hour together).
    pub cache_write: u64,
    /// The part of `cache_write` written with a 1-hour lifetime (billed higher).
    pub cache_write_1h: u64,
    /// The part of `output` that was reasoning (billed as output unless priced apart).
    pub reasoning: u64,
}

impl TokenUsage {
    /// Usage from plain input/output counts, nothing cached.
    ///
    /// ```
    /// let u = perf_llm::TokenUsage::new(10, 5);
    /// assert_eq!(u.total(), 15);
    /// ```
    pub const fn new(input: u64, output: u64) -> Self {
        TokenUsage {
            input,
            output,
            cache_read: 0,
            cache_write: 0,
            cache_write_1h: 0,
            reasoning: 0,
        }
    }

    /// Checks that every part fits in its whole; returns the usage unchanged if so.
    ///
    /// ```
    /// let mut u = perf_llm::TokenUsage::new(10, 5);
    /// u.cache_read = 11;
    /// assert!(u.validate().is_err());
    /// ```
    pub fn validate(self) -> Result<Self, UsageError> {
        let cached = self
            .cache_read
            .checked_add(self.cache_write)
            .ok_or(UsageError::Overflow {
                what: "cache_read + cache_write",
            })?;
        part_of("cache_read + cache_write", cached, "input", self.input)?;
        part_of(
            "cache_write_1h",
            self.cache_write_1h,
            "cache_write",
            self.cache_write,
        )?;
        part_of("reasoning", self.reasoning, "output", self.output)?;
        self.input
            .checked_add(self.output)
            .ok_or(UsageError::Overflow {
                what: "input + output",
            })?;
        Ok(self)
    }

    /// Input tokens neither read from nor written to the prompt cache.
    pub const fn uncached_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cache_read)
            .saturating_sub(self.cache_write)
    }

    /// The part of `cache_write` with the 5-minute lifetime.
    pub const fn cache_write_5m(&self) -> u64 {
        self.cache_write.saturating_sub(self.cache_write_1h)
    }

    /// `input + output` (saturating; [`validate`](Self::validate) rules out overflow).
    pub const fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    /// Adds two usages field by field; an overflow is an error, not a wrap.
    ///
    /// ```
    /// use perf_llm::TokenUsage;
    /// let sum = TokenUsage::new(1, 2).checked_add(&TokenUsage::new(3, 4)).unwrap();
    /// assert_eq!(sum, TokenUsage::new(4, 6));
    /// assert!(TokenUsage::new(u64::MAX, 0).checked_add(&TokenUsage::new(1, 0)).is_err());
    /// ```
    pub fn checked_add(&self, other: &TokenUsage) -> Result<TokenUsage, UsageError> {
        let add = |a: u64, b: u64, what| a.checked_add(b).ok_or(UsageError::Overflow { what });
        TokenUsage {
            input: add(self.input, other.input, "input")?,
            output: add(self.output, other.output, "output")?,
            cache_read: add(self.cache_read, other.cache_read, "cache_read")?,
            cache_write: add(self.cache_write, other.cache_write, "cache_write")?,
            cache_write_1h: add(self.cache_write_1h, other.cache_write_1h, "cache_write_1h")?,
            reasoning: add(self.reasoning, other.reasoning, "reasoning")?,
        }
        .validate()
    }

    /// Usage from an OpenAI Chat Completions response, or the final chunk of a stream
    /// requested with `stream_options.include_usage` (earlier chunks have `"usage": null`
    /// and give [`UsageError::Missing`]). Accepts the whole response or its `usage` object.
    ///
    /// ```
    /// let u = perf_llm::TokenUsage::from_openai_chat(&serde_json::json!({
    ///     "usage": {"prompt_tokens": 12, "completion_tokens": 30,
    ///               "completion_tokens_details": {"reasoning_tokens": 20}}})).unwrap();
    /// assert_eq!((u.input, u.output, u.reasoning), (12, 30, 20));
    /// ```
    pub fn from_openai_chat(response: &Value) -> Result<TokenUsage, UsageError> {
        crate::providers::openai::chat_usage(response)
    }

    /// Usage from an OpenAI Responses API response (`input_tokens`, `output_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`), or
    /// its `response.completed` stream event.
    ///
    /// ```
    /// let u = perf_llm::TokenUsage::from_openai_responses(&serde_json::json!({
    ///     "usage": {"input_tokens": 100, "output_tokens": 5,
    ///               "input_tokens_details": {"cached_tokens": 64}}})).unwrap();
    /// assert_eq!((u.input, u.cache_read), (100, 64));
    /// ```
    pub fn from_openai_responses(response: &Value) -> Result<TokenUsage, UsageError> {
        crate::providers::openai::responses_usage(response)
    }

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
        crate::providers::anthropic::usage(response)
    }
}

fn part_of(part: &'static str, p: u64, whole: &'static str, w: u64) -> Result<(), UsageError> {
    if p > w {
        Err(UsageError::PartExceedsWhole {
            part,
            part_count: p,
            whole,
            whole_count: w,
        })
    } else {
        Ok(())
    }
}

/// Where a call's token usage came from. A stream that ended without a usage chunk is
/// `Missing`, never a silent zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageStatus {
    /// Counted by the provider.
    Reported(TokenUsage),
    /// Estimated locally (e.g. with a tokenizer); cost computed from it is an estimate too.
    Estimated(TokenUsage),
    /// Not known: no usage in the response, or the stream was dropped before it came.
    #[default]
    Missing,
}

impl UsageStatus {
    /// The usage, reported or estimated.
    pub fn usage(&self) -> Option<&TokenUsage> {
        match self {
            UsageStatus::Reported(u) | UsageStatus::Estimated(u) => Some(u),
            UsageStatus::Missing => None,
        }
    }

    /// `"reported"`, `"estimated"` or `"missing"`, as logged.
    pub fn as_str(&self) -> &'static str {
        match self {
            UsageStatus::Reported(_) => "reported",
            UsageStatus::Estimated(_) => "estimated",
            UsageStatus::Missing => "missing",
        }
    }
}

/// Reads the usage object: `v.usage`, `v.message.usage`, `v.response.usage`, or `v` itself
/// when it carries one of `marker`'s keys.
pub(crate) fn usage_object<'a>(
    v: &'a Value,
    provider: &'static str,
    markers: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, UsageError> {
    let Some(obj) = v.as_object() else {
        return Err(UsageError::NotAnObject {
            provider,
            field: "response",
            found: kind(v),
        });
    };
    if markers.iter().any(|m| obj.contains_key(*m)) {
        return Ok(obj);
    }
    for outer in ["message", "response"] {
        if let Some(u) = obj.get(outer).and_then(|m| m.get("usage")) {
            return as_usage_obj(u, provider);
        }
    }
    match obj.get("usage") {
        Some(u) => as_usage_obj(u, provider),
        None => Err(UsageError::Missing { provider }),
    }
}

fn as_usage_obj<'a>(
    u: &'a Value,
    provider: &'static str,
) -> Result<&'a serde_json::Map<String, Value>, UsageError> {
    match u {
        Value::Object(o) => Ok(o),
        Value::Null => Err(UsageError::Missing { provider }),
        other => Err(UsageError::NotAnObject {
            provider,
            field: "usage",
            found: kind(other),
        }),
    }
}

/// A count at `obj[key]`: absent or `null` is `None`; anything but a non-negative integer
/// that fits `u64` is an error naming `path`.
pub(crate) fn count(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    path: &'static str,
    provider: &'static str,
) -> Result<Option<u64>, UsageError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| UsageError::InvalidCount {
                provider,
                field: path,
                value: n.to_string(),
            }),
        Some(other) => Err(UsageError::InvalidCount {
            provider,
            field: path,
            value: truncate(other.to_string()),
        }),
    }
}

/// The object at `obj[key]`: absent or `null` is `None`.
pub(crate) fn sub_object<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &'static str,
    provider: &'static str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, UsageError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(UsageError::NotAnObject {
            provider,
            field: path,
            found: kind(other),
        }),
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_parts_larger_than_wholes() {
        let mut u = TokenUsage::new(100, 10);
        u.cache_read = 60;
        u.cache_write = 50;
        assert!(matches!(
            u.validate(),
            Err(UsageError::PartExceedsWhole {
                part: "cache_read + cache_write",
                ..
            })
        ));
        let mut u = TokenUsage::new(100, 10);
        u.reasoning = 11;
        assert!(u.validate().is_err());
        let mut u = TokenUsage::new(100, 10);
        u.cache_write = 5;
        u.cache_write_1h = 6;
        assert!(u.validate().is_err());
        let mut u = TokenUsage::new(100, 10);
        u.cache_read = u64::MAX;
        u.cache_write = 1;
        assert!(matches!(u.validate(), Err(UsageError::Overflow { .. })));
        assert!(TokenUsage::new(u64::MAX, 1).validate().is_err());
    }

    #[test]
    fn uncached_input_and_5m_writes() {
        let u = TokenUsage {
            input: 6100,
            output: 200,
            cache_read: 5000,
            cache_write: 1000,
            cache_write_1h: 400,
            reasoning: 0,
        };
        assert_eq!(u.uncached_input(), 100);
        assert_eq!(u.cache_write_5m(), 600);
        assert_eq!(u.total(), 6300);
    }
}
