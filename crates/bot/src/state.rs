//! The per-conversation state the engine stores as JSON between steps.

use crate::io::{LadderReminder, Waiting};
use crate::ladder::LadderAsk;
use balcao_domain::WaId;
use balcao_domain::br::Document;
use balcao_erp::{Contract, Customer, Invoice};
use balcao_intent::{Intent, PaymentMethodHint, Sector};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where the conversation is: what the bot last asked, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// No message handled yet.
    Start,
    /// Greeted; looking the subscriber up.
    Identifying,
    /// Asked for the CPF/CNPJ.
    AskDocument,
    /// Found by a document typed from a number not registered for that customer: asked for the
    /// registered phone or e-mail (see the LGPD policy in the crate documentation).
    ConfirmIdentity,
    ChooseCustomer,
    ChooseContract,
    /// Main menu shown.
    Menu,
    ChooseInvoice,
    /// Invoice summary shown with the Pix / Boleto / financeiro buttons.
    InvoiceMethod,
    /// Asked whether to request the trust unlock.
    ConfirmUnlock,
    /// Gave the router steps; asked whether the connection came back.
    ConnectionCheck,
    /// Asked which department.
    ChooseSector,
    /// Negotiating an invoice from a reminder: offered paying in full now, a new due date or
    /// instalments.
    Negotiation,
    /// "Já paguei" and the system still shows the invoice open: asked for the receipt (photo or
    /// PDF).
    AwaitReceipt,
    /// A flow ended; asked whether there is anything else.
    AfterFlow,
    /// People own the conversation now.
    HandedOff {
        sector: Sector,
    },
    Closed,
}

/// What the subscriber came for, once identification allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum Flow {
    Invoice {
        method: PaymentMethodHint,
    },
    Debts,
    Unlock,
    Connection,
    /// A reply to a billing-ladder reminder, about the reminder's invoice
    /// ([`BotState::reminder`]).
    Ladder {
        ask: LadderAsk,
    },
}

impl Flow {
    /// Tag of the reason of contact.
    pub fn tag(self) -> &'static str {
        match self {
            Flow::Invoice { .. } => "fatura",
            Flow::Debts => "debitos",
            Flow::Unlock => "desbloqueio",
            Flow::Connection => "conexao",
            Flow::Ladder { ask } => ask.tag(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Invoice { .. } => "invoice",
            Flow::Debts => "debts",
            Flow::Unlock => "unlock",
            Flow::Connection => "connection",
            Flow::Ladder { .. } => "ladder",
        }
    }

    /// pt-BR, for the attendant's summary.
    pub fn label(self) -> &'static str {
        match self {
            Flow::Invoice { .. } => "2ª via / Pix",
            Flow::Debts => "débitos em aberto",
            Flow::Unlock => "desbloqueio de confiança",
            Flow::Connection => "internet sem conexão",
            Flow::Ladder { .. } => "resposta a lembrete de cobrança",
        }
    }

    /// The department that handles this subject.
    pub fn sector(self) -> Sector {
        match self {
            Flow::Invoice { .. } | Flow::Debts | Flow::Unlock | Flow::Ladder { .. } => {
                Sector::Billing
            }
            Flow::Connection => Sector::Support,
        }
    }

    pub fn needs_contract(self) -> bool {
        matches!(self, Flow::Unlock | Flow::Connection)
    }
}

/// How the person on this WhatsApp number was tied to the customer record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// The ERP lists this number for the customer (found by phone).
    RegisteredPhone,
    /// Found by a typed document, and this number is among the customer's phones.
    DocumentAndRegisteredPhone,
    /// Found by a typed document from another number, then confirmed the registered phone or
    /// e-mail.
    DocumentAndConfirmation,
    /// Found by a typed document from another number; not confirmed yet. Invoice and contract
    /// data stay hidden.
    Pending,
}

impl Verification {
    pub fn is_verified(self) -> bool {
        !matches!(self, Verification::Pending)
    }

    /// pt-BR, for the attendant's summary.
    pub fn label(self) -> &'static str {
        match self {
            Verification::RegisteredPhone => "identificado pelo telefone cadastrado",
            Verification::DocumentAndRegisteredPhone => {
                "identificado pelo CPF/CNPJ; telefone cadastrado"
            }
            Verification::DocumentAndConfirmation => {
                "identificado pelo CPF/CNPJ e confirmado com dado cadastral"
            }
            Verification::Pending => {
                "CPF/CNPJ informado de número não cadastrado; identidade NÃO confirmada"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identified {
    pub customer: Customer,
    pub verification: Verification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InactivityPhase {
    /// The next firing sends the reminder.
    Reminder,
    /// The reminder went out; the next firing closes.
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inactivity {
    pub due_at: Timestamp,
    pub phase: InactivityPhase,
}

/// Journal lines kept for the handoff summary.
pub(crate) const JOURNAL_MAX: usize = 30;

/// The state of one conversation. Create it with [`BotState::new`] when the conversation opens,
/// store it (serde JSON) after every [`crate::step`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotState {
    pub(crate) protocol: String,
    pub(crate) started_at: Timestamp,
    pub(crate) stage: Stage,
    #[serde(default)]
    pub(crate) waiting_for: Option<Waiting>,
    #[serde(default)]
    pub(crate) wa_id: Option<WaId>,
    #[serde(default)]
    pub(crate) phone_lookup_done: bool,
    #[serde(default)]
    pub(crate) identified: Option<Identified>,
    /// Customers to choose from (several registered with this number).
    #[serde(default)]
    pub(crate) candidates: Vec<Customer>,
    /// The document looked up last (for the "not found" message).
    #[serde(default)]
    pub(crate) looked_up_document: Option<Document>,
    #[serde(default)]
    pub(crate) contracts: Option<Vec<Contract>>,
    #[serde(default)]
    pub(crate) contract: Option<Contract>,
    /// Open invoices of the current invoice flow, oldest due first.
    #[serde(default)]
    pub(crate) invoices: Vec<Invoice>,
    /// The invoice whose payment data is on offer.
    #[serde(default)]
    pub(crate) invoice: Option<Invoice>,
    #[serde(default = "any_method")]
    pub(crate) invoice_method: PaymentMethodHint,
    /// The flow to run once identification (and contract choice) allows it.
    #[serde(default)]
    pub(crate) pending: Option<Flow>,
    /// The subject of the conversation so far (for the handoff sector).
    #[serde(default)]
    pub(crate) last_flow: Option<Flow>,
    #[serde(default)]
    pub(crate) invalid_inputs: u32,
    #[serde(default)]
    pub(crate) document_attempts: u32,
    #[serde(default)]
    pub(crate) confirmation_attempts: u32,
    #[serde(default)]
    pub(crate) flows_completed: u32,
    #[serde(default)]
    pub(crate) menu_after_write: bool,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) intents: Vec<Intent>,
    #[serde(default)]
    pub(crate) journal: Vec<String>,
    #[serde(default)]
    pub(crate) inactivity: Option<Inactivity>,
    /// The billing-ladder reminder the subscriber answered, once a reply to one arrived.
    #[serde(default)]
    pub(crate) reminder: Option<LadderReminder>,
    /// A photo or PDF came in answer to a reminder before the bot asked for the receipt.
    #[serde(default)]
    pub(crate) receipt_received: bool,
}

fn any_method() -> PaymentMethodHint {
    PaymentMethodHint::Any
}

impl BotState {
    /// A new conversation with its Anatel protocol number (generated by the engine) and the
    /// instant the contact began.
    pub fn new(protocol: impl Into<String>, started_at: Timestamp) -> BotState {
        BotState {
            protocol: protocol.into(),
            started_at,
            stage: Stage::Start,
            waiting_for: None,
            wa_id: None,
            phone_lookup_done: false,
            identified: None,
            candidates: Vec::new(),
            looked_up_document: None,
            contracts: None,
            contract: None,
            invoices: Vec::new(),
            invoice: None,
            invoice_method: PaymentMethodHint::Any,
            pending: None,
            last_flow: None,
            invalid_inputs: 0,
            document_attempts: 0,
            confirmation_attempts: 0,
            flows_completed: 0,
            menu_after_write: false,
            tags: Vec::new(),
            intents: Vec::new(),
            journal: Vec::new(),
            inactivity: None,
            reminder: None,
            receipt_received: false,
        }
    }

    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The ERP answer the bot expects next, if any.
    pub fn waiting_for(&self) -> Option<Waiting> {
        self.waiting_for
    }

    /// The customer the conversation is about, with how they were identified.
    pub fn identified(&self) -> Option<&Identified> {
        self.identified.as_ref()
    }

    pub fn contract(&self) -> Option<&Contract> {
        self.contract.as_ref()
    }

    /// Tags emitted so far.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The billing-ladder reminder the conversation answers, if any.
    pub fn reminder(&self) -> Option<&LadderReminder> {
        self.reminder.as_ref()
    }

    /// When the inactivity timer is expected to fire, if armed.
    pub fn inactivity(&self) -> Option<Inactivity> {
        self.inactivity
    }

    /// Handed off or closed: the bot no longer drives the conversation (it still answers a
    /// stray inbound message, and reports a pending unlock or ticket).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::HandedOff { .. } | Stage::Closed)
    }

    /// The bot ended the contact itself (resolved, abandoned), as opposed to handing it to people.
    pub fn is_closed(&self) -> bool {
        matches!(self.stage, Stage::Closed)
    }

    pub(crate) fn push_journal(&mut self, line: String) {
        if self.journal.len() >= JOURNAL_MAX {
            self.journal.remove(0);
        }
        self.journal.push(line);
    }

    /// Back to the start with the same protocol (a message after the close).
    pub(crate) fn reopen(&mut self) {
        let mut fresh = BotState::new(std::mem::take(&mut self.protocol), self.started_at);
        fresh.journal = std::mem::take(&mut self.journal);
        fresh.tags = std::mem::take(&mut self.tags);
        fresh.intents = std::mem::take(&mut self.intents);
        fresh.reminder = self.reminder.take();
        *self = fresh;
    }
}
