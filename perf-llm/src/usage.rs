//! Token usage of one call in one convention for every provider: `input` includes cached
//! input (as OpenTelemetry GenAI requires), so OpenAI's `prompt_tokens` and Anthropic's
//! `input_tokens + cache_*` land in the same field and cached tokens are never billed twice.

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
