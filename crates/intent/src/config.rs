//! Per-workspace configuration, merged over the built-in defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::intent::Intent;

/// Confidence below which a message is `unknown` when the configuration does not say otherwise.
pub const DEFAULT_THRESHOLD: f32 = 0.45;

/// A workspace's adjustments to the matcher. Every field is optional in JSON/TOML:
///
/// ```json
/// {
///   "threshold": 0.5,
///   "intents": {
///     "invoice": {
///       "keywords": ["carnê", {"phrase": "segunda via", "weight": 4}, {"phrase": "via", "weight": 0}],
///       "examples": ["manda o carnê do mês"]
///     }
///   }
/// }
/// ```
///
/// Keyword syntax: words in order form a phrase (stopwords such as "a", "do", "minha" may appear
/// between them in the message); `stem*` matches any word starting with `stem`; `part + part`
/// requires every part anywhere in the message. A keyword equal (after normalisation) to a
/// built-in one replaces its weight; weight 0 removes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatcherConfig {
    /// Minimum confidence to answer an intent other than `unknown` (default [`DEFAULT_THRESHOLD`]).
    pub threshold: Option<f32>,
    /// Start from nothing instead of the built-in keywords and examples.
    pub replace_builtin: bool,
    pub intents: BTreeMap<Intent, IntentConfig>,
}

/// Keywords and examples of one intent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntentConfig {
    pub keywords: Vec<Keyword>,
    /// Whole messages that mean this intent; they feed the nearest-example similarity.
    pub examples: Vec<String>,
    /// Drop the built-in keywords of this intent.
    pub replace_builtin_keywords: bool,
    /// Drop the built-in examples of this intent.
    pub replace_builtin_examples: bool,
}

/// A word, phrase, `stem*` or `part + part` combination, with its weight (default 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "KeywordSpec")]
pub struct Keyword {
    pub phrase: String,
    pub weight: f32,
}

impl Keyword {
    pub fn new(phrase: impl Into<String>, weight: f32) -> Keyword {
        Keyword {
            phrase: phrase.into(),
            weight,
        }
    }
}

/// Accepts `"phrase"` as well as `{"phrase": "...", "weight": 2}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum KeywordSpec {
    Plain(String),
    Weighted {
        phrase: String,
        #[serde(default = "default_weight")]
        weight: f32,
    },
}

fn default_weight() -> f32 {
    1.0
}

impl From<KeywordSpec> for Keyword {
    fn from(spec: KeywordSpec) -> Keyword {
        match spec {
            KeywordSpec::Plain(phrase) => Keyword::new(phrase, default_weight()),
            KeywordSpec::Weighted { phrase, weight } => Keyword::new(phrase, weight),
        }
    }
}

impl MatcherConfig {
    /// Reads a configuration from JSON.
    pub fn from_json(json: &str) -> Result<MatcherConfig, ConfigError> {
        serde_json::from_str(json).map_err(|error| ConfigError::Json(error.to_string()))
    }
}

/// Why a configuration was refused. Messages are for the workspace administrator (pt-BR).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("limiar de confiança inválido: {0} (use um valor entre 0 e 1)")]
    InvalidThreshold(f32),
    #[error("peso inválido {weight} na palavra-chave {phrase:?} de {intent} (use um número ≥ 0)")]
    InvalidWeight {
        intent: Intent,
        phrase: String,
        weight: f32,
    },
    #[error("a palavra-chave {phrase:?} de {intent} fica vazia depois de normalizada")]
    EmptyKeyword { intent: Intent, phrase: String },
    #[error("o radical {phrase:?} de {intent} é curto demais (mínimo de 3 letras antes do *)")]
    ShortStem { intent: Intent, phrase: String },
    #[error("configuração inválida: {0}")]
    Json(String),
}
