//! Nearest-example similarity: TF-IDF cosine over words and character trigrams of the content
//! words (stopwords left out), against the configured example messages.

use std::collections::HashMap;

use crate::intent::Intent;

/// Trigrams weigh less than whole words: they exist to absorb typos and inflections.
const TRIGRAM_WEIGHT: f32 = 0.4;
const WORD_WEIGHT: f32 = 1.0;

#[derive(Clone, Debug)]
struct Example {
    intent: Intent,
    text: String,
    norm: f32,
}

/// Inverted index of the examples' feature vectors.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExampleIndex {
    feature_ids: HashMap<u64, u32>,
    idf: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
    examples: Vec<Example>,
    unseen_idf: f32,
}

/// The best example of one intent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Nearest {
    pub intent: Intent,
    pub example: usize,
    pub similarity: f32,
}

fn fnv(kind: u8, bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in std::iter::once(&kind).chain(bytes) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Feature hashes with their raw (type-weighted, sublinear) term weights.
fn features<'a>(content: impl Iterator<Item = &'a str>) -> Vec<(u64, f32)> {
    let mut counts: HashMap<u64, (f32, f32)> = HashMap::new();
    let mut padded = Vec::with_capacity(32);
    for word in content {
        counts
            .entry(fnv(b'w', word.as_bytes()))
            .or_insert((0.0, WORD_WEIGHT))
            .0 += 1.0;
        padded.clear();
        padded.push(b'^');
        padded.extend_from_slice(word.as_bytes());
        padded.push(b'$');
        for trigram in padded.windows(3) {
            counts
                .entry(fnv(b't', trigram))
                .or_insert((0.0, TRIGRAM_WEIGHT))
                .0 += 1.0;
        }
    }
    let mut out: Vec<(u64, f32)> = counts
        .into_iter()
        .map(|(hash, (count, weight))| (hash, weight * (1.0 + count.ln())))
        .collect();
    // Deterministic order, so float sums never depend on hash map iteration.
    out.sort_unstable_by_key(|&(hash, _)| hash);
    out
}

impl ExampleIndex {
    /// Builds the index from (intent, original text, content words) triples.
    pub fn build(examples: Vec<(Intent, String, Vec<String>)>) -> ExampleIndex {
        let vectors: Vec<Vec<(u64, f32)>> = examples
            .iter()
            .map(|(_, _, words)| features(words.iter().map(String::as_str)))
            .collect();
        let mut index = ExampleIndex::default();
        let mut document_frequency: Vec<f32> = Vec::new();
        for vector in &vectors {
            for &(hash, _) in vector {
                let next_id = index.feature_ids.len() as u32;
                let id = *index.feature_ids.entry(hash).or_insert(next_id);
                if id as usize == document_frequency.len() {
                    document_frequency.push(0.0);
                }
                document_frequency[id as usize] += 1.0;
            }
        }
        let total = vectors.len().max(1) as f32;
        index.idf = document_frequency
            .iter()
            .map(|df| (1.0 + total / df).ln())
            .collect();
        index.unseen_idf = (1.0 + total).ln();
        index.postings = vec![Vec::new(); index.idf.len()];
        for (example_id, ((intent, text, _), vector)) in
            examples.into_iter().zip(vectors).enumerate()
        {
            let mut norm_squared = 0.0;
            for (hash, weight) in vector {
                let id = index.feature_ids[&hash];
                let weighted = weight * index.idf[id as usize];
                norm_squared += weighted * weighted;
                index.postings[id as usize].push((example_id as u32, weighted));
            }
            index.examples.push(Example {
                intent,
                text,
                norm: f32::sqrt(norm_squared),
            });
        }
        index
    }

    pub fn example_text(&self, example: usize) -> &str {
        &self.examples[example].text
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// The most similar example of each intent that has a similarity above zero.
    pub fn nearest(&self, content: &[&str]) -> Vec<Nearest> {
        if self.examples.is_empty() || content.is_empty() {
            return Vec::new();
        }
        let query = features(content.iter().copied());
        let mut dots = vec![0.0f32; self.examples.len()];
        let mut norm_squared = 0.0;
        for (hash, weight) in query {
            match self.feature_ids.get(&hash) {
                Some(&id) => {
                    let weighted = weight * self.idf[id as usize];
                    norm_squared += weighted * weighted;
                    for &(example, example_weight) in &self.postings[id as usize] {
                        dots[example as usize] += weighted * example_weight;
                    }
                }
                None => {
                    let weighted = weight * self.unseen_idf;
                    norm_squared += weighted * weighted;
                }
            }
        }
        let query_norm = f32::sqrt(norm_squared);
        let mut best: Vec<Nearest> = Vec::new();
        for (example_id, dot) in dots.into_iter().enumerate() {
            let example = &self.examples[example_id];
            if dot <= 0.0 || example.norm == 0.0 {
                continue;
            }
            let similarity = (dot / (query_norm * example.norm)).min(1.0);
            match best.iter_mut().find(|n| n.intent == example.intent) {
                Some(current) if current.similarity >= similarity => {}
                Some(current) => {
                    current.example = example_id;
                    current.similarity = similarity;
                }
                None => best.push(Nearest {
                    intent: example.intent,
                    example: example_id,
                    similarity,
                }),
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(examples: &[(Intent, &str)]) -> ExampleIndex {
        ExampleIndex::build(
            examples
                .iter()
                .map(|(intent, text)| {
                    let words = text.split(' ').map(str::to_owned).collect();
                    (*intent, (*text).to_owned(), words)
                })
                .collect(),
        )
    }

    #[test]
    fn identical_text_is_fully_similar_and_unrelated_text_is_not() {
        let index = index(&[
            (Intent::Invoice, "segunda via boleto"),
            (Intent::Connection, "internet lenta"),
        ]);
        let nearest = index.nearest(&["segunda", "via", "boleto"]);
        let invoice = nearest
            .iter()
            .find(|n| n.intent == Intent::Invoice)
            .unwrap();
        assert!((invoice.similarity - 1.0).abs() < 1e-4);
        assert!(nearest.iter().all(|n| n.intent != Intent::Connection));
        assert!(index.nearest(&["xyz"]).is_empty());
    }

    #[test]
    fn typos_keep_some_similarity_through_trigrams() {
        let index = index(&[(Intent::Connection, "internet lenta")]);
        let nearest = index.nearest(&["intenet", "lentaa"]);
        assert_eq!(nearest.len(), 1);
        assert!(nearest[0].similarity > 0.2 && nearest[0].similarity < 1.0);
        assert_eq!(index.example_text(nearest[0].example), "internet lenta");
    }
}
