//! The labelled corpus of subscriber messages and its deterministic train / held-out split.
//!
//! `corpus/messages.tsv` has a header line and two tab-separated columns: `intent`, `text`. A
//! message belongs to the held-out part when a stable hash of its text falls in the lowest
//! [`HELD_OUT_PERCENT`] buckets; only the train part feeds the built-in examples.

use serde::{Deserialize, Serialize};

use crate::intent::Intent;

/// Share of the corpus (by hash bucket, 0..100) kept out of the matcher for evaluation.
pub const HELD_OUT_PERCENT: u64 = 35;

const BUILTIN_TSV: &str = include_str!("../corpus/messages.tsv");

/// One message and the intent it should get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledMessage {
    pub intent: Intent,
    pub text: String,
}

/// A line of the corpus that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorpusError {
    #[error("linha {line}: esperado \"intenção<TAB>texto\"")]
    MissingColumn { line: usize },
    #[error("linha {line}: intenção desconhecida {name:?}")]
    UnknownIntent { line: usize, name: String },
}

/// Reads `intent<TAB>text` lines. Skips blank lines, `#` comments and an `intent<TAB>text` header.
pub fn parse_corpus(tsv: &str) -> Result<Vec<LabelledMessage>, CorpusError> {
    let mut messages = Vec::new();
    for (index, line) in tsv.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() || line.starts_with('#') || line == "intent\ttext" {
            continue;
        }
        let (name, text) = line
            .split_once('\t')
            .ok_or(CorpusError::MissingColumn { line: line_number })?;
        let intent = name.parse().map_err(|_| CorpusError::UnknownIntent {
            line: line_number,
            name: name.to_owned(),
        })?;
        messages.push(LabelledMessage {
            intent,
            text: text.to_owned(),
        });
    }
    Ok(messages)
}

/// The corpus shipped in the crate (`corpus/messages.tsv`).
pub fn builtin_corpus() -> Vec<LabelledMessage> {
    // The file is part of the crate and checked by a test, so a parse error cannot ship.
    parse_corpus(BUILTIN_TSV).unwrap_or_default()
}

/// FNV-1a over the text's bytes: stable across platforms, runs and Rust versions.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether this text belongs to the held-out part (never used to build a matcher).
pub fn is_held_out(text: &str) -> bool {
    stable_hash(text) % 100 < HELD_OUT_PERCENT
}

/// The corpus divided by [`is_held_out`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorpusSplit {
    pub train: Vec<LabelledMessage>,
    pub held_out: Vec<LabelledMessage>,
}

pub fn split_corpus(messages: Vec<LabelledMessage>) -> CorpusSplit {
    let (held_out, train) = messages
        .into_iter()
        .partition(|message| is_held_out(&message.text));
    CorpusSplit { train, held_out }
}

/// Train and held-out parts of [`builtin_corpus`].
pub fn builtin_split() -> CorpusSplit {
    split_corpus(builtin_corpus())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_corpus_parses_completely() {
        let lines = BUILTIN_TSV
            .lines()
            .filter(|line| !line.trim().is_empty() && *line != "intent\ttext")
            .count();
        let parsed = parse_corpus(BUILTIN_TSV).expect("corpus parses");
        assert_eq!(parsed.len(), lines);
        assert!(parsed.len() >= 400, "corpus has {} messages", parsed.len());
    }

    #[test]
    fn split_keeps_at_least_thirty_percent_out_and_is_stable() {
        let split = builtin_split();
        let total = split.train.len() + split.held_out.len();
        assert!(split.held_out.len() * 10 >= total * 3);
        assert!(split.train.iter().all(|m| !is_held_out(&m.text)));
        assert_eq!(builtin_split(), split);
        assert_eq!(stable_hash("segunda via"), stable_hash("segunda via"));
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(
            parse_corpus("invoice segunda via"),
            Err(CorpusError::MissingColumn { line: 1 })
        );
        assert_eq!(
            parse_corpus("# c\nboleto\tsegunda via"),
            Err(CorpusError::UnknownIntent {
                line: 2,
                name: "boleto".into()
            })
        );
    }
}
