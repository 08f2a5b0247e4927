//! Accuracy and speed of a matcher on a labelled corpus (for tests and `balcao bench intents`).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::corpus::LabelledMessage;
use crate::intent::Intent;
use crate::matcher::Matcher;

/// Precision and recall of one intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentMetrics {
    pub intent: Intent,
    /// Messages labelled with this intent.
    pub support: usize,
    /// Messages classified as this intent.
    pub predicted: usize,
    /// 1.0 when nothing was predicted as this intent.
    pub precision: f64,
    /// 1.0 when no message carries this label.
    pub recall: f64,
}

/// A message classified differently from its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub expected: Intent,
    pub got: Intent,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub total: usize,
    pub correct: usize,
    /// `correct / total` (1.0 for an empty corpus).
    pub accuracy: f64,
    /// Intents that occur as label or prediction, in [`Intent::ALL`] order.
    pub per_intent: Vec<IntentMetrics>,
    pub confusions: Vec<Confusion>,
    /// Mean wall-clock time of one `classify` call, in microseconds.
    pub mean_micros: f64,
}

/// Classifies every message once and compares with its label.
pub fn evaluate(matcher: &Matcher, corpus: &[LabelledMessage]) -> Evaluation {
    let mut predictions = Vec::with_capacity(corpus.len());
    let started = Instant::now();
    for message in corpus {
        predictions.push(matcher.classify(&message.text).intent);
    }
    let elapsed = started.elapsed();
    let mean_micros = if corpus.is_empty() {
        0.0
    } else {
        elapsed.as_secs_f64() * 1e6 / corpus.len() as f64
    };

    let mut confusions = Vec::new();
    for (message, &got) in corpus.iter().zip(&predictions) {
        if got != message.intent {
            confusions.push(Confusion {
                expected: message.intent,
                got,
                text: message.text.clone(),
            });
        }
    }
    let per_intent = Intent::ALL
        .into_iter()
        .filter_map(|intent| {
            let support = corpus.iter().filter(|m| m.intent == intent).count();
            let predicted = predictions.iter().filter(|&&p| p == intent).count();
            if support == 0 && predicted == 0 {
                return None;
            }
            let hits = corpus
                .iter()
                .zip(&predictions)
                .filter(|(m, p)| m.intent == intent && **p == intent)
                .count();
            let ratio = |part: usize, whole: usize| {
                if whole == 0 {
                    1.0
                } else {
                    part as f64 / whole as f64
                }
            };
            Some(IntentMetrics {
                intent,
                support,
                predicted,
                precision: ratio(hits, predicted),
                recall: ratio(hits, support),
            })
        })
        .collect();
    let correct = corpus.len() - confusions.len();
    Evaluation {
        total: corpus.len(),
        correct,
        accuracy: if corpus.is_empty() {
            1.0
        } else {
            correct as f64 / corpus.len() as f64
        },
        per_intent,
        confusions,
        mean_micros,
    }
}

/// Mean microseconds per `classify` over `rounds` passes on `texts` (steadier than one pass).
pub fn measure_micros(matcher: &Matcher, texts: &[&str], rounds: usize) -> f64 {
    let calls = texts.len() * rounds;
    if calls == 0 {
        return 0.0;
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for text in texts {
            std::hint::black_box(matcher.classify(std::hint::black_box(text)));
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / calls as f64
}
