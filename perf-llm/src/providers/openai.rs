//! OpenAI's Chat Completions and Responses usage shapes. `prompt_tokens` / `input_tokens`
//! already include `cached_tokens`, and `completion_tokens` include `reasoning_tokens`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::UsageError;
use crate::usage::{count, sub_object, usage_object, TokenUsage};

const CHAT: &str = "openai chat";
const RESPONSES: &str = "openai responses";

pub(crate) fn chat_usage(v: &Value) -> Result<TokenUsage, UsageError> {
    let u = usage_object(v, CHAT, &["prompt_tokens", "completion_tokens"])?;
    let input = count(u, "prompt_tokens", "usage.prompt_tokens", CHAT)?;
    let output = count(u, "completion_tokens", "usage.completion_tokens", CHAT)?;
    let (Some(input), output) = (input, output) else {
        return Err(UsageError::Missing { provider: CHAT });
    };
    let cached = match sub_object(
        u,
        "prompt_tokens_details",
        "usage.prompt_tokens_details",
        CHAT,
    )? {
        Some(d) => count(
            d,
            "cached_tokens",
            "usage.prompt_tokens_details.cached_tokens",
            CHAT,
        )?,
        None => None,
    };
    let reasoning = match sub_object(
        u,
        "completion_tokens_details",
        "usage.completion_tokens_details",
        CHAT,
    )? {
        Some(d) => count(
            d,
            "reasoning_tokens",
            "usage.completion_tokens_details.reasoning_tokens",
            CHAT,
        )?,
        None => None,
    };
    TokenUsage {
        input,
        // Embeddings responses have prompt_tokens and no completion_tokens.
        output: output.unwrap_or(0),
        cache_read: cached.unwrap_or(0),
        cache_write: 0,
        cache_write_1h: 0,
        reasoning: reasoning.unwrap_or(0),
    }
    .validate()
}

pub(crate) fn responses_usage(v: &Value) -> Result<TokenUsage, UsageError> {
    let u = usage_object(v, RESPONSES, &["input_tokens", "output_tokens"])?;
    let input = count(u, "input_tokens", "usage.input_tokens", RESPONSES)?;
    let output = count(u, "output_tokens", "usage.output_tokens", RESPONSES)?;
    let Some(input) = input else {
        return Err(UsageError::Missing {
            provider: RESPONSES,
        });
    };
    let cached = match sub_object(
        u,
        "input_tokens_details",
        "usage.input_tokens_details",
        RESPONSES,
    )? {
        Some(d) => count(
            d,
            "cached_tokens",
            "usage.input_tokens_details.cached_tokens",
            RESPONSES,
        )?,
        None => None,
    };
    let reasoning = match sub_object(
        u,
        "output_tokens_details",
        "usage.output_tokens_details",
        RESPONSES,
    )? {
        Some(d) => count(
            d,
            "reasoning_tokens",
            "usage.output_tokens_details.reasoning_tokens",
            RESPONSES,
        )?,
        None => None,
    };
    TokenUsage {
        input,
        output: output.unwrap_or(0),
        cache_read: cached.unwrap_or(0),
        cache_write: 0,
        cache_write_1h: 0,
        reasoning: reasoning.unwrap_or(0),
    }
    .validate()
}

/// `usage` of a Chat Completions response or of the final stream chunk.
///
/// ```
/// let u: perf_llm::providers::openai::ChatUsage = serde_json::from_str(
///     r#"{"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}"#).unwrap();
/// assert_eq!(perf_llm::TokenUsage::try_from(&u).unwrap().input, 9);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatUsage {
    /// All prompt tokens, cached included.
    pub prompt_tokens: u64,
    /// All completion tokens, reasoning included.
    #[serde(default)]
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
    /// Breakdown of the prompt tokens.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the completion tokens.
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    /// Prompt tokens served from the prompt cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Audio prompt tokens.
    #[serde(default)]
    pub audio_tokens: Option<u64>,
}

/// `usage.completion_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    /// Reasoning tokens (part of `completion_tokens`).
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
    /// Audio completion tokens.
    #[serde(default)]
    pub audio_tokens: Option<u64>,
}

impl TryFrom<&ChatUsage> for TokenUsage {
    type Error = UsageError;
    fn try_from(u: &ChatUsage) -> Result<Self, UsageError> {
        TokenUsage {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cache_read: u
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: 0,
            cache_write_1h: 0,
            reasoning: u
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
        .validate()
    }
}

/// A Chat Completions response, reduced to what metering needs (other fields are ignored).
///
/// ```
/// use perf_llm::LlmResponse;
/// let r: perf_llm::providers::openai::ChatCompletion = serde_json::from_str(
///     r#"{"id": "chatcmpl-1", "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}"#,
/// ).unwrap();
/// assert_eq!(r.model(), Some("gpt-4o"));
/// assert_eq!(r.usage().unwrap().output, 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// The response id.
    #[serde(default)]
    pub id: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// Token usage (absent on streamed chunks other than the last).
    #[serde(default)]
    pub usage: Option<ChatUsage>,
}

/// One chunk of a streamed Chat Completion; only the last (with `include_usage`) has usage.
pub type ChatCompletionChunk = ChatCompletion;

/// `usage` of a Responses API response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsesUsage {
    /// All input tokens, cached included.
    pub input_tokens: u64,
    /// All output tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
    /// Breakdown of the input tokens.
    #[serde(default)]
    pub input_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the output tokens.
    #[serde(default)]
    pub output_tokens_details: Option<CompletionTokensDetails>,
}

impl TryFrom<&ResponsesUsage> for TokenUsage {
    type Error = UsageError;
    fn try_from(u: &ResponsesUsage) -> Result<Self, UsageError> {
        TokenUsage::try_from(&ChatUsage {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
            prompt_tokens_details: u.input_tokens_details.clone(),
            completion_tokens_details: u.output_tokens_details.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_usage_reads_cached_and_reasoning() {
        let v = json!({"id": "x", "choices": [], "usage": {
            "prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1500, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 100}}});
        let u = chat_usage(&v).unwrap();
        assert_eq!(
            u,
            TokenUsage {
                input: 2000,
                output: 300,
                cache_read: 1500,
                cache_write: 0,
                cache_write_1h: 0,
                reasoning: 100
            }
        );
    }

    #[test]
    fn stream_chunk_without_usage_is_missing() {
        let v = json!({"choices": [{"delta": {"content": "hi"}}], "usage": null});
        assert_eq!(chat_usage(&v), Err(UsageError::Missing { provider: CHAT }));
        assert!(matches!(
            chat_usage(&json!({})),
            Err(UsageError::Missing { .. })
        ));
    }

    #[test]
    fn bad_counts_name_the_field() {
        let e = chat_usage(&json!({"usage": {"prompt_tokens": -3, "completion_tokens": 1}}))
            .unwrap_err();
        assert!(e.to_string().contains("usage.prompt_tokens"), "{e}");
        let e = chat_usage(&json!({"usage": {"prompt_tokens": 3.5}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e = chat_usage(&json!({"usage": {"prompt_tokens": 1e30}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e = chat_usage(&json!({"usage": {"prompt_tokens": "12"}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e = chat_usage(&json!({"usage": {"prompt_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 11}}}))
        .unwrap_err();
        assert!(matches!(e, UsageError::PartExceedsWhole { .. }), "{e}");
        let e = chat_usage(&json!({"usage": [1]})).unwrap_err();
        assert!(matches!(e, UsageError::NotAnObject { .. }));
    }

    #[test]
    fn responses_usage_and_typed_forms_agree() {
        let v = json!({"type": "response.completed", "response": {"usage": {
            "input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
            "input_tokens_details": {"cached_tokens": 64},
            "output_tokens_details": {"reasoning_tokens": 30}}}});
        let u = responses_usage(&v).unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.reasoning),
            (100, 50, 64, 30)
        );
        let typed: ResponsesUsage = serde_json::from_value(v["response"]["usage"].clone()).unwrap();
        assert_eq!(TokenUsage::try_from(&typed).unwrap(), u);
    }
}
