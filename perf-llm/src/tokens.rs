//! Token counting and truncation with OpenAI's tiktoken encodings (feature `tiktoken`; the
//! encodings ship inside the `tiktoken-rs` crate, nothing is downloaded). Use it to estimate
//! a prompt's cost before sending, or to cut text to a context budget.

use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

/// A tiktoken encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, o-series.
    O200kBase,
    /// GPT-4, GPT-3.5, `text-embedding-3-*`.
    Cl100kBase,
    /// Older completion models.
    P50kBase,
    /// GPT-3.
    R50kBase,
}

impl Encoding {
    /// The encoding OpenAI uses for `model`, if tiktoken knows it.
    ///
    /// ```
    /// use perf_llm::tokens::Encoding;
    /// assert_eq!(Encoding::for_model("gpt-4o"), Some(Encoding::O200kBase));
    /// assert_eq!(Encoding::for_model("claude-sonnet-4"), None);
    /// ```
    pub fn for_model(model: &str) -> Option<Encoding> {
        let bare = model.rsplit('/').next().unwrap_or(model);
        Some(match get_tokenizer(bare)? {
            Tokenizer::O200kBase => Encoding::O200kBase,
            Tokenizer::Cl100kBase => Encoding::Cl100kBase,
            Tokenizer::P50kBase | Tokenizer::P50kEdit => Encoding::P50kBase,
            Tokenizer::R50kBase | Tokenizer::Gpt2 => Encoding::R50kBase,
        })
    }

    fn bpe(self) -> &'static CoreBPE {
        // The singletons build each encoding once per process (about 0.1 s for o200k).
        match self {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
            Encoding::P50kBase => tiktoken_rs::p50k_base_singleton(),
            Encoding::R50kBase => tiktoken_rs::r50k_base_singleton(),
        }
    }

    /// The number of tokens of `text` (special-token text counts as ordinary text).
    ///
    /// ```
    /// use perf_llm::tokens::Encoding;
    /// assert_eq!(Encoding::O200kBase.count("hello world"), 2);
    /// ```
    pub fn count(self, text: &str) -> usize {
        self.bpe().encode_ordinary(text).len()
    }

    /// The longest prefix of `text` of at most `max` tokens, ending on a character boundary.
    ///
    /// ```
    /// use perf_llm::tokens::Encoding;
    /// assert_eq!(Encoding::O200kBase.truncate("hello world, again", 2), "hello world");
    /// ```
    pub fn truncate(self, text: &str, max: usize) -> &str {
        let bpe = self.bpe();
        let tokens = bpe.encode_ordinary(text);
        if tokens.len() <= max {
            return text;
        }
        // A token's bytes are a slice of the text's bytes, so the decoded prefix is a prefix
        // of `text`; it may end inside a multi-byte character, which is cut off.
        let len: usize = bpe
            ._decode_native_and_split(tokens[..max].to_vec())
            .map(|bytes| bytes.len())
            .sum();
        let mut len = len.min(text.len());
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        &text[..len]
    }
}

/// `model` has no known tiktoken encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no tiktoken encoding for model `{model}`; use an Encoding directly (for Claude or Gemini models, Encoding::O200kBase gives an estimate, not their count)")]
pub struct UnknownEncoding {
    /// The model asked for.
    pub model: String,
}

fn encoding(model: &str) -> Result<Encoding, UnknownEncoding> {
    Encoding::for_model(model).ok_or_else(|| UnknownEncoding {
        model: model.to_owned(),
    })
}

/// The number of tokens of `text` for `model`.
///
/// ```
/// assert_eq!(perf_llm::tokens::count_tokens("hello world", "gpt-4o").unwrap(), 2);
/// assert!(perf_llm::tokens::count_tokens("hi", "no-such-model").is_err());
/// ```
pub fn count_tokens(text: &str, model: &str) -> Result<usize, UnknownEncoding> {
    Ok(encoding(model)?.count(text))
}

/// The longest prefix of `text` that is at most `max` tokens for `model`.
///
/// ```
/// let t = perf_llm::tokens::truncate_to_tokens("one two three four", 2, "gpt-4o").unwrap();
/// assert_eq!(t, "one two");
/// ```
pub fn truncate_to_tokens<'a>(
    text: &'a str,
    max: usize,
    model: &str,
) -> Result<&'a str, UnknownEncoding> {
    Ok(encoding(model)?.truncate(text, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_budget_and_char_boundaries() {
        let text = "naïve café — 東京タワー 🚀🚀🚀 done";
        let e = Encoding::O200kBase;
        let n = e.count(text);
        assert!(n > 5);
        for max in 0..=n + 1 {
            let t = e.truncate(text, max);
            assert!(text.starts_with(t));
            assert!(e.count(t) <= max, "max {max}: {t:?}");
        }
        assert_eq!(e.truncate(text, n), text);
        assert_eq!(e.truncate(text, 0), "");
    }

    #[test]
    fn model_names_map_to_encodings() {
        assert_eq!(
            Encoding::for_model("openai/gpt-4o-mini"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(Encoding::for_model("gpt-4"), Some(Encoding::Cl100kBase));
        assert_eq!(
            Encoding::for_model("text-embedding-3-small"),
            Some(Encoding::Cl100kBase)
        );
    }
}
