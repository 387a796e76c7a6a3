//! What a response tells the meter: the [`LlmResponse`] trait, implemented for the provider
//! types and for `serde_json::Value`, whose provider is recognised by the shape of its usage.

use serde_json::Value;

use crate::error::UsageError;
use crate::providers::{anthropic, openai};
use crate::usage::TokenUsage;

/// What a response type tells the meter: its usage and the model that answered.
/// Implemented for the provider types in [`providers`](crate::providers) and for
/// `serde_json::Value` (the provider is recognised by the usage's shape). This is what
/// `#[llm_call]` calls on the function's return value.
///
/// ```
/// use perf_llm::LlmResponse;
/// let v = serde_json::json!({"id": "msg_1", "type": "message", "model": "claude-3-5-haiku",
///     "usage": {"input_tokens": 10, "output_tokens": 2}});
/// assert_eq!(v.model(), Some("claude-3-5-haiku"));
/// assert_eq!(v.provider(), Some("anthropic"));
/// assert_eq!(v.usage().unwrap().input, 10);
/// ```
pub trait LlmResponse {
    /// The token usage the provider reported.
    fn usage(&self) -> Result<TokenUsage, UsageError>;
    /// The model that answered, if the response says.
    fn model(&self) -> Option<&str>;
    /// The provider's id for this response.
    fn request_id(&self) -> Option<&str> {
        None
    }
    /// The provider, if the response type implies one.
    fn provider(&self) -> Option<&'static str> {
        None
    }
}

impl<T: LlmResponse + ?Sized> LlmResponse for &T {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        (**self).usage()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn request_id(&self) -> Option<&str> {
        (**self).request_id()
    }
    fn provider(&self) -> Option<&'static str> {
        (**self).provider()
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl LlmResponse for openai::ChatCompletion {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        match &self.usage {
            Some(u) => TokenUsage::try_from(u),
            None => Err(UsageError::Missing {
                provider: "openai chat",
            }),
        }
    }
    fn model(&self) -> Option<&str> {
        non_empty(&self.model)
    }
    fn request_id(&self) -> Option<&str> {
        non_empty(&self.id)
    }
    fn provider(&self) -> Option<&'static str> {
        Some("openai")
    }
}

impl LlmResponse for anthropic::Message {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        TokenUsage::try_from(&self.usage)
    }
    fn model(&self) -> Option<&str> {
        non_empty(&self.model)
    }
    fn request_id(&self) -> Option<&str> {
        non_empty(&self.id)
    }
    fn provider(&self) -> Option<&'static str> {
        Some("anthropic")
    }
}

/// The usage shape of a JSON response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
}

fn shape(v: &Value) -> Option<Shape> {
    let inner = v.get("response").filter(|r| r.is_object()).unwrap_or(v);
    let inner = inner
        .get("message")
        .filter(|m| m.is_object())
        .unwrap_or(inner);
    let u = inner
        .get("usage")
        .filter(|u| u.is_object())
        .unwrap_or(inner);
    if u.get("prompt_tokens").is_some() {
        Some(Shape::OpenAiChat)
    } else if u.get("input_tokens_details").is_some()
        || u.get("output_tokens_details").is_some()
        || inner.get("object").and_then(Value::as_str) == Some("response")
    {
        Some(Shape::OpenAiResponses)
    } else if u.get("input_tokens").is_some() || u.get("output_tokens").is_some() {
        Some(Shape::Anthropic)
    } else {
        None
    }
}

impl LlmResponse for Value {
    fn usage(&self) -> Result<TokenUsage, UsageError> {
        match shape(self) {
            Some(Shape::OpenAiChat) => TokenUsage::from_openai_chat(self),
            Some(Shape::OpenAiResponses) => TokenUsage::from_openai_responses(self),
            Some(Shape::Anthropic) => TokenUsage::from_anthropic(self),
            None => Err(UsageError::Missing { provider: "json" }),
        }
    }
    fn model(&self) -> Option<&str> {
        self.get("model")
            .or_else(|| self.get("response").and_then(|r| r.get("model")))
            .or_else(|| self.get("message").and_then(|r| r.get("model")))
            .and_then(Value::as_str)
    }
    fn request_id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }
    fn provider(&self) -> Option<&'static str> {
        match shape(self)? {
            Shape::OpenAiChat | Shape::OpenAiResponses => Some("openai"),
            Shape::Anthropic => Some("anthropic"),
        }
    }
}
