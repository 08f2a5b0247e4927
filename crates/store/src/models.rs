//! Rows as the application sees them. Timestamps are unix milliseconds ([`Millis`]).

use balcao_domain::outbound::{OutboundContent, SendError};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::Referral;
use balcao_domain::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWorkspace {
    pub slug: String,
    pub name: String,
    /// IANA time zone of the provider, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNumber {
    /// Meta's id of the number, the webhook routing key.
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    /// Messages per second this number may send (80 by default, 1,000 after the upgrade).
    pub throughput_mps: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppNumber {
    pub id: NumberId,
    pub workspace_id: WorkspaceId,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub throughput_mps: u32,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub number_id: NumberId,
    pub name: String,
    pub language: String,
    /// MARKETING, UTILITY or AUTHENTICATION.
    pub category: String,
    /// APPROVED, PENDING, REJECTED, PAUSED, DISABLED…
    pub status: String,
    /// Body with `{{1}}`-style placeholders.
    pub body: String,
    pub body_params: u32,
}

/// What one webhook delivery added.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    pub messages_new: u32,
    pub messages_duplicate: u32,
    pub statuses_new: u32,
    pub statuses_duplicate: u32,
    /// Items kept in `unrouted`: unknown `phone_number_id` or non-message changes.
    pub unrouted: u32,
    /// Conversations that received a new inbound message, with their workspace, for the engine
    /// to process at once.
    pub conversations: Vec<(WorkspaceId, ConversationId)>,
    /// New inbound messages, in delivery order.
    pub new_messages: Vec<MessageId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeadLetter {
    /// Where it came from, e.g. `whatsapp_webhook`.
    pub source: String,
    /// Why it was not processed, e.g. the JSON parse error.
    pub reason: String,
    /// The body as received (lossy UTF-8 for non-text bodies).
    pub body: String,
    pub received_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: i64,
    pub source: String,
    pub reason: String,
    pub body: String,
    pub received_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnroutedItem {
    pub id: i64,
    pub phone_number_id: Option<String>,
    /// `message`, `status`, or the change's field.
    pub kind: String,
    pub raw: Value,
    pub received_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    /// The wa_id last seen from WhatsApp (inbound `from` or a send answer's `wa_id`).
    pub wa_id: WaId,
    /// `WaId::match_key`: equal for both 9th-digit forms.
    pub match_key: String,
    pub profile_name: Option<String>,
    /// Business-scoped user id (2026), when WhatsApp sends one.
    pub user_id: Option<String>,
    pub created_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub number_id: NumberId,
    pub contact_id: ContactId,
    /// The contact's wa_id (as last seen), for listing without a join on the caller's side.
    pub wa_id: WaId,
    pub contact_name: Option<String>,
    pub status: ConversationStatus,
    pub opened_at: Millis,
    pub closed_at: Option<Millis>,
    pub last_message_at: Millis,
    /// Opens the 24-hour window.
    pub last_inbound_at: Option<Millis>,
    /// The ad or post that started it, when the first message carried a referral.
    pub referral: Option<Referral>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationFilter {
    pub wa_id: Option<WaId>,
    pub status: Option<ConversationStatus>,
    /// Keyset pagination in listing order (newest activity first): the id of the last
    /// conversation of the previous page; the page starts right after it.
    pub before: Option<ConversationId>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in" => Some(Self::In),
            "out" => Some(Self::Out),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub number_id: NumberId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub direction: Direction,
    /// `None` for outbound messages not yet accepted by WhatsApp.
    pub wamid: Option<String>,
    /// Inbound: WhatsApp's `type`; outbound: [`OutboundContent::kind`].
    pub message_type: String,
    /// What a person reads (body, button title, caption, template rendering…).
    pub text: Option<String>,
    /// Inbound: the raw message object; outbound: the [`OutboundContent`] as JSON.
    pub payload: Value,
    /// Outbound only: delivery status. Inbound messages carry `None`.
    pub status: Option<DeliveryStatus>,
    pub error: Option<SendError>,
    /// Pricing category and type from the status webhooks (`utility`, `regular`…).
    pub pricing_category: Option<String>,
    pub pricing_type: Option<String>,
    pub billable: Option<bool>,
    /// Outbound: the destination as asked and the wa_id WhatsApp answered with.
    pub to_wa_id: Option<WaId>,
    pub sent_wa_id: Option<WaId>,
    pub idempotency_key: Option<String>,
    pub attempts: u32,
    /// WhatsApp's timestamp for inbound; creation time for outbound.
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewOutbound {
    pub number_id: NumberId,
    pub to: WaId,
    pub content: OutboundContent,
    /// Makes the enqueue idempotent within the workspace; also sent to WhatsApp as
    /// `biz_opaque_callback_data` so a send whose answer was lost can be reconciled from statuses.
    /// When `None`, the store generates one (`msg-<id>`).
    pub idempotency_key: Option<String>,
    /// Who asked: `api`, `bot`, `agent:<id>`, `system`…
    pub author: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enqueued {
    pub message: Message,
    /// `false` when the idempotency key was already used: nothing was written.
    pub created: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboundJob {
    pub message_id: MessageId,
    pub workspace_id: WorkspaceId,
    pub number_id: NumberId,
    pub conversation_id: ConversationId,
    /// Where to send: the contact's current wa_id (which may differ from what was asked).
    pub to: WaId,
    pub content: OutboundContent,
    pub idempotency_key: String,
    /// Including this claim.
    pub attempts: u32,
    pub last_inbound_at: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SendOutcome {
    Accepted {
        message_id: MessageId,
        wamid: String,
        /// `contacts[0].wa_id` of the answer; recorded on the contact when it differs from `to`.
        wa_id: Option<WaId>,
    },
    Retry {
        message_id: MessageId,
        next_attempt_at: Millis,
        error: SendError,
    },
    Deferred {
        message_id: MessageId,
        next_attempt_at: Millis,
    },
    Failed {
        message_id: MessageId,
        error: SendError,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    /// `message_in`, `message_out`, `status`, `send_retry`, `send_failed`… (later issues add more).
    pub kind: String,
    pub message_id: Option<MessageId>,
    pub data: Value,
    pub created_at: Millis,
}

/// A workspace's provider management system. `sealed_auth` is the auth pairs sealed with the
/// installation's master key: the store never sees them in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpConnection {
    pub workspace_id: WorkspaceId,
    /// `sgp`, `ixc`, `hubsoft`, `mkauth`, `voalle` or `radiusnet`.
    pub system: String,
    pub base_url: String,
    pub sealed_auth: String,
    /// Payments up to this moment were already turned into events (None: never polled).
    pub payment_cursor: Option<Millis>,
    pub updated_at: Millis,
}

/// An invoice seen paid in the management system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPaymentEvent {
    /// The invoice's id in the management system: one event per invoice, ever.
    pub invoice_erp_id: String,
    pub contract_erp_id: Option<String>,
    pub customer_erp_id: Option<String>,
    pub paid_at: Millis,
    pub amount_cents: i64,
    /// How it was detected, e.g. `poll:sgp`.
    pub detected_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub invoice_erp_id: String,
    pub contract_erp_id: Option<String>,
    pub customer_erp_id: Option<String>,
    pub paid_at: Millis,
    pub amount_cents: i64,
    pub detected_by: String,
    pub recorded_at: Millis,
}

/// The self-service bot's durable state for one conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotSession {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    /// Anatel protocol number given to the subscriber (unique per workspace).
    pub protocol: String,
    /// The bot's serialized state (balcao_bot::BotState as JSON).
    pub state: Value,
    /// The last inbound message the bot has processed (None: none yet).
    pub last_message_id: Option<MessageId>,
    /// When the inactivity timer fires (None: no timer).
    pub timer_due_at: Option<Millis>,
    /// Handed off or closed: the bot no longer answers.
    pub finished: bool,
    pub updated_at: Millis,
}

/// What the bot decided for one conversation, stored together (see [`Store::save_bot_turns`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BotTurn {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    /// `None`: replies decided before a management-system call, stored ahead of the session.
    pub session: Option<BotSession>,
    pub events: Vec<NewEvent>,
    pub replies: Vec<NewOutbound>,
    /// The bot ended the contact (not a handoff): the conversation closes with the turn, so the
    /// subscriber's next message opens a new one with a new protocol.
    pub close_conversation: bool,
    pub now: Millis,
}

/// An event to append to a conversation's log (see [`Event`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub kind: String,
    pub message_id: Option<MessageId>,
    pub data: Value,
}
