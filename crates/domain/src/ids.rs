//! Typed row ids. Each store method takes the id type it means, so a conversation id can never be
//! passed where a workspace id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A provider (tenant). Every other row belongs to exactly one workspace.
    WorkspaceId,
    /// A WhatsApp business number connected to a workspace.
    NumberId,
    /// A subscriber as seen on WhatsApp, per workspace.
    ContactId,
    /// A conversation between one contact and one number.
    ConversationId,
    /// A stored message, inbound or outbound.
    MessageId,
    /// An entry of a conversation's append-only event log.
    EventId,
    /// A user of the web UI / API.
    UserId,
);
