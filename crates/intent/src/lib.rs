//! Language understanding of Balcão's self-service bot: what a subscriber's WhatsApp message
//! asks for (second copy, debts, trust unlock, connection problems, a person, cancellation,
//! greetings, yes/no, menu choices…) and the values it carries (CPF/CNPJ, menu number, sector,
//! payment method). Pure code, no IO.
//!
//! Method, in order: [`normalize`] (accents, case, emojis, repeated letters, chat spelling),
//! weighted keywords and phrases with typo tolerance (edit distance 1 from 5 letters, 2 from 8),
//! nearest-example similarity (TF-IDF cosine over words and character trigrams), a few explicit
//! rules, and a confidence threshold below which the answer is [`Intent::Unknown`]. Keywords
//! and examples are configurable per workspace ([`MatcherConfig`]) over built-in defaults;
//! [`Matcher::explain`] shows why a message got its intent.
//!
//! ```
//! use balcao_intent::{Intent, Matcher, PaymentMethodHint};
//!
//! let matcher = Matcher::default();
//! let result = matcher.classify("bom dia, qro a 2 via do boleto pfv");
//! assert_eq!(result.intent, Intent::Invoice);
//! assert_eq!(result.extracted.payment_method, Some(PaymentMethodHint::Boleto));
//! ```

mod config;
pub mod corpus;
mod defaults;
mod evaluate;
mod extract;
mod fuzzy;
mod intent;
mod keywords;
mod matcher;
mod normalize;
mod similarity;

pub use config::{ConfigError, DEFAULT_THRESHOLD, IntentConfig, Keyword, MatcherConfig};
pub use corpus::{CorpusError, CorpusSplit, LabelledMessage};
pub use evaluate::{Confusion, Evaluation, IntentMetrics, evaluate, measure_micros};
pub use extract::find_document;
pub use intent::{
    Classification, Extracted, Intent, PaymentMethodHint, Sector, UnknownIntentName, match_reply_id,
};
pub use matcher::{AppliedRule, ExampleHit, Explanation, KeywordHit, Matcher};
pub use normalize::normalize;
