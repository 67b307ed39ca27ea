//! Word-level instruction tokenizer. Its vocabulary comes from the simulator's instruction
//! templates and travels with the model in every checkpoint, so token ids never drift.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Id of the padding token (fills instructions shorter than the model's maximum).
pub const PAD_ID: u32 = 0;
/// Id of the unknown-word token.
pub const UNK_ID: u32 = 1;
/// Text of the padding token.
pub const PAD: &str = "[pad]";
/// Text of the unknown-word token.
pub const UNK: &str = "[unk]";

/// Maps instruction words to ids; unknown words become `[unk]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "TokenizerFile", into = "TokenizerFile")]
pub struct Tokenizer {
    words: Vec<String>,
    ids: HashMap<String, u32>,
}

/// On-disk form of a [`Tokenizer`]: just the ordered word list.
#[derive(Serialize, Deserialize)]
struct TokenizerFile {
    words: Vec<String>,
}

impl From<TokenizerFile> for Tokenizer {
    fn from(file: TokenizerFile) -> Self {
        Tokenizer::from_ordered(file.words)
    }
}

impl From<Tokenizer> for TokenizerFile {
    fn from(t: Tokenizer) -> Self {
        TokenizerFile { words: t.words }
    }
}

/// A tokenized instruction: ids padded to a fixed length, and which positions are real words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Token ids, `PAD_ID` past the end of the instruction.
    pub ids: Vec<u32>,
    /// `true` where `ids` holds a real word (or `[unk]`), `false` on padding.
    pub mask: Vec<bool>,
}

impl Tokenizer {
    /// Builds a tokenizer over `vocabulary` (order and duplicates do not matter; the special
    /// tokens come first).
    pub fn new<S: AsRef<str>>(vocabulary: impl IntoIterator<Item = S>) -> Self {
        let mut words: Vec<String> = vocabulary
            .into_iter()
            .flat_map(|w| split_words(w.as_ref()).collect::<Vec<_>>())
            .filter(|w| w != PAD && w != UNK)
            .collect();
        words.sort();
        words.dedup();
        let mut all = vec![PAD.to_string(), UNK.to_string()];
        all.extend(words);
        Tokenizer::from_ordered(all)
    }

    fn from_ordered(words: Vec<String>) -> Self {
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Tokenizer { words, ids }
    }

    /// Number of ids, special tokens included (the embedding table's size).
    pub fn vocab_size(&self) -> usize {
        self.words.len()
    }

    /// The word list, in id order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The word an id stands for.
    pub fn word(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or(UNK, String::as_str)
    }

    /// Tokenizes `text` to exactly `max_len` ids, truncating longer instructions.
    pub fn encode(&self, text: &str, max_len: usize) -> Tokens {
        let mut ids: Vec<u32> = split_words(text)
            .map(|w| self.ids.get(&w).copied().unwrap_or(UNK_ID))
            .take(max_len)
            .collect();
        let mut mask = vec![true; ids.len()];
        ids.resize(max_len, PAD_ID);
        mask.resize(max_len, false);
        Tokens { ids, mask }
    }
}

/// Lower-cases and splits on anything that is not a letter, digit or hyphen.
fn split_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '[' || c == ']'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_pads_and_masks() {
        let t = Tokenizer::new(["put the red block on the green pad"]);
        assert_eq!(t.vocab_size(), 2 + 7);
        let tokens = t.encode("Put the RED block, on the blue pad!", 10);
        assert_eq!(tokens.ids.len(), 10);
        assert_eq!(tokens.mask.iter().filter(|m| **m).count(), 8);
        assert_eq!(tokens.ids[6], UNK_ID, "'blue' is not in the vocabulary");
        assert_eq!(t.word(tokens.ids[2]), "red");
        assert_eq!(&tokens.ids[8..], &[PAD_ID, PAD_ID]);
    }

    #[test]
    fn truncates_long_instructions() {
        let t = Tokenizer::new(["a b c"]);
        let tokens = t.encode("a b c a b c", 4);
        assert_eq!(tokens.ids.len(), 4);
        assert!(tokens.mask.iter().all(|m| *m));
    }

    #[test]
    fn round_trips_through_json() {
        let t = Tokenizer::new(["push the t onto the target"]);
        let json = serde_json::to_string(&t).unwrap();
        let back: Tokenizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}
