//! Replies to the billing ladder's reminders ("régua de cobrança"), as pure rules: the
//! quick-reply payloads the ladder puts on its templates, what a reply asks for, the negotiation
//! options, and the words that mean "negotiate" or "I have no receipt".
//!
//! The ladder (`balcao_ladder`, sent by the engine) gives each template button the payload
//! `ladder:<code>:<invoice>`, with `<code>` from [`ButtonAction::code`]. A reply goes straight
//! to that invoice once the subscriber is identified (see the LGPD policy in the crate
//! documentation): the bot looks it up among the customer's open invoices, so an id that is not
//! theirs, or no longer open, shows nothing.

use balcao_domain::webhook::MediaKind;
use balcao_intent::PaymentMethodHint;
use balcao_ladder::ButtonAction;
use serde::{Deserialize, Serialize};

const PAYLOAD_PREFIX: &str = "ladder:";

/// Every button a ladder template can carry (the codes are parsed against this list).
const BUTTON_ACTIONS: [ButtonAction; 6] = [
    ButtonAction::PayWithPix,
    ButtonAction::ViewBoleto,
    ButtonAction::Negotiate,
    ButtonAction::AlreadyPaid,
    ButtonAction::TalkToFinance,
    ButtonAction::StopReminders,
];

/// A reply id that starts with `ladder:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LadderPayload {
    Button {
        action: ButtonAction,
        invoice_id: String,
    },
    /// An unknown code or no invoice (`ladder:xyz`): the reply's title is read instead.
    Malformed,
}

/// `None` when `id` is not a ladder payload at all.
pub(crate) fn parse_payload(id: &str) -> Option<LadderPayload> {
    let rest = id.trim().strip_prefix(PAYLOAD_PREFIX)?;
    let Some((code, invoice_id)) = rest.split_once(':') else {
        return Some(LadderPayload::Malformed);
    };
    let action = BUTTON_ACTIONS.into_iter().find(|a| a.code() == code);
    match action {
        Some(action) if !invoice_id.trim().is_empty() => Some(LadderPayload::Button {
            action,
            invoice_id: invoice_id.trim().to_owned(),
        }),
        _ => Some(LadderPayload::Malformed),
    }
}

/// What a reply to a reminder asks for, run as [`crate::Flow::Ladder`] once identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum LadderAsk {
    /// "Pagar com Pix", "Ver boleto", or "manda o pix" typed after a reminder.
    Pay {
        method: PaymentMethodHint,
    },
    Negotiate,
    /// "Já paguei": check the system now, then the receipt.
    AlreadyPaid,
    TalkToFinance,
}

impl LadderAsk {
    /// `None` for the stop button: the ladder records the opt-out itself.
    pub(crate) fn of_button(action: ButtonAction) -> Option<LadderAsk> {
        Some(match action {
            ButtonAction::PayWithPix => LadderAsk::Pay {
                method: PaymentMethodHint::Pix,
            },
            ButtonAction::ViewBoleto => LadderAsk::Pay {
                method: PaymentMethodHint::Boleto,
            },
            ButtonAction::Negotiate => LadderAsk::Negotiate,
            ButtonAction::AlreadyPaid => LadderAsk::AlreadyPaid,
            ButtonAction::TalkToFinance => LadderAsk::TalkToFinance,
            ButtonAction::StopReminders => return None,
        })
    }

    /// Tag of the reason of contact.
    pub fn tag(self) -> &'static str {
        match self {
            LadderAsk::Pay {
                method: PaymentMethodHint::Pix,
            } => "regua_pix",
            LadderAsk::Pay {
                method: PaymentMethodHint::Boleto,
            } => "regua_boleto",
            LadderAsk::Pay {
                method: PaymentMethodHint::Any,
            } => "regua_fatura",
            LadderAsk::Negotiate => "regua_negociacao",
            LadderAsk::AlreadyPaid => "pagamento_informado",
            LadderAsk::TalkToFinance => "regua_financeiro",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LadderAsk::Pay {
                method: PaymentMethodHint::Pix,
            } => "pix",
            LadderAsk::Pay {
                method: PaymentMethodHint::Boleto,
            } => "boleto",
            LadderAsk::Pay {
                method: PaymentMethodHint::Any,
            } => "invoice",
            LadderAsk::Negotiate => "negotiate",
            LadderAsk::AlreadyPaid => "already_paid",
            LadderAsk::TalkToFinance => "talk_to_finance",
        }
    }

    /// pt-BR, for the attendant's summary.
    pub fn label(self) -> &'static str {
        match self {
            LadderAsk::Pay {
                method: PaymentMethodHint::Pix,
            } => "pagar com Pix",
            LadderAsk::Pay {
                method: PaymentMethodHint::Boleto,
            } => "ver o boleto",
            LadderAsk::Pay {
                method: PaymentMethodHint::Any,
            } => "2ª via da fatura",
            LadderAsk::Negotiate => "negociar",
            LadderAsk::AlreadyPaid => "já paguei",
            LadderAsk::TalkToFinance => "falar com o financeiro",
        }
    }
}

/// The choices offered when a subscriber negotiates an invoice from a reminder.
///
/// None of the six supported management systems lets a client change a due date or split an
/// invoice through its API (RadiusNet only records a payment promise), so [`NewDueDate`] and
/// [`Instalments`] are requests the billing team handles: the bot hands off with the choice and
/// the invoice in the summary. A system that offers them would get an ERP action of its own
/// (like [`crate::Action::TrustUnlock`]), emitted instead of that handoff when the connected
/// system supports it.
///
/// [`NewDueDate`]: NegotiationOption::NewDueDate
/// [`Instalments`]: NegotiationOption::Instalments
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegotiationOption {
    /// Pay the updated amount now: the invoice's Pix and boleto.
    PayInFull,
    NewDueDate,
    Instalments,
}

impl NegotiationOption {
    /// In the order of their numbers (1, 2, 3).
    pub const ALL: [NegotiationOption; 3] = [
        NegotiationOption::PayInFull,
        NegotiationOption::NewDueDate,
        NegotiationOption::Instalments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NegotiationOption::PayInFull => "pay_in_full",
            NegotiationOption::NewDueDate => "new_due_date",
            NegotiationOption::Instalments => "instalments",
        }
    }

    /// The id of its button, `bot:negotiate:<option>`.
    pub(crate) fn reply_id(self) -> String {
        format!("bot:negotiate:{}", self.as_str())
    }

    pub(crate) fn of_reply_id(id: &str) -> Option<NegotiationOption> {
        let name = id.trim().strip_prefix("bot:negotiate:")?;
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The option numbered `number` in the message (1-based).
    pub(crate) fn of_number(number: usize) -> Option<NegotiationOption> {
        number
            .checked_sub(1)
            .and_then(|index| Self::ALL.get(index).copied())
    }

    /// The option a typed answer names ("quero parcelar", "mudar a data"); the pay-in-full
    /// answers ("pagar agora", "manda o pix") are the matcher's invoice intent.
    pub(crate) fn of_words(normalized: &str) -> Option<NegotiationOption> {
        let words: Vec<&str> = normalized.split_whitespace().collect();
        let any = |prefixes: &[&str]| {
            words
                .iter()
                .any(|word| prefixes.iter().any(|prefix| word.starts_with(prefix)))
        };
        if any(&["parcel", "dividir", "divide", "vezes"]) {
            Some(NegotiationOption::Instalments)
        } else if any(&[
            "data",
            "vencimento",
            "prorrog",
            "adiar",
            "adia",
            "mudar",
            "trocar",
        ]) {
            Some(NegotiationOption::NewDueDate)
        } else {
            None
        }
    }

    /// pt-BR, for the attendant's summary ("pediu parcelamento da fatura …").
    pub fn request_label(self) -> &'static str {
        match self {
            NegotiationOption::PayInFull => "pagamento do valor total",
            NegotiationOption::NewDueDate => "nova data de vencimento",
            NegotiationOption::Instalments => "parcelamento",
        }
    }
}

/// A typed wish to negotiate ("quero negociar", "dá pra parcelar?", "fazer um acordo"), which
/// the intent matcher does not know as such. Only whole phrases count: "de acordo com…" and
/// "paguei a parcela" are about something else.
pub(crate) fn asks_to_negotiate(normalized: &str) -> bool {
    let by_word = normalized.split_whitespace().any(|word| {
        // "parcela(s)" alone is an instalment already agreed, not a wish to split the bill.
        ["negoci", "renegoci", "parcelar", "parcelament", "parcelad"]
            .iter()
            .any(|prefix| word.starts_with(prefix))
    });
    let padded = format!(" {normalized} ");
    by_word
        || [
            "fazer acordo",
            "fazer um acordo",
            "quero acordo",
            "quero um acordo",
            "queria acordo",
            "queria um acordo",
            "propor acordo",
            "propor um acordo",
            "proposta de acordo",
        ]
        .iter()
        .any(|phrase| padded.contains(&format!(" {phrase} ")))
}

/// "Não tenho", "perdi o comprovante", "não achei": no receipt to send.
pub(crate) fn has_no_receipt(normalized: &str) -> bool {
    let padded = format!(" {normalized} ");
    [
        "nao tenho",
        "nao tem",
        "perdi",
        "sem comprovante",
        "nao achei",
        "nao acho",
        "nao encontrei",
        "nao encontro",
        "nao guardei",
        "nao consigo",
        "nao sei",
    ]
    .iter()
    .any(|phrase| padded.contains(&format!(" {phrase} ")))
}

/// A photo or a PDF can be a receipt; an audio, video or sticker cannot.
pub(crate) fn is_receipt(media: MediaKind) -> bool {
    matches!(media, MediaKind::Image | MediaKind::Document)
}

/// "D+3" for the step key "d+3" (the default ladders' keys); other keys as written.
pub(crate) fn step_label(step: &str) -> String {
    let step = step.trim();
    match step.strip_prefix('d') {
        Some(rest)
            if rest.is_empty()
                || rest.starts_with(['+', '-'])
                || rest.chars().all(|c| c.is_ascii_digit()) =>
        {
            format!("D{rest}")
        }
        _ => step.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_intent::normalize;

    #[test]
    fn payloads_of_every_ladder_button_parse() {
        for action in BUTTON_ACTIONS {
            let payload = format!("ladder:{}:inv-9", action.code());
            assert_eq!(
                parse_payload(&payload),
                Some(LadderPayload::Button {
                    action,
                    invoice_id: "inv-9".into()
                })
            );
        }
        // Invoice ids may contain ':' (only the first one separates the code).
        assert_eq!(
            parse_payload("ladder:pix:a:b"),
            Some(LadderPayload::Button {
                action: ButtonAction::PayWithPix,
                invoice_id: "a:b".into()
            })
        );
    }

    #[test]
    fn garbage_ladder_payloads_are_malformed_and_others_are_not_ladder() {
        for garbage in [
            "ladder:xyz",
            "ladder:",
            "ladder:pix:",
            "ladder:xyz:1",
            "ladder:d-2:1",
        ] {
            assert_eq!(
                parse_payload(garbage),
                Some(LadderPayload::Malformed),
                "{garbage}"
            );
        }
        assert_eq!(parse_payload("bot:pix"), None);
        assert_eq!(parse_payload("intent:invoice"), None);
    }

    #[test]
    fn only_the_stop_button_is_not_an_ask() {
        for action in BUTTON_ACTIONS {
            assert_eq!(
                LadderAsk::of_button(action).is_none(),
                action == ButtonAction::StopReminders,
                "{action:?}"
            );
        }
    }

    #[test]
    fn negotiation_words_and_options() {
        for yes in [
            "quero negociar",
            "Negociação",
            "da pra parcelar?",
            "fazer um acordo",
            "quero fazer acordo",
            "quero um acordo",
            "renegociar a dívida",
            "tem parcelamento?",
            "posso pagar parcelado?",
            "negociacao",
        ] {
            assert!(asks_to_negotiate(&normalize(yes)), "{yes}");
        }
        for no in [
            "quero o pix",
            "negativo",
            "já paguei",
            "paguei a parcela",
            "a parcela de dezembro",
            "de acordo com o site a fatura venceu",
            "estou de acordo",
            "acordo cedo",
        ] {
            assert!(!asks_to_negotiate(&normalize(no)), "{no}");
        }
        assert_eq!(
            NegotiationOption::of_words(&normalize("quero parcelar em 3 vezes")),
            Some(NegotiationOption::Instalments)
        );
        assert_eq!(
            NegotiationOption::of_words(&normalize("dá pra mudar a data?")),
            Some(NegotiationOption::NewDueDate)
        );
        assert_eq!(NegotiationOption::of_words(&normalize("oi")), None);
        for option in NegotiationOption::ALL {
            assert_eq!(
                NegotiationOption::of_reply_id(&option.reply_id()),
                Some(option)
            );
        }
        assert_eq!(
            NegotiationOption::of_number(3),
            Some(NegotiationOption::Instalments)
        );
        assert_eq!(NegotiationOption::of_number(0), None);
        assert_eq!(NegotiationOption::of_number(4), None);
    }

    #[test]
    fn no_receipt_phrases() {
        for yes in [
            "não tenho",
            "Perdi o comprovante",
            "sem comprovante",
            "não achei",
        ] {
            assert!(has_no_receipt(&normalize(yes)), "{yes}");
        }
        for no in ["tenho sim", "vou mandar", "segue o comprovante"] {
            assert!(!has_no_receipt(&normalize(no)), "{no}");
        }
    }

    #[test]
    fn step_labels() {
        assert_eq!(step_label("d+3"), "D+3");
        assert_eq!(step_label("d-5"), "D-5");
        assert_eq!(step_label("d0"), "D0");
        assert_eq!(step_label("aviso"), "aviso");
    }
}
