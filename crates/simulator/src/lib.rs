//! A faithful fake of Meta's WhatsApp Cloud API for tests and the demo.
//!
//! - Graph API side under `/graph/{version}/…`: sends validated like Meta (error envelopes and
//!   codes), the 24 h window (131047 by `failed` status), template registry (132000/132001),
//!   throughput (130429) and pair (131056) limits, media upload / info / expiring download, mark read.
//! - Webhook side: signed (`X-Hub-Signature-256`), non-ASCII escaped envelopes; inbound messages
//!   delivered synchronously, statuses batched by a background worker with optional duplicates,
//!   out-of-order delivery and bounded retries.
//! - A phone page at `/simulator` and a JSON API at `/simulator/api/…` where a person (or a test)
//!   plays the subscriber.
//!
//! It deliberately shares no code with the app's WhatsApp client, so the client's bugs show up.

mod api;
mod clock;
mod config;
mod error;
mod graph;
mod multipart;
mod phone;
mod placeholders;
mod ratelimit;
mod send;
mod sim;
mod view;
mod wire;

pub use config::{
    Behaviour, DemoPerson, SimNumber, SimTemplate, SimulatorConfig, TemplateButton, TemplateHeader,
};
pub use phone::brazil_alternate;
pub use sim::{
    InboundLocation, InboundRequest, NumberStats, ReplyRef, SimError, Simulator, Stats,
    TemplateButtonReply,
};
pub use view::{
    ChatMessage, ChatSummary, ChatView, Direction, DocumentView, ImageView, LinkView, ListRow,
    ListSection, ListView, LocationView, MessageStatus, ReplyKind, ReplyOption,
};
pub use wire::{escape_json_text, signature_header, to_meta_json};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;

/// Media uploads may be documents up to 100 MB.
const UPLOAD_LIMIT_BYTES: usize = 101 * 1024 * 1024;

impl Simulator {
    /// Every route, with absolute paths: `/graph/…`, `/lookaside/…`, `/simulator…`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/graph/{version}/{phone_number_id}/messages",
                post(graph::send_message),
            )
            .route(
                "/graph/{version}/{phone_number_id}/media",
                post(graph::upload_media).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
            )
            .route(
                "/graph/{version}/{object_id}",
                get(graph::get_object).delete(graph::delete_object),
            )
            .route(
                "/lookaside/whatsapp_business/attachments/",
                get(graph::download_media),
            )
            .route("/simulator", get(api::page))
            .route("/simulator/", get(api::page))
            .route("/simulator/assets/phone.css", get(api::page_css))
            .route("/simulator/assets/phone.js", get(api::page_js))
            .route("/simulator/media/{media_id}", get(api::phone_media))
            .route("/simulator/api/messages", post(api::post_message))
            .route("/simulator/api/chats", get(api::list_chats))
            .route("/simulator/api/chats/{wa_id}", get(api::get_chat))
            .route("/simulator/api/chats/{wa_id}/read", post(api::read_chat))
            .route("/simulator/api/phones", post(api::add_phone))
            .route("/simulator/api/stats", get(api::get_stats))
            .route(
                "/simulator/api/behaviour",
                get(api::get_behaviour).post(api::post_behaviour),
            )
            .route("/simulator/api/clock", post(api::post_clock))
            .route("/simulator/api/verify", post(api::post_verify))
            .route("/simulator/api/info", get(api::get_info))
            .with_state(Arc::clone(self))
    }
}
