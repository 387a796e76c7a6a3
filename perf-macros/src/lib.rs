//! Attribute macros of perf: `#[timed]` and `#[llm_call]`.
