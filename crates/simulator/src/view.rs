//! What the phone shows, as served by `GET /simulator/api/chats/{wa_id}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the subscriber (the phone) to the business.
    In,
    /// From the business to the subscriber.
    Out,
}

/// Ordered: a status never moves backwards, and `failed` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// An interactive reply button; tapping sends `button_reply`.
    ButtonReply,
    /// A template quick-reply button; tapping sends `template_button` with the payload.
    TemplateButton,
}

/// A tappable reply on an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyOption {
    pub kind: ReplyKind,
    /// The button id, or the template button's payload.
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub text: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListView {
    pub button: String,
    pub sections: Vec<ListSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    /// The sent link, or the simulator's own URL for an uploaded media id.
    pub link: String,
    pub filename: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageView {
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationView {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub direction: Direction,
    /// The WhatsApp message type (`text`, `template`, `interactive`, `button`, `document` …).
    #[serde(rename = "type")]
    pub kind: String,
    /// What the phone shows: rendered template (header line, then body), interactive body, caption.
    pub text: Option<String>,
    pub footer: Option<String>,
    /// Titles of the tappable replies (see `reply_options` for ids and payloads).
    pub buttons: Vec<String>,
    pub reply_options: Vec<ReplyOption>,
    /// Template URL buttons and call-to-action links.
    pub links: Vec<LinkView>,
    pub list: Option<ListView>,
    pub document: Option<DocumentView>,
    pub image: Option<ImageView>,
    pub location: Option<LocationView>,
    /// Outbound: delivery progress. Inbound: `read` once the business marked it read, `failed`
    /// when the app refused the webhook, otherwise null.
    pub status: Option<MessageStatus>,
    pub error_code: Option<i64>,
    /// Portuguese explanation of a failure, for the phone page.
    pub error_hint: Option<String>,
    /// False for outbound messages that never reached the phone (e.g. 131047).
    pub shown: bool,
    /// The wamid this message replies to.
    pub context_id: Option<String>,
    pub phone_number_id: String,
    /// Unix seconds, as a string like Meta's timestamps.
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatView {
    /// The registered wa_id (whichever 9th-digit form the phone uses).
    pub wa_id: String,
    pub name: String,
    pub messages: Vec<ChatMessage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSummary {
    pub wa_id: String,
    pub name: String,
    pub last_message: Option<ChatMessage>,
}
