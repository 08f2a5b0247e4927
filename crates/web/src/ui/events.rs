//! `/app/events`: one Server-Sent Events stream per open inbox tab. It forwards the engine bus
//! events that concern the logged-in staff member as small JSON events (`desk`, `message_out`,
//! `team`, `presence`, each with the bus's `seq` and its publication time `at` in unix ms); the
//! page then refetches the affected server-rendered fragment, so what it shows is always what
//! the store says.
//!
//! Delivery on the bus is best-effort: when this stream falls behind (a lagged receiver) or the
//! browser reconnects (it sends `Last-Event-ID`), nothing can be replayed, so the stream sends
//! `resync` and the page refetches everything; so does a `BusEvent::Resync` (another node's
//! events may have been missed). Other nodes' events arrive as `BusEvent::FromPeer`. Every event carries an `id:`; a comment every
//! 15 s keeps proxies from closing an idle stream.

use super::{PageError, PageStaff};
use crate::DeskState;
use crate::session::{self, Staff};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use balcao_domain::{ConversationId, Millis, UserId, WorkspaceId};
use balcao_engine::bus::{BusEvent, EventBus, Subscription};
use balcao_store::{QueueId, Role};
use futures_util::stream;
use serde_json::json;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often the stream re-reads the staff member's session and queues (a logout or a removal
/// from a queue takes effect within this long).
const SCOPE_REFRESH_MS: Millis = 30_000;
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Who the stream is for: what decides which bus events it forwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub role: Role,
    pub queues: Vec<QueueId>,
}

impl Scope {
    pub fn of(staff: &Staff) -> Scope {
        Scope {
            workspace: staff.workspace(),
            user: staff.user.id,
            role: staff.role(),
            queues: staff.queues.clone(),
        }
    }
}

/// The SSE event (name, JSON data) a bus event becomes for `scope`, if it concerns them. Desk
/// changes carry only ids, so every staff member of the workspace gets them (nothing is
/// revealed: the fragments the page then fetches enforce who sees what); presence changes go
/// to supervisors, whose board shows them.
pub fn relevant(event: &BusEvent, scope: &Scope) -> Option<(&'static str, serde_json::Value)> {
    match event {
        BusEvent::DeskChanged {
            workspace_id,
            conversation_id,
        } if *workspace_id == scope.workspace => {
            Some(("desk", json!({"conversation_id": conversation_id.0})))
        }
        BusEvent::OutboundQueued {
            workspace_id,
            conversation_id,
            ..
        } if *workspace_id == scope.workspace => {
            Some(("message_out", json!({"conversation_id": conversation_id.0})))
        }
        BusEvent::TeamMessage { workspace_id } if *workspace_id == scope.workspace => {
            Some(("team", json!({})))
        }
        BusEvent::PresenceChanged {
            workspace_id,
            user_id,
        } if *workspace_id == scope.workspace
            && (scope.role.sees_all_queues() || *user_id == scope.user) =>
        {
            Some(("presence", json!({"user_id": user_id.0})))
        }
        // Relayed from another node by the bus bridge: the same as if it had happened here.
        BusEvent::FromPeer(event) => relevant(event, scope),
        // Another node's events may have been missed: the page refetches everything.
        BusEvent::Resync => Some(("resync", json!({}))),
        _ => None,
    }
}

/// A desk conversation changed (state, queue, agent, notes, tags, unread).
pub fn publish_desk_change(bus: &EventBus, workspace: WorkspaceId, conversation: ConversationId) {
    bus.publish(BusEvent::DeskChanged {
        workspace_id: workspace,
        conversation_id: conversation,
    });
}

/// Someone wrote in the team chat.
pub fn publish_team(bus: &EventBus, workspace: WorkspaceId) {
    bus.publish(BusEvent::TeamMessage {
        workspace_id: workspace,
    });
}

/// A staff member's presence changed.
pub fn publish_presence(bus: &EventBus, workspace: WorkspaceId, user: UserId) {
    bus.publish(BusEvent::PresenceChanged {
        workspace_id: workspace,
        user_id: user,
    });
}

fn sse_event(name: &str, data: serde_json::Value) -> Event {
    Event::default()
        .event(name)
        .id(NEXT_ID.fetch_add(1, Ordering::Relaxed).to_string())
        .data(data.to_string())
}

struct StreamState {
    rx: Subscription,
    scope: Scope,
    /// Send `resync` first (the browser reconnected).
    resync: bool,
    refreshed_at: Millis,
    state: DeskState,
    headers: HeaderMap,
    ended: bool,
}

pub(super) async fn stream(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let resync = headers.contains_key("last-event-id");
    let rx = state.app.bus.subscribe();
    let initial = StreamState {
        rx,
        scope: Scope::of(&staff),
        resync,
        refreshed_at: state.app.clock.now(),
        state,
        headers,
        ended: false,
    };
    let events = stream::unfold(initial, next_event);
    Ok((
        // Never compressed or buffered by a proxy: each event must leave at once.
        [("x-accel-buffering", "no"), ("cache-control", "no-cache")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
        .into_response())
}

async fn next_event(mut s: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    if s.ended {
        return None;
    }
    if s.resync {
        s.resync = false;
        return Some((Ok(sse_event("resync", json!({}))), s));
    }
    loop {
        let received = s.rx.recv_published().await;
        let now = s.state.app.clock.now();
        if now - s.refreshed_at >= SCOPE_REFRESH_MS {
            s.refreshed_at = now;
            match session::staff_from_cookie(s.state.app.store.as_ref(), &s.headers, now).await {
                Ok(Some(staff)) => s.scope = Scope::of(&staff),
                Ok(None) => {
                    // Logged out or expired: tell the page, then end.
                    s.ended = true;
                    return Some((Ok(sse_event("logout", json!({}))), s));
                }
                Err(_) => {}
            }
        }
        match received {
            Ok(published) => {
                if let Some((name, mut data)) = relevant(&published.event, &s.scope) {
                    // The bus's sequence and publication time (right after the commit): the
                    // event's identity across streams and its freshness (see `bench desk`).
                    data["seq"] = json!(published.seq);
                    data["at"] = json!(published.at);
                    return Some((Ok(sse_event(name, data)), s));
                }
            }
            Err(RecvError::Lagged(_)) => return Some((Ok(sse_event("resync", json!({}))), s)),
            Err(RecvError::Closed) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_domain::MessageId;

    fn scope() -> Scope {
        Scope {
            workspace: WorkspaceId(1),
            user: UserId(10),
            role: Role::Agent,
            queues: vec![QueueId(3)],
        }
    }

    #[test]
    fn outbound_messages_of_the_workspace_only() {
        let ours = BusEvent::OutboundQueued {
            workspace_id: WorkspaceId(1),
            conversation_id: ConversationId(5),
            message_id: MessageId(9),
        };
        let theirs = BusEvent::OutboundQueued {
            workspace_id: WorkspaceId(2),
            conversation_id: ConversationId(5),
            message_id: MessageId(9),
        };
        assert_eq!(
            relevant(&ours, &scope()),
            Some(("message_out", json!({"conversation_id": 5})))
        );
        assert_eq!(relevant(&theirs, &scope()), None);
        assert_eq!(
            relevant(&BusEvent::StatusesStored { count: 3 }, &scope()),
            None
        );
    }

    #[test]
    fn desk_team_and_presence_events() {
        let desk = BusEvent::DeskChanged {
            workspace_id: WorkspaceId(1),
            conversation_id: ConversationId(7),
        };
        assert_eq!(
            relevant(&desk, &scope()),
            Some(("desk", json!({"conversation_id": 7})))
        );
        let other = BusEvent::DeskChanged {
            workspace_id: WorkspaceId(2),
            conversation_id: ConversationId(7),
        };
        assert_eq!(relevant(&other, &scope()), None);
        let team = BusEvent::TeamMessage {
            workspace_id: WorkspaceId(1),
        };
        assert_eq!(relevant(&team, &scope()).map(|e| e.0), Some("team"));
        let someone = BusEvent::PresenceChanged {
            workspace_id: WorkspaceId(1),
            user_id: UserId(11),
        };
        // An agent's page has no board: only their own presence matters to it.
        assert_eq!(relevant(&someone, &scope()), None);
        let supervisor = Scope {
            role: Role::Supervisor,
            ..scope()
        };
        assert_eq!(
            relevant(&someone, &supervisor).map(|e| e.0),
            Some("presence")
        );
    }

    #[test]
    fn events_of_other_nodes_and_their_resync() {
        let desk = BusEvent::DeskChanged {
            workspace_id: WorkspaceId(1),
            conversation_id: ConversationId(7),
        };
        assert_eq!(
            relevant(&BusEvent::FromPeer(Box::new(desk)), &scope()),
            Some(("desk", json!({"conversation_id": 7})))
        );
        let elsewhere = BusEvent::FromPeer(Box::new(BusEvent::TeamMessage {
            workspace_id: WorkspaceId(2),
        }));
        assert_eq!(relevant(&elsewhere, &scope()), None);
        assert_eq!(
            relevant(&BusEvent::Resync, &scope()),
            Some(("resync", json!({})))
        );
    }
}
