//! The cross-node bridge of the event bus: several nodes sharing one PostgreSQL database each
//! have their own in-process [`EventBus`], so what one node publishes is also sent to the others
//! (the binary wires the transport, `LISTEN`/`NOTIFY`; this module knows only payload strings).
//!
//! Only what live views of other nodes need is shared (see [`shared_with_peers`]): desk changes,
//! queued outbound messages, team chat and presence — ids only, so payloads stay far below
//! PostgreSQL's 8000-byte limit. Work triggers (`InboundStored`, `StatusesStored`,
//! `PaymentRecorded`) stay local: the node that stored the data runs the bot and the desk for it,
//! and other nodes must not do it again. A peer's event is republished as
//! [`BusEvent::FromPeer`], which runners ignore and views unwrap, and which is never sent back.
//!
//! Best-effort like the bus itself: when events may have been lost (a failed send, a lagging
//! forwarder, an unreadable payload), the receivers publish [`BusEvent::Resync`] and live views
//! refetch everything from the store. The bridge never fails the local path; its failures are
//! logged and counted in `balcao_bus_bridge_errors_total`.

use super::{BusEvent, EventBus, Subscription};
use balcao_domain::{ConversationId, MessageId, UserId, WorkspaceId};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Counter of the bridge's failures (label `stage`: notify, lag, decode).
pub const ERRORS_METRIC: &str = "balcao_bus_bridge_errors_total";
/// Events taken from the bus before sending what was gathered (then split by size).
const MAX_BATCH: usize = 512;
/// After a failed send, how long to wait for new events before sending the resync alone.
const RESYNC_RETRY: Duration = Duration::from_secs(1);

/// This process among the nodes sharing a database: it skips the notifications it sent itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId(pub u64);

impl NodeId {
    pub fn random() -> NodeId {
        let mut bytes = [0u8; 8];
        SystemRandom::new().fill(&mut bytes).expect("system random");
        NodeId(u64::from_le_bytes(bytes))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// An event on the wire: short keys, ids only.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Wire {
    Desk { w: i64, c: i64 },
    Outbound { w: i64, c: i64, m: i64 },
    Team { w: i64 },
    Presence { w: i64, u: i64 },
}

/// The wire form of the events other nodes' live views need; `None` for the rest. Exhaustive on
/// purpose: a new variant must be decided here.
fn to_wire(event: &BusEvent) -> Option<Wire> {
    match event {
        BusEvent::DeskChanged {
            workspace_id,
            conversation_id,
        } => Some(Wire::Desk {
            w: workspace_id.0,
            c: conversation_id.0,
        }),
        BusEvent::OutboundQueued {
            workspace_id,
            conversation_id,
            message_id,
        } => Some(Wire::Outbound {
            w: workspace_id.0,
            c: conversation_id.0,
            m: message_id.0,
        }),
        BusEvent::TeamMessage { workspace_id } => Some(Wire::Team { w: workspace_id.0 }),
        BusEvent::PresenceChanged {
            workspace_id,
            user_id,
        } => Some(Wire::Presence {
            w: workspace_id.0,
            u: user_id.0,
        }),
        // Work for the node that stored it (a peer's bot must not run for it); no view shows it.
        BusEvent::InboundStored { .. }
        | BusEvent::StatusesStored { .. }
        | BusEvent::PaymentRecorded { .. } => None,
        // Already from a peer (sending it back would loop), or local to this node.
        BusEvent::FromPeer(_) | BusEvent::Resync => None,
    }
}

fn from_wire(wire: Wire) -> BusEvent {
    match wire {
        Wire::Desk { w, c } => BusEvent::DeskChanged {
            workspace_id: WorkspaceId(w),
            conversation_id: ConversationId(c),
        },
        Wire::Outbound { w, c, m } => BusEvent::OutboundQueued {
            workspace_id: WorkspaceId(w),
            conversation_id: ConversationId(c),
            message_id: MessageId(m),
        },
        Wire::Team { w } => BusEvent::TeamMessage {
            workspace_id: WorkspaceId(w),
        },
        Wire::Presence { w, u } => BusEvent::PresenceChanged {
            workspace_id: WorkspaceId(w),
            user_id: UserId(u),
        },
    }
}

/// Whether other nodes are sent this event.
pub fn shared_with_peers(event: &BusEvent) -> bool {
    to_wire(event).is_some()
}

/// One payload: the sender, whether receivers must resync, and the events' wire forms.
fn envelope(node: NodeId, resync: bool, events_json: &str) -> String {
    format!(r#"{{"n":{},"r":{resync},"e":[{events_json}]}}"#, node.0)
}

/// The shared events as comma-joined wire forms, grouped so that each group's envelope stays
/// within `max_bytes` (an event too large alone still gets a group of its own).
fn groups(node: NodeId, events: &[BusEvent], max_bytes: usize) -> Vec<String> {
    // "false" is the longer flag: the budget holds for both.
    let budget = max_bytes.saturating_sub(envelope(node, false, "").len());
    let mut out = Vec::new();
    let mut current = String::new();
    for wire in events.iter().filter_map(to_wire) {
        let json = serde_json::to_string(&wire).expect("plain struct serializes");
        let separator = usize::from(!current.is_empty());
        if !current.is_empty() && current.len() + separator + json.len() > budget {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&json);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The payloads that carry the shared ones of `events` to the other nodes, each at most
/// `max_bytes` long; `resync` (set on the first) tells them they may have missed some. Empty
/// when there is nothing to say.
pub fn encode(node: NodeId, events: &[BusEvent], resync: bool, max_bytes: usize) -> Vec<String> {
    let mut groups = groups(node, events, max_bytes);
    if groups.is_empty() && resync {
        groups.push(String::new());
    }
    groups
        .iter()
        .enumerate()
        .map(|(i, events)| envelope(node, resync && i == 0, events))
        .collect()
}

#[derive(Deserialize)]
struct Envelope {
    n: u64,
    #[serde(default)]
    r: bool,
    #[serde(default)]
    e: Vec<serde_json::Value>,
}

/// What a peer's payload says.
#[derive(Debug, PartialEq, Eq)]
pub struct Incoming {
    /// Refetch everything: the sender said so, or some events could not be read.
    pub resync: bool,
    pub events: Vec<BusEvent>,
    /// Events of a kind this version does not know (a newer node, during an upgrade).
    pub unknown: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable bus notification: {0}")]
pub struct DecodeError(String);

/// Reads a payload; `None` when `own` sent it.
pub fn decode(payload: &str, own: NodeId) -> Result<Option<Incoming>, DecodeError> {
    let envelope: Envelope =
        serde_json::from_str(payload).map_err(|e| DecodeError(e.to_string()))?;
    if envelope.n == own.0 {
        return Ok(None);
    }
    let mut events = Vec::with_capacity(envelope.e.len());
    let mut unknown = 0;
    for value in envelope.e {
        match serde_json::from_value::<Wire>(value) {
            Ok(wire) => events.push(from_wire(wire)),
            Err(_) => unknown += 1,
        }
    }
    Ok(Some(Incoming {
        resync: envelope.r || unknown > 0,
        events,
        unknown,
    }))
}

/// Publishes on the local bus what a notification from a peer carries: its events as
/// [`BusEvent::FromPeer`], or a single [`BusEvent::Resync`] when the views must refetch
/// everything anyway. This node's own notifications are skipped.
pub fn republish(bus: &EventBus, own: NodeId, payload: &str) {
    match decode(payload, own) {
        Ok(None) => {}
        Ok(Some(incoming)) => {
            if incoming.unknown > 0 {
                metrics::counter!(ERRORS_METRIC, "stage" => "decode").increment(1);
                tracing::warn!(
                    unknown = incoming.unknown,
                    "bus bridge: events of an unknown kind from a peer; resyncing"
                );
            }
            if incoming.resync {
                bus.publish(BusEvent::Resync);
            } else {
                for event in incoming.events {
                    bus.publish(BusEvent::FromPeer(Box::new(event)));
                }
            }
        }
        Err(err) => {
            metrics::counter!(ERRORS_METRIC, "stage" => "decode").increment(1);
            tracing::warn!(error = %err, "bus bridge: ignoring a notification; resyncing");
            bus.publish(BusEvent::Resync);
        }
    }
}

/// Sends the shared events published on the local bus (`events`, subscribed before the first
/// publish that must be sent) to the other nodes through `send`, until the bus closes. Events
/// waiting together go in as few payloads as `max_bytes` allows, repeated ones once. After a
/// failed send or a lag, the next payload asks the peers to resync (sent alone after
/// [`RESYNC_RETRY`] if no event comes).
pub async fn forward<S, F, E>(mut events: Subscription, node: NodeId, max_bytes: usize, mut send: S)
where
    S: FnMut(String) -> F,
    F: Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    let mut resync = false;
    let mut closed = false;
    while !closed {
        let first = if resync {
            tokio::time::timeout(RESYNC_RETRY, events.recv()).await.ok()
        } else {
            Some(events.recv().await)
        };
        let mut batch = Vec::new();
        let mut lagged = false;
        match first {
            None => {}
            Some(Ok(event)) => gather(&mut batch, event),
            Some(Err(RecvError::Lagged(_))) => lagged = true,
            Some(Err(RecvError::Closed)) => closed = true,
        }
        while !closed && batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(event) => gather(&mut batch, event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Closed) => closed = true,
            }
        }
        if lagged {
            metrics::counter!(ERRORS_METRIC, "stage" => "lag").increment(1);
            tracing::warn!("bus bridge: fell behind the local bus; peers will resync");
            resync = true;
        }
        let mut payload_events = groups(node, &batch, max_bytes);
        if payload_events.is_empty() && resync {
            payload_events.push(String::new());
        }
        for group in payload_events {
            match send(envelope(node, resync, &group)).await {
                Ok(()) => resync = false,
                Err(err) => {
                    metrics::counter!(ERRORS_METRIC, "stage" => "notify").increment(1);
                    tracing::warn!(error = %err, "bus bridge: could not notify the other nodes");
                    resync = true;
                }
            }
        }
    }
}

fn gather(batch: &mut Vec<BusEvent>, event: BusEvent) {
    if shared_with_peers(&event) && !batch.contains(&event) {
        batch.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};

    const PEER: NodeId = NodeId(7);
    const US: NodeId = NodeId(u64::MAX);

    fn desk(c: i64) -> BusEvent {
        BusEvent::DeskChanged {
            workspace_id: WorkspaceId(1),
            conversation_id: ConversationId(c),
        }
    }

    fn team() -> BusEvent {
        BusEvent::TeamMessage {
            workspace_id: WorkspaceId(1),
        }
    }

    fn shared_event() -> impl Strategy<Value = BusEvent> {
        prop_oneof![
            (any::<i64>(), any::<i64>()).prop_map(|(w, c)| BusEvent::DeskChanged {
                workspace_id: WorkspaceId(w),
                conversation_id: ConversationId(c),
            }),
            (any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(w, c, m)| {
                BusEvent::OutboundQueued {
                    workspace_id: WorkspaceId(w),
                    conversation_id: ConversationId(c),
                    message_id: MessageId(m),
                }
            }),
            any::<i64>().prop_map(|w| BusEvent::TeamMessage {
                workspace_id: WorkspaceId(w),
            }),
            (any::<i64>(), any::<i64>()).prop_map(|(w, u)| BusEvent::PresenceChanged {
                workspace_id: WorkspaceId(w),
                user_id: UserId(u),
            }),
        ]
    }

    proptest! {
        #[test]
        fn payloads_fit_and_carry_every_event_in_order(
            events in proptest::collection::vec(shared_event(), 0..300),
            node in any::<u64>(),
            resync in any::<bool>(),
            max_bytes in 200usize..8000,
        ) {
            let node = NodeId(node);
            let payloads = encode(node, &events, resync, max_bytes);
            prop_assert_eq!(payloads.is_empty(), events.is_empty() && !resync);
            let mut received = Vec::new();
            for (i, payload) in payloads.iter().enumerate() {
                prop_assert!(payload.len() <= max_bytes, "{} > {}", payload.len(), max_bytes);
                let other = NodeId(node.0.wrapping_add(1));
                let incoming = decode(payload, other).unwrap().unwrap();
                prop_assert_eq!(incoming.resync, resync && i == 0);
                prop_assert_eq!(incoming.unknown, 0);
                received.extend(incoming.events);
                // The sender skips its own notifications.
                prop_assert!(decode(payload, node).unwrap().is_none());
            }
            prop_assert_eq!(received, events);
        }

        #[test]
        fn decoding_never_panics(payload in ".{0,200}") {
            let _ = decode(&payload, US);
        }
    }

    #[test]
    fn work_triggers_and_peer_events_stay_local() {
        let local_only = [
            BusEvent::InboundStored {
                conversations: vec![(WorkspaceId(1), ConversationId(2))],
                messages: vec![MessageId(3)],
            },
            BusEvent::StatusesStored { count: 4 },
            BusEvent::PaymentRecorded {
                workspace_id: WorkspaceId(1),
                payment_event_id: 5,
            },
            BusEvent::FromPeer(Box::new(desk(2))),
            BusEvent::Resync,
        ];
        for event in &local_only {
            assert!(!shared_with_peers(event), "{event:?}");
        }
        assert!(encode(US, &local_only, false, 7999).is_empty());
        assert!(shared_with_peers(&desk(2)) && shared_with_peers(&team()));
    }

    #[test]
    fn unknown_kinds_and_garbage_ask_for_a_resync() {
        let payload = r#"{"n":7,"r":false,"e":[{"k":"desk","w":1,"c":2},{"k":"novidade","w":1}]}"#;
        let incoming = decode(payload, US).unwrap().unwrap();
        assert_eq!(
            incoming,
            Incoming {
                resync: true,
                events: vec![desk(2)],
                unknown: 1,
            }
        );
        assert!(decode("not json", US).is_err());
        assert!(decode(r#"{"e":[]}"#, US).is_err());
    }

    #[test]
    fn republish_marks_peer_events_and_skips_our_own() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        republish(&bus, US, &encode(PEER, &[desk(2), team()], false, 7999)[0]);
        assert_eq!(
            rx.try_recv().unwrap(),
            BusEvent::FromPeer(Box::new(desk(2)))
        );
        assert_eq!(rx.try_recv().unwrap(), BusEvent::FromPeer(Box::new(team())));
        republish(&bus, US, &encode(US, &[desk(3)], false, 7999)[0]);
        assert!(rx.try_recv().is_err(), "our own notification came back");
        // A resync replaces the events: the views refetch everything once.
        republish(&bus, US, &encode(PEER, &[desk(4)], true, 7999)[0]);
        assert_eq!(rx.try_recv().unwrap(), BusEvent::Resync);
        assert!(rx.try_recv().is_err());
        republish(&bus, US, "{");
        assert_eq!(rx.try_recv().unwrap(), BusEvent::Resync);
    }

    type Sent = Arc<Mutex<Vec<String>>>;

    /// Runs `forward` over what was published before the bus closed; `fail_first` sends fail.
    async fn forwarded(publish: &[BusEvent], max_bytes: usize, fail_first: usize) -> Vec<String> {
        let bus = EventBus::new(64);
        let rx = bus.subscribe();
        for event in publish {
            bus.publish(event.clone());
        }
        drop(bus);
        let sent: Sent = Arc::default();
        let mut calls = 0;
        let log = sent.clone();
        forward(rx, US, max_bytes, move |payload| {
            calls += 1;
            let outcome = if calls <= fail_first {
                Err("database down")
            } else {
                log.lock().unwrap().push(payload);
                Ok(())
            };
            async move { outcome }
        })
        .await;
        sent.lock().unwrap().clone()
    }

    fn decoded(payload: &str) -> Incoming {
        decode(payload, PEER).unwrap().unwrap()
    }

    #[tokio::test]
    async fn forwards_shared_events_once_and_never_peer_events() {
        let sent = forwarded(
            &[
                desk(1),
                BusEvent::InboundStored {
                    conversations: vec![(WorkspaceId(1), ConversationId(1))],
                    messages: vec![MessageId(1)],
                },
                BusEvent::FromPeer(Box::new(desk(9))),
                desk(1),
                team(),
                BusEvent::Resync,
            ],
            7999,
            0,
        )
        .await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        let incoming = decoded(&sent[0]);
        assert_eq!(incoming.events, vec![desk(1), team()]);
        assert!(!incoming.resync);
    }

    #[tokio::test]
    async fn after_a_failed_send_the_next_payload_asks_for_a_resync() {
        // A budget this small puts each event in its own payload.
        let sent = forwarded(&[desk(1), desk(2), desk(3)], 80, 1).await;
        let flags: Vec<(bool, Vec<BusEvent>)> = sent
            .iter()
            .map(|p| {
                let i = decoded(p);
                (i.resync, i.events)
            })
            .collect();
        assert_eq!(flags, vec![(true, vec![desk(2)]), (false, vec![desk(3)])]);
    }

    #[tokio::test]
    async fn a_lagging_forwarder_asks_for_a_resync() {
        let bus = EventBus::new(2);
        let rx = bus.subscribe();
        for c in 1..=5 {
            bus.publish(desk(c));
        }
        drop(bus);
        let sent: Sent = Arc::default();
        let log = sent.clone();
        forward(rx, US, 7999, move |payload| {
            log.lock().unwrap().push(payload);
            async { Ok::<(), String>(()) }
        })
        .await;
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let incoming = decoded(&sent[0]);
        assert!(incoming.resync);
        assert_eq!(incoming.events, vec![desk(4), desk(5)]);
    }
}
