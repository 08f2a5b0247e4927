//! The vocabulary of the matcher's answers: intents, sectors, payment hints and the classification.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a subscriber's message asks for.
///
/// Serialised in snake_case (`"already_paid"`), the same names used by the corpus, the
/// configuration and interactive reply ids (`"intent:already_paid"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Second copy of the bill: boleto, Pix code, invoice (see [`PaymentMethodHint`]).
    Invoice,
    /// How much is owed, whether anything is overdue.
    Debts,
    /// Trust unlock / restore a blocked connection, including "paid but still blocked".
    Unlock,
    /// Connection down, slow or unstable.
    Connection,
    /// Talk to a person, optionally a given [`Sector`].
    Human,
    /// Cancel the contract (the bot routes it to retention).
    Cancel,
    Greeting,
    Thanks,
    Yes,
    No,
    /// Back to the main menu.
    Menu,
    /// Asks for the protocol number of the service.
    Protocol,
    /// States that the bill was already paid (answer to a billing message).
    AlreadyPaid,
    /// Stop receiving messages.
    OptOut,
    /// A menu choice; the value is in [`Extracted::number`].
    Number,
    /// The message carries a CPF/CNPJ; the value is in [`Extracted::document`].
    Document,
    /// Nothing recognised with enough confidence.
    Unknown,
}

impl Intent {
    /// Every intent, in declaration order.
    pub const ALL: [Intent; 17] = [
        Intent::Invoice,
        Intent::Debts,
        Intent::Unlock,
        Intent::Connection,
        Intent::Human,
        Intent::Cancel,
        Intent::Greeting,
        Intent::Thanks,
        Intent::Yes,
        Intent::No,
        Intent::Menu,
        Intent::Protocol,
        Intent::AlreadyPaid,
        Intent::OptOut,
        Intent::Number,
        Intent::Document,
        Intent::Unknown,
    ];

    /// The snake_case name, as in configuration files and the corpus.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Invoice => "invoice",
            Intent::Debts => "debts",
            Intent::Unlock => "unlock",
            Intent::Connection => "connection",
            Intent::Human => "human",
            Intent::Cancel => "cancel",
            Intent::Greeting => "greeting",
            Intent::Thanks => "thanks",
            Intent::Yes => "yes",
            Intent::No => "no",
            Intent::Menu => "menu",
            Intent::Protocol => "protocol",
            Intent::AlreadyPaid => "already_paid",
            Intent::OptOut => "opt_out",
            Intent::Number => "number",
            Intent::Document => "document",
            Intent::Unknown => "unknown",
        }
    }

    /// Id for an interactive button or list row that means this intent (`"intent:invoice"`).
    pub fn reply_id(self) -> String {
        format!("{REPLY_ID_PREFIX}{}", self.as_str())
    }

    /// Social or shape-only intents: they win only when nothing substantive is asked, so that
    /// "bom dia, quero a segunda via" is an invoice request and not a greeting.
    pub fn is_weak(self) -> bool {
        matches!(
            self,
            Intent::Greeting
                | Intent::Thanks
                | Intent::Yes
                | Intent::No
                | Intent::Number
                | Intent::Document
        )
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`Intent::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("intenção desconhecida: {0:?}")]
pub struct UnknownIntentName(pub String);

impl FromStr for Intent {
    type Err = UnknownIntentName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let name = name.trim();
        Intent::ALL
            .into_iter()
            .find(|intent| intent.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownIntentName(name.to_owned()))
    }
}

/// Department a person is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// "financeiro", "cobrança".
    Billing,
    /// "suporte", "técnico".
    Support,
    /// "comercial", "vendas".
    Sales,
    /// "cancelamento".
    Cancellation,
}

impl Sector {
    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Billing => "billing",
            Sector::Support => "support",
            Sector::Sales => "sales",
            Sector::Cancellation => "cancellation",
        }
    }

    /// Accepts the English names and the Portuguese department names (accents optional).
    pub fn parse(name: &str) -> Option<Sector> {
        const NAMES: &[(&str, Sector)] = &[
            ("billing", Sector::Billing),
            ("financeiro", Sector::Billing),
            ("financeira", Sector::Billing),
            ("cobrança", Sector::Billing),
            ("support", Sector::Support),
            ("suporte", Sector::Support),
            ("técnico", Sector::Support),
            ("suporte técnico", Sector::Support),
            ("sales", Sector::Sales),
            ("comercial", Sector::Sales),
            ("vendas", Sector::Sales),
            ("cancellation", Sector::Cancellation),
            ("cancelamento", Sector::Cancellation),
        ];
        let wanted = crate::normalize::normalize(name);
        NAMES
            .iter()
            .find(|(candidate, _)| crate::normalize::normalize(candidate) == wanted)
            .map(|&(_, sector)| sector)
    }
}

/// Which payment method an invoice request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodHint {
    Pix,
    Boleto,
    /// Neither or both were named.
    Any,
}

impl PaymentMethodHint {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethodHint::Pix => "pix",
            PaymentMethodHint::Boleto => "boleto",
            PaymentMethodHint::Any => "any",
        }
    }
}

/// Values found in the message, independent of how sure the intent is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// A CPF/CNPJ-shaped token: 11 or 14 characters, uppercase, without punctuation. Only the
    /// shape is checked here; the caller validates the check digits.
    pub document: Option<String>,
    /// A menu choice ("2", "opção 2", "2️⃣", "dois"); set only when the message is that choice.
    pub number: Option<u32>,
    /// The department asked for; set only for [`Intent::Human`].
    pub sector: Option<Sector>,
    /// Set for [`Intent::Invoice`] (`Any` when no method was named) and for other intents when a
    /// method was named ("paguei no pix").
    pub payment_method: Option<PaymentMethodHint>,
}

/// The matcher's answer for one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub intent: Intent,
    /// 0..=1. For [`Intent::Unknown`] it is one minus the best rejected candidate's confidence.
    pub confidence: f32,
    /// Other candidates, best first (at most three), including the rejected best candidate when
    /// the intent is `Unknown` — useful for "você quis dizer…" buttons.
    pub alternatives: Vec<(Intent, f32)>,
    pub extracted: Extracted,
}

pub(crate) const REPLY_ID_PREFIX: &str = "intent:";

/// Maps an interactive reply id such as `"intent:invoice"`, `"intent:invoice:pix"`,
/// `"intent:human:financeiro"` or `"intent:number:2"` to a certain classification.
///
/// Returns `None` for ids that are not intent ids or carry an unknown name or qualifier, so the
/// caller can fall back to [`crate::Matcher::classify`] on the reply's title.
pub fn match_reply_id(id: &str) -> Option<Classification> {
    let rest = id.trim().strip_prefix(REPLY_ID_PREFIX)?;
    let (name, qualifier) = match rest.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (rest, None),
    };
    let intent: Intent = name.parse().ok()?;
    let mut extracted = Extracted::default();
    match (intent, qualifier) {
        (_, None) => {
            if intent == Intent::Invoice {
                extracted.payment_method = Some(PaymentMethodHint::Any);
            }
            if matches!(intent, Intent::Number | Intent::Document) {
                return None;
            }
        }
        (Intent::Invoice, Some(method)) => {
            extracted.payment_method = Some(match method.to_ascii_lowercase().as_str() {
                "pix" => PaymentMethodHint::Pix,
                "boleto" => PaymentMethodHint::Boleto,
                "any" => PaymentMethodHint::Any,
                _ => return None,
            });
        }
        (Intent::Human, Some(sector)) => extracted.sector = Some(Sector::parse(sector)?),
        (Intent::Number, Some(number)) => extracted.number = Some(number.trim().parse().ok()?),
        (Intent::Document, Some(document)) => {
            extracted.document = Some(crate::extract::find_document(document)?)
        }
        (_, Some(_)) => return None,
    }
    Some(Classification {
        intent,
        confidence: 1.0,
        alternatives: Vec::new(),
        extracted,
    })
}
