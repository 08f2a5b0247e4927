//! The supervisor board: who is online, away or offline with their open chats, each queue's
//! size and longest wait, and every conversation waiting (or waiting for an accept) with its
//! waiting time, so nothing stays stuck unseen.

use super::{Chrome, Clockface, PageError, PageStaff, duration_label, render};
use crate::DeskState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use balcao_domain::UserId;
use balcao_store::{DeskState as Phase, InboxFilter, QueueId};
use std::collections::HashMap;

pub(super) fn routes() -> Router<DeskState> {
    Router::new()
        .route("/app/board", get(page))
        .route("/app/f/board", get(fragment))
}

struct AgentRow {
    name: String,
    role: &'static str,
    status: &'static str,
    status_label: &'static str,
    last_seen: String,
    chats: String,
    csat: String,
}

struct QueueRow {
    name: String,
    active: bool,
    queued: u32,
    assigned: u32,
    longest_wait: String,
    /// Someone waits and nobody of the queue is online.
    alarm: bool,
    online: u32,
}

struct WaitingRow {
    id: i64,
    name: String,
    queue: String,
    waiting: String,
    note: String,
}

#[derive(Template)]
#[template(path = "desk/board_fragment.html")]
struct BoardFragment {
    online: u32,
    away: u32,
    waiting_total: u32,
    longest_wait: String,
    in_menu: u32,
    agents: Vec<AgentRow>,
    queues: Vec<QueueRow>,
    waiting: Vec<WaitingRow>,
}

#[derive(Template)]
#[template(path = "desk/board.html")]
struct BoardPage {
    chrome: Chrome,
    board_html: String,
}

async fn page(State(state): State<DeskState>, staff: PageStaff) -> Result<Response, PageError> {
    staff.require_supervisor()?;
    let html = board_html(&state, &staff).await?;
    let face = Clockface::of(&state, &staff.0).await;
    Ok(render(&BoardPage {
        chrome: Chrome::new(&staff.0, "board", face.now),
        board_html: html,
    }))
}

async fn fragment(State(state): State<DeskState>, staff: PageStaff) -> Result<Response, PageError> {
    staff.require_supervisor()?;
    let html = board_html(&state, &staff).await?;
    Ok(super::inbox_fragment(html))
}

async fn board_html(state: &DeskState, staff: &PageStaff) -> Result<String, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.0.workspace();
    let face = Clockface::of(state, &staff.0).await;
    let now = face.now;
    let board = store
        .desk_board(ws, balcao_engine::desk::online_since(now))
        .await?;
    let week_ago = now - 7 * 24 * 3_600_000;
    let mut csat: HashMap<UserId, (u32, u32)> = HashMap::new();
    for figure in store.csat_figures(ws, week_ago).await? {
        if let Some(agent) = figure.agent_id {
            let entry = csat.entry(agent).or_default();
            entry.0 += figure.count;
            entry.1 += figure.sum;
        }
    }
    let agents: Vec<AgentRow> = board
        .agents
        .iter()
        .filter(|a| a.active)
        .map(|a| {
            let (status, label) = if a.away {
                ("away", "Ausente")
            } else if a.online {
                ("online", "Disponível")
            } else {
                ("offline", "Offline")
            };
            AgentRow {
                name: a.name.clone(),
                role: crate::session::role_label(a.role),
                status,
                status_label: label,
                last_seen: a
                    .last_seen_at
                    .map(|t| format!("há {}", duration_label(now - t)))
                    .unwrap_or_else(|| "nunca".into()),
                chats: format!("{} de {}", a.open_chats, a.max_chats),
                csat: csat
                    .get(&a.user_id)
                    .filter(|(count, _)| *count > 0)
                    .map(|(count, sum)| format!("{:.1} ({count})", *sum as f64 / *count as f64))
                    .unwrap_or_else(|| "—".into()),
            }
        })
        .collect();
    let queue_names: HashMap<QueueId, String> = board
        .queues
        .iter()
        .map(|q| (q.queue_id, q.name.clone()))
        .collect();
    let oldest = board.queues.iter().filter_map(|q| q.oldest_queued_at).min();
    let queues = board
        .queues
        .iter()
        .map(|q| QueueRow {
            name: q.name.clone(),
            active: q.active,
            queued: q.queued,
            assigned: q.assigned,
            longest_wait: q
                .oldest_queued_at
                .map(|t| duration_label(now - t))
                .unwrap_or_else(|| "—".into()),
            alarm: q.queued > 0 && q.online_members == 0,
            online: q.online_members,
        })
        .collect();
    let mut waiting: Vec<WaitingRow> = Vec::new();
    let queued = store
        .desk_inbox(
            ws,
            &InboxFilter {
                state: Some(Phase::Queued),
                limit: 300,
                ..InboxFilter::default()
            },
        )
        .await?;
    let assigned = store
        .desk_inbox(
            ws,
            &InboxFilter {
                state: Some(Phase::Assigned),
                limit: 1000,
                ..InboxFilter::default()
            },
        )
        .await?;
    for item in queued
        .iter()
        .chain(assigned.iter().filter(|i| !i.desk.accepted))
    {
        let d = &item.desk;
        let since = d.queued_at.or(d.assigned_at).unwrap_or(d.updated_at);
        let note = match (d.state, d.deadline_at) {
            (Phase::Assigned, _) => format!(
                "transferida para {}, sem aceite",
                item.agent_name.clone().unwrap_or_default()
            ),
            (_, Some(deadline)) if deadline > now => {
                format!("muda de fila em {}", duration_label(deadline - now))
            }
            _ => String::new(),
        };
        waiting.push(WaitingRow {
            id: d.conversation_id.0,
            name: item
                .contact_name
                .clone()
                .unwrap_or_else(|| format!("+{}", item.wa_id)),
            queue: d
                .queue_id
                .and_then(|q| queue_names.get(&q).cloned())
                .unwrap_or_default(),
            waiting: duration_label(now - since),
            note,
        });
    }
    super::inbox_rendered(&BoardFragment {
        online: board
            .agents
            .iter()
            .filter(|a| a.active && a.online && !a.away)
            .count() as u32,
        away: board.agents.iter().filter(|a| a.active && a.away).count() as u32,
        waiting_total: board.queues.iter().map(|q| q.queued).sum(),
        longest_wait: oldest
            .map(|t| duration_label(now - t))
            .unwrap_or_else(|| "—".into()),
        in_menu: board.in_menu,
        agents,
        queues,
        waiting,
    })
}
