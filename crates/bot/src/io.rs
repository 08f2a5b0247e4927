//! What the engine feeds the bot ([`Input`]) and what the bot asks the engine to do ([`Action`]).

use balcao_domain::WaId;
use balcao_domain::br::Document;
use balcao_domain::outbound::OutboundContent;
use balcao_domain::webhook::MediaKind;
use balcao_erp::{
    ConnectionStatus, Contract, Customer, ErpError, Invoice, NewTicket, Ticket, UnlockResult,
};
use balcao_intent::Sector;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One thing that happened to the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// A message from the subscriber. `text` is the body (or the title of a tapped button/row,
    /// or a media caption); `reply_id` is the id of a tapped button/row or the payload of a
    /// template's quick reply. Both `None` for media without a caption.
    Inbound {
        text: Option<String>,
        reply_id: Option<String>,
        wa_id: WaId,
        at: Timestamp,
        /// The kind of a media message (a photo or PDF can be a payment receipt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<MediaKind>,
        /// The billing-ladder reminder this message answers, when the engine knows it: the
        /// reminder the conversation received before this message, or the one a tapped
        /// quick reply belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reminder: Option<LadderReminder>,
    },
    /// The answer to the ERP action the bot emitted last.
    Erp(ErpOutcome),
    /// A timer set by [`Action::ScheduleInactivity`] fired; `at` is the instant it was scheduled
    /// for (or later). Timers the bot no longer expects are ignored, so the engine may leave
    /// replaced timers in place.
    InactivityTimer { at: Timestamp },
}

/// A billing-ladder reminder (a template the ladder sent with the idempotency key
/// `ladder:<step>:<invoice>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderReminder {
    /// The management system's id of the invoice the reminder is about.
    pub invoice_id: String,
    /// The ladder step that sent it ("d+3"), when known.
    #[serde(default)]
    pub step: Option<String>,
}

/// Why an ERP call failed, as the bot needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErpFailure {
    /// Down, slow or rate limited ([`ErpError::is_transient`]).
    Unavailable { detail: String },
    /// The system has no such operation: the bot offers the human path.
    NotSupported { detail: String },
    /// No such record.
    NotFound,
    /// Anything else (credentials refused, unreadable answer, business refusal).
    Failed { detail: String },
}

impl From<&ErpError> for ErpFailure {
    fn from(error: &ErpError) -> Self {
        let detail = error.to_string();
        match error {
            ErpError::NotSupported { .. } => ErpFailure::NotSupported { detail },
            ErpError::NotFound => ErpFailure::NotFound,
            error if error.is_transient() => ErpFailure::Unavailable { detail },
            _ => ErpFailure::Failed { detail },
        }
    }
}

impl From<ErpError> for ErpFailure {
    fn from(error: ErpError) -> Self {
        ErpFailure::from(&error)
    }
}

impl ErpFailure {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErpFailure::Unavailable { .. } => "unavailable",
            ErpFailure::NotSupported { .. } => "not_supported",
            ErpFailure::NotFound => "not_found",
            ErpFailure::Failed { .. } => "failed",
        }
    }

    /// pt-BR, for the attendant's summary.
    pub fn describe(&self) -> String {
        match self {
            ErpFailure::Unavailable { detail } => {
                format!("sistema indisponível ou lento ({detail})")
            }
            ErpFailure::NotSupported { detail } => format!("operação não suportada ({detail})"),
            ErpFailure::NotFound => "registro não encontrado".to_owned(),
            ErpFailure::Failed { detail } => format!("falha ({detail})"),
        }
    }
}

/// The result of an ERP action, one variant per action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "result", rename_all = "snake_case")]
pub enum ErpOutcome {
    /// For [`Action::LookupByPhone`]: every customer registered with either 9th-digit form.
    CustomersByPhone(Result<Vec<Customer>, ErpFailure>),
    /// For [`Action::LookupByDocument`].
    CustomerByDocument(Result<Option<Customer>, ErpFailure>),
    /// For [`Action::FetchContracts`].
    Contracts(Result<Vec<Contract>, ErpFailure>),
    /// For [`Action::FetchOpenInvoices`].
    OpenInvoices(Result<Vec<Invoice>, ErpFailure>),
    /// For [`Action::FetchInvoice`]: the invoice as the system has it now (paid ones included);
    /// `NotFound` when the system no longer lists it.
    Invoice(Result<Invoice, ErpFailure>),
    /// For [`Action::TrustUnlock`].
    Unlock(Result<UnlockResult, ErpFailure>),
    /// For [`Action::CheckConnection`].
    Connection(Result<ConnectionStatus, ErpFailure>),
    /// For [`Action::OpenTicket`].
    Ticket(Result<Ticket, ErpFailure>),
}

impl ErpOutcome {
    pub fn waiting(&self) -> Waiting {
        match self {
            ErpOutcome::CustomersByPhone(_) => Waiting::CustomersByPhone,
            ErpOutcome::CustomerByDocument(_) => Waiting::CustomerByDocument,
            ErpOutcome::Contracts(_) => Waiting::Contracts,
            ErpOutcome::OpenInvoices(_) => Waiting::OpenInvoices,
            ErpOutcome::Invoice(_) => Waiting::Invoice,
            ErpOutcome::Unlock(_) => Waiting::Unlock,
            ErpOutcome::Connection(_) => Waiting::Connection,
            ErpOutcome::Ticket(_) => Waiting::Ticket,
        }
    }
}

/// The ERP answer the bot is waiting for (at most one at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    CustomersByPhone,
    CustomerByDocument,
    Contracts,
    OpenInvoices,
    Invoice,
    Unlock,
    Connection,
    Ticket,
}

impl Waiting {
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::CustomersByPhone => "customers_by_phone",
            Waiting::CustomerByDocument => "customer_by_document",
            Waiting::Contracts => "contracts",
            Waiting::OpenInvoices => "open_invoices",
            Waiting::Invoice => "invoice",
            Waiting::Unlock => "trust_unlock",
            Waiting::Connection => "connection_status",
            Waiting::Ticket => "open_ticket",
        }
    }

    /// Writes change the ERP: their answer is always reported to the subscriber, even after
    /// "menu" or a handoff, because the unlock or the ticket happened either way.
    pub fn is_write(self) -> bool {
        matches!(self, Waiting::Unlock | Waiting::Ticket)
    }

    /// pt-BR label for the attendant's summary.
    pub fn label(self) -> &'static str {
        match self {
            Waiting::CustomersByPhone => "busca de cliente por telefone",
            Waiting::CustomerByDocument => "busca de cliente por CPF/CNPJ",
            Waiting::Contracts => "consulta de contratos",
            Waiting::OpenInvoices => "consulta de faturas em aberto",
            Waiting::Invoice => "consulta da fatura",
            Waiting::Unlock => "desbloqueio de confiança",
            Waiting::Connection => "consulta de conexão",
            Waiting::Ticket => "abertura de chamado",
        }
    }
}

/// How the bot's part of the conversation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A flow completed and the subscriber said thanks / nothing more.
    ResolvedByBot,
    /// Passed to people ([`Action::Handoff`]).
    HandedOff,
    /// Closed for inactivity.
    Abandoned,
}

/// What the engine must do, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Send to the subscriber (already within WhatsApp's limits).
    Send(OutboundContent),
    /// ERP: customers registered with this number, either 9th-digit form.
    /// Answer with [`ErpOutcome::CustomersByPhone`].
    LookupByPhone(WaId),
    /// ERP: the customer with this CPF/CNPJ. Answer with [`ErpOutcome::CustomerByDocument`].
    LookupByDocument(Document),
    /// ERP: the customer's contracts. Answer with [`ErpOutcome::Contracts`].
    FetchContracts(Customer),
    /// ERP: the customer's open invoices. Answer with [`ErpOutcome::OpenInvoices`].
    FetchOpenInvoices(Customer),
    /// ERP: one invoice of the customer read fresh, never from a cache (did a payment post?).
    /// Only emitted for an invoice found among the customer's open invoices, so it belongs to
    /// them. Answer with [`ErpOutcome::Invoice`].
    FetchInvoice {
        customer: Customer,
        invoice_id: String,
    },
    /// ERP (write): trust unlock of the contract. Answer with [`ErpOutcome::Unlock`].
    TrustUnlock(Contract),
    /// ERP: connection status of the contract. Answer with [`ErpOutcome::Connection`].
    CheckConnection(Contract),
    /// ERP (write): open a ticket. Answer with [`ErpOutcome::Ticket`].
    OpenTicket(NewTicket),
    /// Pass the conversation to people of `sector`; `summary` (pt-BR) tells them what the bot did.
    Handoff { sector: Sector, summary: String },
    /// Label the conversation (reason of contact).
    Tag(String),
    /// The bot's outcome for this conversation (for reports).
    Resolve(Resolution),
    /// Append an event to the conversation's history.
    Record {
        kind: &'static str,
        data: serde_json::Value,
    },
    /// (Re)arm the conversation's inactivity timer to fire at `at` with
    /// [`Input::InactivityTimer`].
    ScheduleInactivity { at: Timestamp },
    /// Close the conversation.
    Close,
}

impl Action {
    pub fn is_erp(&self) -> bool {
        matches!(
            self,
            Action::LookupByPhone(_)
                | Action::LookupByDocument(_)
                | Action::FetchContracts(_)
                | Action::FetchOpenInvoices(_)
                | Action::FetchInvoice { .. }
                | Action::TrustUnlock(_)
                | Action::CheckConnection(_)
                | Action::OpenTicket(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_erp::Operation;

    #[test]
    fn erp_errors_map_to_what_the_bot_acts_on() {
        assert!(matches!(
            ErpFailure::from(ErpError::Timeout),
            ErpFailure::Unavailable { .. }
        ));
        assert!(matches!(
            ErpFailure::from(ErpError::RateLimited),
            ErpFailure::Unavailable { .. }
        ));
        assert!(matches!(
            ErpFailure::from(ErpError::not_supported(Operation::TrustUnlock)),
            ErpFailure::NotSupported { .. }
        ));
        assert_eq!(ErpFailure::from(ErpError::NotFound), ErpFailure::NotFound);
        assert!(matches!(
            ErpFailure::from(ErpError::Unauthorized),
            ErpFailure::Failed { .. }
        ));
    }

    #[test]
    fn inputs_round_trip_through_json() {
        let input = Input::Erp(ErpOutcome::Unlock(Err(ErpFailure::NotFound)));
        let json = serde_json::to_string(&input).unwrap();
        assert_eq!(serde_json::from_str::<Input>(&json).unwrap(), input);
    }
}
