//! The matcher: keyword evidence + nearest-example similarity + a few explicit rules, turned into
//! an intent with a confidence, or `unknown` below the threshold.
//!
//! Score of an intent = sum of the weights of its keywords found in the message (× 0.8 when found
//! only through a typo) + `SIMILARITY_WEIGHT` × how far the most similar example of the intent
//! is above `SIMILARITY_FLOOR`. Then the rules:
//! - a menu choice ("2", "opção 2") or a CPF/CNPJ shape gives `number` / `document` a fixed
//!   score; without them those intents score zero;
//! - "paid but still blocked/offline": when payment evidence meets blocking or outage evidence,
//!   the customer needs the connection back, so both scores move to `unlock`;
//! - yes/no lose weight with every content word no keyword explains ("amanhã eu vejo isso" is
//!   not a yes);
//! - social and shape-only intents (greeting, thanks, yes, no, number, document) are damped when
//!   a substantive intent has real evidence ("bom dia, quero a segunda via" is `invoice`).
//!
//! Confidence = (1 − e^(−top/`STRENGTH_SCALE`)) × top / (top + runner-up): how much evidence
//! there is, times how clearly it points to one intent.

use crate::config::{ConfigError, DEFAULT_THRESHOLD, Keyword, MatcherConfig};
use crate::defaults::BUILTIN_KEYWORDS;
use crate::extract::{find_choice, find_document, find_payment_method, find_sector};
use crate::intent::{Classification, Extracted, Intent, PaymentMethodHint, Sector};
use crate::keywords::{
    CompiledKeyword, KeywordShapeError, MessageWords, Vocabulary, canonical, parse_keyword,
};
use crate::normalize::{is_stopword, tokens};
use crate::similarity::ExampleIndex;
use serde::{Deserialize, Serialize};

const FUZZY_FACTOR: f32 = 0.8;
const SIMILARITY_WEIGHT: f32 = 2.0;
const SIMILARITY_FLOOR: f32 = 0.3;
const CHOICE_SCORE: f32 = 3.0;
const DOCUMENT_SCORE: f32 = 3.0;
/// A substantive intent with at least this score silences the social ones.
const SUBSTANTIVE_EVIDENCE: f32 = 1.0;
const WEAK_DAMPING: f32 = 0.3;
/// Payment and outage evidence needed before "paid but offline" applies.
const PAID_EVIDENCE: f32 = 1.5;
const OUTAGE_EVIDENCE: f32 = 1.5;
const STRENGTH_SCALE: f32 = 1.2;
const MAX_ALTERNATIVES: usize = 3;

const INTENT_COUNT: usize = Intent::ALL.len();

/// The language understanding of the bot, built once per workspace configuration.
#[derive(Clone, Debug)]
pub struct Matcher {
    vocabulary: Vocabulary,
    keywords: Vec<CompiledKeyword>,
    examples: ExampleIndex,
    threshold: f32,
}

/// A rule that changed the scores of a message (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedRule {
    MenuChoice,
    DocumentShape,
    PaidButOffline,
    SocialIntentsDamped,
}

/// A keyword found in the message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeywordHit {
    pub intent: Intent,
    /// The keyword as normalised (`"segunda via"`, `"desbloq*"`, `"paguei + sem internet"`).
    pub keyword: String,
    /// Weight added to the intent's score (already reduced when `fuzzy`).
    pub weight: f32,
    /// Found only by tolerating a typo.
    pub fuzzy: bool,
}

/// The most similar example of an intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleHit {
    pub intent: Intent,
    pub example: String,
    pub similarity: f32,
}

/// Everything behind a classification, for logs and for tuning a workspace's keywords.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub normalized: String,
    pub keyword_hits: Vec<KeywordHit>,
    pub nearest_examples: Vec<ExampleHit>,
    pub rules: Vec<AppliedRule>,
    /// Final score of every intent that scored, best first.
    pub scores: Vec<(Intent, f32)>,
    pub threshold: f32,
    pub classification: Classification,
}

struct Analysis {
    normalized_tokens: Vec<String>,
    keyword_hits: Vec<(usize, bool)>,
    nearest: Vec<crate::similarity::Nearest>,
    rules: Vec<AppliedRule>,
    scores: [f32; INTENT_COUNT],
    classification: Classification,
}

/// Keywords and examples after merging a configuration over the defaults.
struct Merged {
    keywords: Vec<(Intent, String, crate::keywords::KeywordParts, f32)>,
    examples: Vec<(Intent, String)>,
    threshold: f32,
}

impl Default for Matcher {
    /// The built-in keywords and the train part of the built-in corpus.
    fn default() -> Matcher {
        Matcher::build(merge(&MatcherConfig::default()))
    }
}

impl Matcher {
    /// Builds a matcher from a workspace configuration merged over the built-in defaults.
    pub fn new(config: MatcherConfig) -> Result<Matcher, ConfigError> {
        validate(&config)?;
        Ok(Matcher::build(merge(&config)))
    }

    fn build(merged: Merged) -> Matcher {
        let mut vocabulary = Vocabulary::default();
        let keywords = merged
            .keywords
            .into_iter()
            .map(|(intent, text, parts, weight)| CompiledKeyword {
                intent,
                text,
                weight,
                parts: parts
                    .into_iter()
                    .map(|part| part.into_iter().map(|w| vocabulary.intern(w)).collect())
                    .collect(),
            })
            .collect();
        let examples = ExampleIndex::build(
            merged
                .examples
                .into_iter()
                .filter(|(intent, _)| !matches!(intent, Intent::Number | Intent::Document))
                .map(|(intent, text)| {
                    let content = content_words(&tokens(&text));
                    (intent, text, content)
                })
                .collect(),
        );
        Matcher {
            vocabulary,
            keywords,
            examples,
            threshold: merged.threshold,
        }
    }

    /// Number of keywords and examples in use.
    pub fn size(&self) -> (usize, usize) {
        (self.keywords.len(), self.examples.len())
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Classifies one message. Deterministic; never panics.
    pub fn classify(&self, text: &str) -> Classification {
        self.analyze(text).classification
    }

    /// Classifies one message and tells why.
    pub fn explain(&self, text: &str) -> Explanation {
        let analysis = self.analyze(text);
        let keyword_hits = analysis
            .keyword_hits
            .iter()
            .map(|&(index, fuzzy)| {
                let keyword = &self.keywords[index];
                KeywordHit {
                    intent: keyword.intent,
                    keyword: keyword.text.clone(),
                    weight: keyword_weight(keyword, fuzzy),
                    fuzzy,
                }
            })
            .collect();
        let mut nearest_examples: Vec<ExampleHit> = analysis
            .nearest
            .iter()
            .map(|nearest| ExampleHit {
                intent: nearest.intent,
                example: self.examples.example_text(nearest.example).to_owned(),
                similarity: nearest.similarity,
            })
            .collect();
        nearest_examples.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        let mut scores: Vec<(Intent, f32)> = Intent::ALL
            .into_iter()
            .map(|intent| (intent, analysis.scores[intent.index()]))
            .filter(|&(_, score)| score > 0.0)
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        Explanation {
            normalized: analysis.normalized_tokens.join(" "),
            keyword_hits,
            nearest_examples,
            rules: analysis.rules,
            scores,
            threshold: self.threshold,
            classification: analysis.classification,
        }
    }

    fn analyze(&self, text: &str) -> Analysis {
        let normalized_tokens = tokens(text);
        let words = MessageWords::new(&self.vocabulary, &normalized_tokens);
        let mut keyword_scores = [0.0f32; INTENT_COUNT];
        let mut keyword_hits = Vec::new();
        for (index, keyword) in self.keywords.iter().enumerate() {
            if let Some(fuzzy) = words.find(keyword) {
                keyword_scores[keyword.intent.index()] += keyword_weight(keyword, fuzzy);
                keyword_hits.push((index, fuzzy));
            }
        }

        let mut rules = Vec::new();
        let choice = find_choice(&normalized_tokens);
        let document = find_document(text);
        if choice.is_some() {
            keyword_scores[Intent::Number.index()] += CHOICE_SCORE;
            rules.push(AppliedRule::MenuChoice);
        }
        if document.is_some() {
            keyword_scores[Intent::Document.index()] += DOCUMENT_SCORE;
            rules.push(AppliedRule::DocumentShape);
        }
        let paid = keyword_scores[Intent::AlreadyPaid.index()];
        let blocked = keyword_scores[Intent::Unlock.index()];
        let outage = keyword_scores[Intent::Connection.index()];
        if paid >= PAID_EVIDENCE && (blocked > 0.0 || outage >= OUTAGE_EVIDENCE) {
            keyword_scores[Intent::Unlock.index()] += paid + outage;
            rules.push(AppliedRule::PaidButOffline);
        }

        let content = content_words(&normalized_tokens);
        let content_refs: Vec<&str> = content.iter().map(String::as_str).collect();
        let nearest = self.examples.nearest(&content_refs);
        let mut scores = keyword_scores;
        for near in &nearest {
            let above_floor =
                (near.similarity - SIMILARITY_FLOOR).max(0.0) / (1.0 - SIMILARITY_FLOOR);
            scores[near.intent.index()] += SIMILARITY_WEIGHT * above_floor;
        }
        // "isso", "pode", "nada" answer a question only when they are (nearly) the whole
        // message: every content word no keyword explains weakens a yes/no.
        let unexplained = words.unexplained_content_words(&normalized_tokens) as f32;
        for intent in [Intent::Yes, Intent::No] {
            scores[intent.index()] /= 1.0 + unexplained;
        }
        if choice.is_none() {
            scores[Intent::Number.index()] = 0.0;
        }
        if document.is_none() {
            scores[Intent::Document.index()] = 0.0;
        }
        // Keyword evidence only: a vague resemblance to some example must not silence a clear
        // "obrigado".
        let substantive = Intent::ALL
            .into_iter()
            .filter(|intent| !intent.is_weak())
            .map(|intent| keyword_scores[intent.index()])
            .fold(0.0f32, f32::max);
        if substantive >= SUBSTANTIVE_EVIDENCE {
            let mut damped = false;
            for intent in Intent::ALL.into_iter().filter(|intent| intent.is_weak()) {
                if scores[intent.index()] > 0.0 {
                    scores[intent.index()] *= WEAK_DAMPING;
                    damped = true;
                }
            }
            if damped {
                rules.push(AppliedRule::SocialIntentsDamped);
            }
        }

        let classification = self.decide(
            &scores,
            &keyword_scores,
            &normalized_tokens,
            Extracted {
                document,
                number: choice,
                sector: None,
                payment_method: None,
            },
        );
        Analysis {
            normalized_tokens,
            keyword_hits,
            nearest,
            rules,
            scores,
            classification,
        }
    }

    fn decide(
        &self,
        scores: &[f32; INTENT_COUNT],
        keyword_scores: &[f32; INTENT_COUNT],
        normalized_tokens: &[String],
        mut extracted: Extracted,
    ) -> Classification {
        let mut ranked: Vec<(Intent, f32)> = Intent::ALL
            .into_iter()
            .map(|intent| (intent, scores[intent.index()]))
            .filter(|&(_, score)| score > 0.0 && score.is_finite())
            .collect();
        // Stable sort: ties keep declaration order, so results never depend on anything else.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let Some(&(top, top_score)) = ranked.first() else {
            return Classification {
                intent: Intent::Unknown,
                confidence: 1.0,
                alternatives: Vec::new(),
                extracted,
            };
        };
        let runner_up = ranked.get(1).map_or(0.0, |&(_, score)| score);
        let top_confidence = confidence(top_score, runner_up);
        let alternatives_of = |excluded: Intent| -> Vec<(Intent, f32)> {
            ranked
                .iter()
                .filter(|&&(intent, _)| intent != excluded && intent != Intent::Unknown)
                .map(|&(intent, score)| {
                    let versus = if intent == top { runner_up } else { top_score };
                    (intent, confidence(score, versus))
                })
                .filter(|&(_, c)| c > 0.01)
                .take(MAX_ALTERNATIVES)
                .collect()
        };
        if top == Intent::Unknown || top_confidence < self.threshold {
            let confidence = if top == Intent::Unknown {
                top_confidence
            } else {
                1.0 - top_confidence
            };
            return Classification {
                intent: Intent::Unknown,
                confidence,
                alternatives: alternatives_of(Intent::Unknown),
                extracted,
            };
        }
        extracted.payment_method = match (top, find_payment_method(normalized_tokens)) {
            (Intent::Invoice, None) => Some(PaymentMethodHint::Any),
            (_, method) => method,
        };
        if top == Intent::Human {
            extracted.sector = find_sector(normalized_tokens)
                .or_else(|| sales_hint(normalized_tokens))
                .or_else(|| sector_from_topic(keyword_scores));
        }
        Classification {
            intent: top,
            confidence: top_confidence,
            alternatives: alternatives_of(top),
            extracted,
        }
    }
}

fn keyword_weight(keyword: &CompiledKeyword, fuzzy: bool) -> f32 {
    if fuzzy {
        keyword.weight * FUZZY_FACTOR
    } else {
        keyword.weight
    }
}

fn confidence(score: f32, versus: f32) -> f32 {
    if score <= 0.0 {
        return 0.0;
    }
    let strength = 1.0 - (-score / STRENGTH_SCALE).exp();
    (strength * score / (score + versus.max(0.0))).clamp(0.0, 1.0)
}

/// Words that feed the example similarity: no stopwords, no numbers (amounts, dates and menu
/// choices say nothing about the intent).
fn content_words(tokens: &[String]) -> Vec<String> {
    tokens
        .iter()
        .filter(|token| !is_stopword(token) && !token.bytes().all(|b| b.is_ascii_digit()))
        .cloned()
        .collect()
}

/// Wanting to buy or change a plan means the sales team.
fn sales_hint(tokens: &[String]) -> Option<Sector> {
    tokens
        .iter()
        .any(|t| {
            // Tokens have repeated letters collapsed: "assina" arrives as "asina".
            t.starts_with("contrata")
                || t.starts_with("asina")
                || t.starts_with("plano")
                || t == "upgrade"
        })
        .then_some(Sector::Sales)
}

/// "falar com alguém sobre meu boleto" → billing: the topic of the request picks the sector.
fn sector_from_topic(keyword_scores: &[f32; INTENT_COUNT]) -> Option<Sector> {
    let topics = [
        (Intent::Cancel, Sector::Cancellation),
        (Intent::Invoice, Sector::Billing),
        (Intent::Debts, Sector::Billing),
        (Intent::AlreadyPaid, Sector::Billing),
        (Intent::Unlock, Sector::Billing),
        (Intent::Connection, Sector::Support),
    ];
    let mut best: Option<(f32, Sector)> = None;
    for (intent, sector) in topics {
        let score = keyword_scores[intent.index()];
        // Strictly greater: on equal scores the earlier topic of the list wins.
        if score > 0.0 && best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, sector));
        }
    }
    best.map(|(_, sector)| sector)
}

fn validate(config: &MatcherConfig) -> Result<(), ConfigError> {
    if let Some(threshold) = config.threshold
        && !(0.0..=1.0).contains(&threshold)
    {
        return Err(ConfigError::InvalidThreshold(threshold));
    }
    for (&intent, intent_config) in &config.intents {
        for keyword in &intent_config.keywords {
            if !keyword.weight.is_finite() || keyword.weight < 0.0 {
                return Err(ConfigError::InvalidWeight {
                    intent,
                    phrase: keyword.phrase.clone(),
                    weight: keyword.weight,
                });
            }
            match parse_keyword(&keyword.phrase) {
                Ok(_) => {}
                Err(KeywordShapeError::Empty) => {
                    return Err(ConfigError::EmptyKeyword {
                        intent,
                        phrase: keyword.phrase.clone(),
                    });
                }
                Err(KeywordShapeError::ShortStem) => {
                    return Err(ConfigError::ShortStem {
                        intent,
                        phrase: keyword.phrase.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

fn merge(config: &MatcherConfig) -> Merged {
    let mut keywords: Vec<(Intent, String, crate::keywords::KeywordParts, f32)> = Vec::new();
    let mut upsert = |intent: Intent, keyword: &Keyword| {
        let Ok(parts) = parse_keyword(&keyword.phrase) else {
            return;
        };
        let text = canonical(&parts);
        let existing = keywords
            .iter()
            .position(|(i, t, _, _)| *i == intent && *t == text);
        match (existing, keyword.weight > 0.0) {
            (Some(position), true) => keywords[position].3 = keyword.weight,
            (Some(position), false) => {
                keywords.remove(position);
            }
            (None, true) => keywords.push((intent, text, parts, keyword.weight)),
            (None, false) => {}
        }
    };
    let intent_config = |intent: Intent| config.intents.get(&intent);
    if !config.replace_builtin {
        for &(intent, builtin) in BUILTIN_KEYWORDS {
            if intent_config(intent).is_some_and(|c| c.replace_builtin_keywords) {
                continue;
            }
            for &(phrase, weight) in builtin {
                upsert(intent, &Keyword::new(phrase, weight));
            }
        }
    }
    for (&intent, intent_config) in &config.intents {
        for keyword in &intent_config.keywords {
            upsert(intent, keyword);
        }
    }

    let mut examples: Vec<(Intent, String)> = Vec::new();
    if !config.replace_builtin {
        for message in crate::corpus::builtin_split().train {
            if intent_config(message.intent).is_some_and(|c| c.replace_builtin_examples) {
                continue;
            }
            examples.push((message.intent, message.text));
        }
    }
    for (&intent, intent_config) in &config.intents {
        examples.extend(
            intent_config
                .examples
                .iter()
                .map(|example| (intent, example.clone())),
        );
    }
    Merged {
        keywords,
        examples,
        threshold: config.threshold.unwrap_or(DEFAULT_THRESHOLD),
    }
}
