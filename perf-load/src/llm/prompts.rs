//! The prompts a benchmark sends: read from a JSONL file, or synthetic with a given length
//! in tokens (like vLLM's `random` dataset, different words per prompt so a prefix cache
//! cannot serve them).

use std::path::Path;

use serde_json::{json, Value};

use crate::llm::error::LlmError;

/// One prompt: the chat `messages`, and its own `max_tokens` if it sets one.
///
/// ```
/// use perf_load::llm::Prompt;
/// let p = Prompt::user("Why is the sky blue?");
/// assert_eq!(p.messages[0]["role"], "user");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The `messages` array of the request.
    pub messages: Value,
    /// This prompt's `max_tokens`, overriding the benchmark's.
    pub max_tokens: Option<u32>,
}

impl Prompt {
    /// A prompt of one user message.
    pub fn user(text: impl Into<String>) -> Self {
        Prompt {
            messages: json!([{"role": "user", "content": text.into()}]),
            max_tokens: None,
        }
    }
}

/// Prompts from JSONL text: one object per line, `{"prompt": "…"}` or
/// `{"messages": [...]}`, with an optional `"max_tokens"`. Blank lines are skipped.
///
/// ```
/// let p = perf_load::llm::prompts_from_jsonl(
///     "{\"prompt\": \"hi\", \"max_tokens\": 16}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"yo\"}]}\n",
/// ).unwrap();
/// assert_eq!((p.len(), p[0].max_tokens), (2, Some(16)));
/// assert!(perf_load::llm::prompts_from_jsonl("{\"prompt\": 3}").is_err());
/// ```
pub fn prompts_from_jsonl(text: &str) -> Result<Vec<Prompt>, LlmError> {
    let mut prompts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| LlmError::BadPrompt {
            line: i + 1,
            reason,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let messages = match (v.get("prompt"), v.get("messages")) {
            (Some(Value::String(p)), None) => json!([{"role": "user", "content": p}]),
            (None, Some(m @ Value::Array(a))) if !a.is_empty() => m.clone(),
            (Some(_), Some(_)) => return Err(bad("both \"prompt\" and \"messages\"".into())),
            (Some(_), None) => return Err(bad("\"prompt\" is not a string".into())),
            (None, Some(_)) => return Err(bad("\"messages\" is not a non-empty array".into())),
            (None, None) => return Err(bad("neither \"prompt\" nor \"messages\"".into())),
        };
        let max_tokens = match v.get("max_tokens") {
            None | Some(Value::Null) => None,
            Some(n) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n > 0 => Some(n),
                _ => return Err(bad(format!("\"max_tokens\" is {n}, not a count from 1"))),
            },
        };
        prompts.push(Prompt {
            messages,
            max_tokens,
        });
    }
    if prompts.is_empty() {
        return Err(LlmError::NoPrompts);
    }
    Ok(prompts)
}

/// Prompts from a JSONL file; see [`prompts_from_jsonl`].
pub fn prompts_from_file(path: impl AsRef<Path>) -> Result<Vec<Prompt>, LlmError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| LlmError::PromptFile {
        path: path.display().to_string(),
        source,
    })?;
    prompts_from_jsonl(&text)
}

// Common English words that each encode as one token (with their leading space) in the
// GPT and Llama tokenizers, so `n` words make a prompt of about `n` tokens.
const WORDS: [&str; 32] = [
    "time", "year", "people", "way", "day", "man", "thing", "woman", "life", "child", "world",
    "school", "state", "family", "student", "group", "country", "problem", "hand", "part", "place",
    "case", "week", "company", "system", "program", "question", "work", "number", "night", "point",
    "home",
];

/// `count` different prompts of about `input_tokens` tokens each: words drawn by a fixed
/// pseudo-random sequence, seeded by the prompt's index, so runs are repeatable and no two
/// prompts share a long prefix.
///
/// ```
/// let p = perf_load::llm::synthetic_prompts(2, 512);
/// let words = p[0].messages[0]["content"].as_str().unwrap().split(' ').count();
/// assert_eq!(words, 512);
/// assert_ne!(p[0], p[1]);
/// ```
pub fn synthetic_prompts(count: usize, input_tokens: usize) -> Vec<Prompt> {
    (0..count)
        .map(|i| {
            // SplitMix64: a well-mixed sequence from any seed, with no dependency.
            let mut state = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut next = move || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            let text: Vec<&str> = (0..input_tokens)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect();
            Prompt::user(text.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_name_their_number() {
        let e = prompts_from_jsonl("{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"max_tokens\": 0}")
            .unwrap_err();
        assert!(matches!(e, LlmError::BadPrompt { line: 2, .. }), "{e}");
        let e = prompts_from_jsonl("not json").unwrap_err();
        assert!(matches!(e, LlmError::BadPrompt { line: 1, .. }), "{e}");
        assert!(matches!(
            prompts_from_jsonl("\n  \n"),
            Err(LlmError::NoPrompts)
        ));
        assert!(matches!(
            prompts_from_jsonl("{\"messages\": []}"),
            Err(LlmError::BadPrompt { line: 1, .. })
        ));
    }

    #[test]
    fn synthetic_prompts_repeat_across_runs() {
        assert_eq!(synthetic_prompts(3, 8), synthetic_prompts(3, 8));
        assert_eq!(synthetic_prompts(0, 8), vec![]);
        assert_eq!(
            synthetic_prompts(1, 0)[0].messages[0]["content"].as_str(),
            Some("")
        );
    }
}
