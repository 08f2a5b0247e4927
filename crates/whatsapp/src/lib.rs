//! The WhatsApp Business Platform (Cloud API) seen from Balcão, following
//! `shared/specs/whatsapp-cloud-api.md`.
//!
//! - [`signature`]: the `X-Hub-Signature-256` check over the raw body and the GET verification
//!   handshake, both in constant time.
//! - [`webhook`]: tolerant parsing of a delivery into the domain's
//!   [`WebhookBatch`](balcao_domain::webhook::WebhookBatch); only a body that is not a JSON object
//!   is refused, everything else is parsed or kept raw, never dropped.
//! - [`payload`]: the exact send bodies of the Cloud API and the content limits WhatsApp enforces,
//!   with messages in Portuguese for the person who wrote the content.
//! - [`client`]: a typed Graph API client with an injectable base URL and version (the real Graph
//!   API or the project's simulator), whose errors say what to do next and whether a send may have
//!   gone through despite the failure.
//! - [`json`]: JSON written the way WhatsApp writes it (non-ASCII escaped), so the simulator signs
//!   the same kind of bytes the platform does.
//!
//! Everything except [`client`] is pure: no IO, no clock (the webhook parser takes the reception
//! time as an argument in [`webhook::parse_at`]).

pub mod client;
pub mod json;
pub mod payload;
pub mod signature;
pub mod webhook;

pub use client::{Accepted, GraphCallError, GraphClient, MediaInfo};
pub use payload::{ContentError, build_send_body, validate};
pub use signature::{SignatureError, sign, verify, verify_handshake};
pub use webhook::WebhookParseError;
