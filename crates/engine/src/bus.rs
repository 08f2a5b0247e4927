//! In-process event bus: after a transaction commits, the engine publishes what changed so live
//! views and later stages (bot, inbox) react without polling. Delivery is best-effort by design —
//! the store is the source of truth and subscribers resync from it after a lag.

use balcao_domain::{ConversationId, MessageId, UserId, WorkspaceId};
use tokio::sync::broadcast;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusEvent {
    /// New inbound messages were stored in a conversation.
    InboundStored {
        conversations: Vec<ConversationId>,
        messages: Vec<MessageId>,
    },
    /// Delivery statuses were stored (the message list of a conversation may have changed).
    StatusesStored { count: u32 },
    /// A payment seen in the management system was recorded.
    PaymentRecorded {
        workspace_id: WorkspaceId,
        payment_event_id: i64,
    },
    /// An outbound message was queued.
    OutboundQueued {
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// A conversation's desk state changed (entered, queued, assigned, transferred, closed,
    /// reopened, read, noted, tagged…): inbox lists and the conversation pane refresh it.
    DeskChanged {
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    },
    /// Someone wrote in the workspace's team chat.
    TeamMessage { workspace_id: WorkspaceId },
    /// An agent came online, went offline or changed their away status.
    PresenceChanged {
        workspace_id: WorkspaceId,
        user_id: UserId,
    },
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<BusEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventBus { tx }
    }

    pub fn publish(&self, event: BusEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.tx.subscribe()
    }
}
