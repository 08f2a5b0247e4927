//! In-process event bus: after a transaction commits, the engine publishes what changed so live
//! views and later stages (bot, inbox) react without polling. Delivery is best-effort by design —
//! the store is the source of truth and subscribers resync from it after a lag.

pub mod bridge;

use balcao_domain::{ConversationId, MessageId, Millis, UserId, WorkspaceId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusEvent {
    /// New inbound messages were stored in a conversation.
    InboundStored {
        conversations: Vec<(WorkspaceId, ConversationId)>,
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
    /// An event that happened on another node, relayed by the cross-node bridge
    /// (`bus_bridge`). Live views treat it like the inner event; runners ignore it, because the
    /// node where it happened does the work.
    FromPeer(Box<BusEvent>),
    /// Events of other nodes may have been missed (the bridge's connection was lost and is back,
    /// or a peer could not send): live views refetch everything.
    Resync,
}

/// An event as published: `seq` numbers the bus's events in this process (an event's identity
/// on every stream that forwards it), `at` is the wall-clock time of publication, right after
/// the commit, so live views can measure how fresh what they show is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub seq: u64,
    pub at: Millis,
    pub event: BusEvent,
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Published>,
    seq: Arc<AtomicU64>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventBus {
            tx,
            seq: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn publish(&self, event: BusEvent) {
        let published = Published {
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            // The wall clock, not the injectable one: freshness is measured against real time.
            at: balcao_domain::now_millis(),
            event,
        };
        // No subscriber is fine: nobody is watching.
        let _ = self.tx.send(published);
    }

    pub fn subscribe(&self) -> Subscription {
        Subscription(self.tx.subscribe())
    }
}

/// A receiver of the bus: [`Subscription::recv`] gives the events, and
/// [`Subscription::recv_published`] also their sequence and publication time.
pub struct Subscription(broadcast::Receiver<Published>);

impl Subscription {
    pub async fn recv(&mut self) -> Result<BusEvent, RecvError> {
        self.0.recv().await.map(|p| p.event)
    }

    pub async fn recv_published(&mut self) -> Result<Published, RecvError> {
        self.0.recv().await
    }

    /// The next event if one is already waiting (never waits).
    pub fn try_recv(&mut self) -> Result<BusEvent, TryRecvError> {
        self.0.try_recv().map(|p| p.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_each_event_numbered_and_stamped() {
        let bus = EventBus::new(16);
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        let before = balcao_domain::now_millis();
        bus.publish(BusEvent::TeamMessage {
            workspace_id: WorkspaceId(1),
        });
        bus.publish(BusEvent::StatusesStored { count: 2 });
        let a = first.recv_published().await.unwrap();
        let b = first.recv_published().await.unwrap();
        assert!(b.seq > a.seq, "sequence grows: {} then {}", a.seq, b.seq);
        assert!(a.at >= before && a.at <= balcao_domain::now_millis());
        // Every subscriber sees the same identity for the same event.
        assert_eq!(second.recv_published().await.unwrap(), a);
        assert_eq!(
            second.recv().await.unwrap(),
            BusEvent::StatusesStored { count: 2 }
        );
    }
}
