//! Keyword parsing and matching: phrases whose words may be separated by stopwords, `stem*`
//! prefixes, `part + part` combinations, and typo-tolerant word comparison.

use std::collections::HashMap;

use crate::fuzzy::{allowed_edits, bounded_distance};
use crate::intent::Intent;
use crate::normalize::{is_common_word, is_stopword, tokens};

/// A word of a keyword.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum WordPattern {
    Exact(String),
    Prefix(String),
}

impl WordPattern {
    fn display(&self) -> String {
        match self {
            WordPattern::Exact(word) => word.clone(),
            WordPattern::Prefix(stem) => format!("{stem}*"),
        }
    }
}

/// A keyword as words: every part must be found; the words of a part in order.
pub(crate) type KeywordParts = Vec<Vec<WordPattern>>;

/// Why a keyword text cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeywordShapeError {
    Empty,
    ShortStem,
}

/// Shortest stem accepted before `*`: shorter ones match too much.
const MIN_STEM_LEN: usize = 3;

/// Parses `"segunda via"`, `"desbloq*"`, `"paguei + sem internet"` into normalised parts.
pub(crate) fn parse_keyword(phrase: &str) -> Result<KeywordParts, KeywordShapeError> {
    let mut parts = Vec::new();
    for part in phrase.split('+') {
        let mut words = Vec::new();
        for raw in part.split_whitespace() {
            let (raw, prefix) = match raw.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (raw, false),
            };
            let mut normalised = tokens(raw);
            let last = normalised.pop();
            words.extend(normalised.into_iter().map(WordPattern::Exact));
            match (last, prefix) {
                (Some(stem), true) if stem.len() < MIN_STEM_LEN => {
                    return Err(KeywordShapeError::ShortStem);
                }
                (Some(stem), true) => words.push(WordPattern::Prefix(stem)),
                (Some(word), false) => words.push(WordPattern::Exact(word)),
                (None, _) => {}
            }
        }
        if !words.is_empty() {
            parts.push(words);
        }
    }
    if parts.is_empty() {
        return Err(KeywordShapeError::Empty);
    }
    Ok(parts)
}

/// The canonical text of parsed parts, used to merge configured keywords over built-in ones.
pub(crate) fn canonical(parts: &KeywordParts) -> String {
    parts
        .iter()
        .map(|part| {
            part.iter()
                .map(WordPattern::display)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A keyword ready for matching: words replaced by ids in the [`Vocabulary`].
#[derive(Clone, Debug)]
pub(crate) struct CompiledKeyword {
    pub intent: Intent,
    pub text: String,
    pub weight: f32,
    pub parts: Vec<Vec<usize>>,
}

/// Every distinct keyword word, with lookups for exact, prefix and typo-tolerant comparison.
#[derive(Clone, Debug, Default)]
pub(crate) struct Vocabulary {
    patterns: Vec<WordPattern>,
    ids: HashMap<WordPattern, usize>,
    exact: HashMap<String, usize>,
    prefixes: Vec<usize>,
}

impl Vocabulary {
    pub fn intern(&mut self, pattern: WordPattern) -> usize {
        if let Some(&id) = self.ids.get(&pattern) {
            return id;
        }
        let id = self.patterns.len();
        match &pattern {
            WordPattern::Exact(word) => {
                self.exact.insert(word.clone(), id);
            }
            WordPattern::Prefix(_) => self.prefixes.push(id),
        }
        self.patterns.push(pattern.clone());
        self.ids.insert(pattern, id);
        id
    }

    /// The keyword words a message word stands for, and whether only through a typo.
    pub fn lookup(&self, token: &str, hits: &mut Vec<WordHit>) {
        hits.clear();
        if let Some(&id) = self.exact.get(token) {
            hits.push(WordHit { id, fuzzy: false });
        }
        for &id in &self.prefixes {
            if let WordPattern::Prefix(stem) = &self.patterns[id]
                && token.starts_with(stem.as_str())
            {
                hits.push(WordHit { id, fuzzy: false });
            }
        }
        if !hits.is_empty()
            || token.len() < 4
            || is_common_word(token)
            || token.bytes().any(|b| b.is_ascii_digit())
        {
            return;
        }
        let token_bytes = token.as_bytes();
        for (id, pattern) in self.patterns.iter().enumerate() {
            let matched = match pattern {
                WordPattern::Exact(word) => {
                    // Both words must be long enough: "faco" is not a typo of "fraco".
                    let max = allowed_edits(word.len().min(token.len()));
                    max > 0 && bounded_distance(token_bytes, word.as_bytes(), max).is_some()
                }
                WordPattern::Prefix(stem) => {
                    let max = allowed_edits(stem.len().min(token.len()));
                    max > 0
                        && (stem.len().saturating_sub(1)..=stem.len() + 1)
                            .filter(|&len| len <= token_bytes.len())
                            .any(|len| {
                                bounded_distance(&token_bytes[..len], stem.as_bytes(), max)
                                    .is_some()
                            })
                }
            };
            if matched {
                hits.push(WordHit { id, fuzzy: true });
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WordHit {
    pub id: usize,
    pub fuzzy: bool,
}

/// A message prepared for keyword matching.
pub(crate) struct MessageWords {
    hits: Vec<Vec<WordHit>>,
    stopword: Vec<bool>,
}

/// Stopwords a phrase may skip between two of its words ("libera a minha internet").
const MAX_SKIPPED_STOPWORDS: usize = 3;

impl MessageWords {
    pub fn new(vocabulary: &Vocabulary, tokens: &[String]) -> MessageWords {
        let mut hits = Vec::with_capacity(tokens.len());
        let mut scratch = Vec::new();
        for token in tokens {
            vocabulary.lookup(token, &mut scratch);
            hits.push(scratch.clone());
        }
        MessageWords {
            hits,
            stopword: tokens.iter().map(|token| is_stopword(token)).collect(),
        }
    }

    /// Words that are neither stopwords, numbers nor part of any keyword vocabulary.
    pub fn unexplained_content_words(&self, tokens: &[String]) -> usize {
        tokens
            .iter()
            .zip(&self.hits)
            .zip(&self.stopword)
            .filter(|((token, hits), stopword)| {
                !**stopword && hits.is_empty() && !token.bytes().all(|b| b.is_ascii_digit())
            })
            .count()
    }

    fn hit(&self, position: usize, id: usize) -> Option<bool> {
        self.hits[position]
            .iter()
            .find(|hit| hit.id == id)
            .map(|hit| hit.fuzzy)
    }

    /// Whether the part occurs; `Some(true)` when only through a typo.
    fn find_part(&self, part: &[usize]) -> Option<bool> {
        let mut best: Option<bool> = None;
        for start in 0..self.hits.len() {
            let Some(mut fuzzy) = self.hit(start, part[0]) else {
                continue;
            };
            let mut position = start;
            let mut complete = true;
            for &id in &part[1..] {
                let mut next = position + 1;
                let mut skipped = 0;
                let found = loop {
                    if next >= self.hits.len() {
                        break None;
                    }
                    if let Some(word_fuzzy) = self.hit(next, id) {
                        break Some(word_fuzzy);
                    }
                    if !self.stopword[next] || skipped == MAX_SKIPPED_STOPWORDS {
                        break None;
                    }
                    skipped += 1;
                    next += 1;
                };
                match found {
                    Some(word_fuzzy) => {
                        fuzzy |= word_fuzzy;
                        position = next;
                    }
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete {
                if !fuzzy {
                    return Some(false);
                }
                best = Some(true);
            }
        }
        best
    }

    /// Whether the keyword matches; `Some(true)` when only through a typo.
    pub fn find(&self, keyword: &CompiledKeyword) -> Option<bool> {
        let mut fuzzy = false;
        for part in &keyword.parts {
            fuzzy |= self.find_part(part)?;
        }
        Some(fuzzy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(vocabulary: &mut Vocabulary, phrase: &str) -> CompiledKeyword {
        let parts = parse_keyword(phrase).expect("valid keyword");
        CompiledKeyword {
            intent: Intent::Unknown,
            text: canonical(&parts),
            weight: 1.0,
            parts: parts
                .into_iter()
                .map(|part| part.into_iter().map(|w| vocabulary.intern(w)).collect())
                .collect(),
        }
    }

    fn matches(phrase: &str, message: &str) -> Option<bool> {
        let mut vocabulary = Vocabulary::default();
        let keyword = compile(&mut vocabulary, phrase);
        MessageWords::new(&vocabulary, &tokens(message)).find(&keyword)
    }

    #[test]
    fn parses_phrases_stems_and_combinations() {
        let parts = parse_keyword("Paguei + sem  Internet").unwrap();
        assert_eq!(canonical(&parts), "paguei + sem internet");
        assert_eq!(canonical(&parse_keyword("Desbloq*").unwrap()), "desbloq*");
        assert_eq!(canonical(&parse_keyword("2ª via").unwrap()), "2 a via");
        assert_eq!(parse_keyword(" !! "), Err(KeywordShapeError::Empty));
        assert_eq!(parse_keyword("ab*"), Err(KeywordShapeError::ShortStem));
    }

    #[test]
    fn phrases_skip_stopwords_but_not_other_words() {
        assert_eq!(
            matches("libera internet", "libera a minha internet"),
            Some(false)
        );
        assert_eq!(matches("libera internet", "libera logo internet"), None);
        assert_eq!(matches("segunda via", "via segunda"), None);
    }

    #[test]
    fn stems_and_combinations() {
        assert_eq!(matches("desbloq*", "desbloqueia aí"), Some(false));
        assert_eq!(
            matches("paguei + bloque*", "está bloqueado e eu paguei"),
            Some(false)
        );
        assert_eq!(matches("paguei + bloque*", "eu paguei"), None);
    }

    #[test]
    fn tolerates_typos_on_long_words_only() {
        assert_eq!(matches("segunda via", "sengunda via"), Some(true));
        assert_eq!(matches("fatura", "fatira"), Some(true));
        assert_eq!(matches("internet lenta", "intenet lenta"), Some(true));
        assert_eq!(matches("desbloq*", "desbolqueia"), Some(true));
        // Short words need an exact match, common words are never corrected.
        assert_eq!(matches("pix", "pis"), None);
        assert_eq!(matches("pagar", "pegar"), None);
        assert_eq!(matches("sinal", "final"), None);
        assert_eq!(matches("fraco", "faco"), None);
    }
}
