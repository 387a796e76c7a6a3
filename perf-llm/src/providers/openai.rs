//! OpenAI's Chat Completions and Responses usage shapes. `prompt_tokens` / `input_tokens`
//! already include `cached_tokens`, and `completion_tokens` include `reasoning_tokens`.

use serde::Serialize;
use serde_json::Value;

use crate::error::UsageError;
use crate::providers::json::{count, nested_count, objects_only, usage_object};
use crate::usage::TokenUsage;

/// Where one OpenAI API puts its counts: each key, with the path an error names.
struct Fields {
    provider: &'static str,
    input: (&'static str, &'static str),
    output: (&'static str, &'static str),
    input_details: (&'static str, &'static str),
    cached: (&'static str, &'static str),
    output_details: (&'static str, &'static str),
    reasoning: (&'static str, &'static str),
}

// The two APIs name the same counts differently; one reader serves both.
const CHAT: Fields = Fields {
    provider: "openai chat",
    input: ("prompt_tokens", "usage.prompt_tokens"),
    output: ("completion_tokens", "usage.completion_tokens"),
    input_details: ("prompt_tokens_details", "usage.prompt_tokens_details"),
    cached: ("cached_tokens", "usage.prompt_tokens_details.cached_tokens"),
    output_details: (
        "completion_tokens_details",
        "usage.completion_tokens_details",
    ),
    reasoning: (
        "reasoning_tokens",
        "usage.completion_tokens_details.reasoning_tokens",
    ),
};

const RESPONSES: Fields = Fields {
    provider: "openai responses",
    input: ("input_tokens", "usage.input_tokens"),
    output: ("output_tokens", "usage.output_tokens"),
    input_details: ("input_tokens_details", "usage.input_tokens_details"),
    cached: ("cached_tokens", "usage.input_tokens_details.cached_tokens"),
    output_details: ("output_tokens_details", "usage.output_tokens_details"),
    reasoning: (
        "reasoning_tokens",
        "usage.output_tokens_details.reasoning_tokens",
    ),
};

impl TokenUsage {
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
        read(response, &CHAT)
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
        read(response, &RESPONSES)
    }
}

fn read(v: &Value, f: &Fields) -> Result<TokenUsage, UsageError> {
    let p = f.provider;
    let u = usage_object(v, p, &[f.input.0, f.output.0])?;
    let input = count(u, f.input.0, f.input.1, p)?;
    let output = count(u, f.output.0, f.output.1, p)?;
    let Some(input) = input else {
        return Err(UsageError::Missing { provider: p });
    };
    let cached = nested_count(u, f.input_details, f.cached, p)?;
    let reasoning = nested_count(u, f.output_details, f.reasoning, p)?;
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

objects_only! {
    "ChatUsage"
    /// `usage` of a Chat Completions response or of the final stream chunk.
    ///
    /// ```
    /// let u: perf_llm::providers::openai::ChatUsage = serde_json::from_str(
    ///     r#"{"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}"#).unwrap();
    /// assert_eq!(perf_llm::TokenUsage::try_from(&u).unwrap().input, 9);
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
}

objects_only! {
    "PromptTokensDetails"
    /// `usage.prompt_tokens_details`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    pub struct PromptTokensDetails {
        /// Prompt tokens served from the prompt cache.
        #[serde(default)]
        pub cached_tokens: Option<u64>,
        /// Audio prompt tokens.
        #[serde(default)]
        pub audio_tokens: Option<u64>,
    }
}

objects_only! {
    "CompletionTokensDetails"
    /// `usage.completion_tokens_details`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    pub struct CompletionTokensDetails {
        /// Reasoning tokens (part of `completion_tokens`).
        #[serde(default)]
        pub reasoning_tokens: Option<u64>,
        /// Audio completion tokens.
        #[serde(default)]
        pub audio_tokens: Option<u64>,
    }
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

objects_only! {
    "ChatCompletion"
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
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
}

/// One chunk of a streamed Chat Completion; only the last (with `include_usage`) has usage.
pub type ChatCompletionChunk = ChatCompletion;

objects_only! {
    "ResponsesUsage"
    /// `usage` of a Responses API response.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
        let u = TokenUsage::from_openai_chat(&v).unwrap();
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
        assert_eq!(
            TokenUsage::from_openai_chat(&v),
            Err(UsageError::Missing {
                provider: CHAT.provider
            })
        );
        assert!(matches!(
            TokenUsage::from_openai_chat(&json!({})),
            Err(UsageError::Missing { .. })
        ));
    }

    #[test]
    fn bad_counts_name_the_field() {
        let e = TokenUsage::from_openai_chat(
            &json!({"usage": {"prompt_tokens": -3, "completion_tokens": 1}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("usage.prompt_tokens"), "{e}");
        let e =
            TokenUsage::from_openai_chat(&json!({"usage": {"prompt_tokens": 3.5}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e =
            TokenUsage::from_openai_chat(&json!({"usage": {"prompt_tokens": 1e30}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e =
            TokenUsage::from_openai_chat(&json!({"usage": {"prompt_tokens": "12"}})).unwrap_err();
        assert!(matches!(e, UsageError::InvalidCount { .. }));
        let e = TokenUsage::from_openai_chat(&json!({"usage": {"prompt_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 11}}}))
        .unwrap_err();
        assert!(matches!(e, UsageError::PartExceedsWhole { .. }), "{e}");
        let e = TokenUsage::from_openai_chat(&json!({"usage": [1]})).unwrap_err();
        assert!(matches!(e, UsageError::NotAnObject { .. }));
    }

    /// serde's derived structs also read a JSON array positionally, so `{"usage": [1, 2]}`
    /// billed 1 input and 2 output tokens. Every typed struct must read objects only.
    #[test]
    fn typed_structs_refuse_arrays() {
        use crate::providers::anthropic;
        fn refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) {
            match serde_json::from_str::<T>(text) {
                Ok(v) => panic!("{text} read as {v:?}"),
                Err(e) => assert!(
                    e.to_string().contains("invalid type: sequence"),
                    "{text}: {e}"
                ),
            }
        }
        refused::<ChatCompletion>(r#"{"usage": [1, 2]}"#);
        refused::<ChatCompletion>(r#"["id", "gpt-4o", {"prompt_tokens": 1}]"#);
        refused::<ChatUsage>("[1, 2, 3]");
        refused::<ChatUsage>(r#"{"prompt_tokens": 1, "prompt_tokens_details": [5]}"#);
        refused::<ChatUsage>(r#"{"prompt_tokens": 9, "completion_tokens_details": [5]}"#);
        refused::<PromptTokensDetails>("[5, 0]");
        refused::<CompletionTokensDetails>("[5]");
        refused::<ResponsesUsage>("[1, 2]");
        refused::<anthropic::Message>(r#"{"usage": [1, 2]}"#);
        refused::<anthropic::Message>(r#"["id", "m", {"input_tokens": 1, "output_tokens": 2}]"#);
        refused::<anthropic::Usage>("[1, 2]");
        refused::<anthropic::Usage>(
            r#"{"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 3, "cache_creation": [1, 2]}"#,
        );
        refused::<anthropic::CacheCreation>("[1, 2]");
        // Objects still read, and serialize back to objects.
        let c: ChatCompletion =
            serde_json::from_str(r#"{"usage": {"prompt_tokens": 1, "completion_tokens": 2}}"#)
                .unwrap();
        assert_eq!(c.usage.as_ref().map(|u| u.completion_tokens), Some(2));
        assert!(serde_json::to_value(&c).unwrap()["usage"].is_object());
    }

    #[test]
    fn responses_usage_and_typed_forms_agree() {
        let v = json!({"type": "response.completed", "response": {"usage": {
            "input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
            "input_tokens_details": {"cached_tokens": 64},
            "output_tokens_details": {"reasoning_tokens": 30}}}});
        let u = TokenUsage::from_openai_responses(&v).unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.reasoning),
            (100, 50, 64, 30)
        );
        let typed: ResponsesUsage = serde_json::from_value(v["response"]["usage"].clone()).unwrap();
        assert_eq!(TokenUsage::try_from(&typed).unwrap(), u);
    }
}
