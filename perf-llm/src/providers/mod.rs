//! The providers' response shapes: serde types for users who deserialize responses, and the
//! parsers behind [`TokenUsage::from_openai_chat`](crate::TokenUsage::from_openai_chat) and
//! friends, which read `serde_json::Value` and name the field that is wrong.

pub mod anthropic;
pub(crate) mod json;
pub mod openai;
