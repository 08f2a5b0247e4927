//! What a WhatsApp webhook delivery means once parsed: inbound messages, delivery statuses and
//! other changes, each routed by the business number's `phone_number_id`. The raw JSON of each item
//! is kept next to the parsed form so nothing WhatsApp sent is ever lost, including types this
//! version does not understand.

use crate::status::DeliveryStatus;
use crate::{Millis, WaId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything one POST carried, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Changes that are not messages or statuses (template status, account and quality updates…),
    /// and `errors` arrays of a `messages` change.
    pub other: Vec<OtherChange>,
}

impl WebhookBatch {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.statuses.is_empty() && self.other.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub phone_number_id: String,
    /// `wamid.…`: the deduplication key.
    pub wamid: String,
    /// Missing when WhatsApp only gives the business-scoped `user_id` (2026 usernames).
    pub from: Option<WaId>,
    pub user_id: Option<String>,
    /// The profile name from the change's `contacts` entry of the same sender.
    pub profile_name: Option<String>,
    /// Unix milliseconds (WhatsApp sends seconds as a string).
    pub timestamp: Millis,
    /// The `type` field as sent, e.g. `text`, `interactive`, `order`, or a type unknown today.
    pub message_type: String,
    pub content: MessageContent,
    pub context: Option<MessageContext>,
    pub referral: Option<Referral>,
    /// The message object exactly as received.
    pub raw: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        body: String,
    },
    ButtonReply {
        id: String,
        title: String,
    },
    ListReply {
        id: String,
        title: String,
        description: Option<String>,
    },
    /// Quick-reply button of a template (`type: "button"`).
    TemplateButton {
        payload: String,
        text: String,
    },
    Media {
        media: MediaKind,
        media_id: String,
        mime_type: Option<String>,
        sha256: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
        url: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
        url: Option<String>,
    },
    /// `emoji: None` means the reaction was removed.
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    /// Shared contact cards, kept as sent.
    Contacts {
        contacts: Value,
    },
    /// `unsupported` messages, with WhatsApp's error code (131051).
    Unsupported {
        error_code: Option<i64>,
    },
    /// `system`, `order`, `nfm_reply` or any type this version does not know: the raw JSON of the
    /// message carries everything.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    Video,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Document => "document",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Sticker => "sticker",
        }
    }
}

impl MessageContent {
    /// The text a person reads for this message (body, button title, caption…), if any.
    pub fn display_text(&self) -> Option<String> {
        match self {
            Self::Text { body } => Some(body.clone()),
            Self::ButtonReply { title, .. } | Self::ListReply { title, .. } => Some(title.clone()),
            Self::TemplateButton { text, .. } => Some(text.clone()),
            Self::Media {
                caption, filename, ..
            } => caption.clone().or_else(|| filename.clone()),
            Self::Location { name, address, .. } => name.clone().or_else(|| address.clone()),
            Self::Reaction { emoji, .. } => emoji.clone(),
            Self::Contacts { .. } | Self::Unsupported { .. } | Self::Other => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContext {
    /// The wamid this message replies to (for button replies: the message that carried the buttons).
    pub id: Option<String>,
    pub from: Option<String>,
    pub forwarded: bool,
    pub frequently_forwarded: bool,
}

/// Click-to-WhatsApp ad (or post) that started the conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub source_url: Option<String>,
    pub source_id: Option<String>,
    pub source_type: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    pub media_type: Option<String>,
    /// Missing for Status-ad placements.
    pub ctwa_clid: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    pub wamid: String,
    /// Only sent/delivered/read/failed come from WhatsApp; an unknown word is not a status and
    /// lands in [`OtherChange`] instead.
    pub status: DeliveryStatus,
    pub timestamp: Millis,
    pub recipient_id: Option<String>,
    /// Our own correlation key, echoed by WhatsApp: the outbox idempotency key.
    pub biz_opaque_callback_data: Option<String>,
    pub pricing: Option<Pricing>,
    pub errors: Vec<WaError>,
    pub raw: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub billable: Option<bool>,
    pub pricing_model: Option<String>,
    /// `regular`, `free_customer_service`, `free_entry_point`.
    pub pricing_type: Option<String>,
    /// `marketing`, `utility`, `authentication`, `service`, `referral_conversion`…
    pub category: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaError {
    pub code: i64,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherChange {
    /// `None` when the change carried no `metadata.phone_number_id` (account-level changes).
    pub phone_number_id: Option<String>,
    /// The change's `field` (`messages` for an `errors` array, or `message_template_status_update`…).
    pub field: String,
    pub raw: Value,
}
