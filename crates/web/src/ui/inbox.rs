//! The live inbox: the lists (with counts), the conversation list, the conversation pane
//! (history with the bot's part, notes and desk events; the customer and their invoices; the
//! reply box that shows the 24-hour window before typing), and the team chat.

use super::view::View;
use super::{Chrome, Clockface, PageError, PageStaff, presence_of, render};
use crate::DeskState;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, Millis, UserId};
use balcao_store::{
    DeskBoard, DeskConversation, DeskState as Phase, Direction, InboxItem, Queue, QueueId, User,
};
use serde::Deserialize;
use std::collections::HashMap;

pub(super) fn routes() -> Router<DeskState> {
    Router::new()
        .route("/app/f/views", get(views_fragment))
        .route("/app/f/list", get(list_fragment))
        .route("/app/f/conversation/{id}", get(conversation_fragment))
        .route("/app/f/customer/{id}", get(customer_fragment))
        .route("/app/f/team", get(team_fragment))
}

#[derive(Deserialize, Default)]
pub(super) struct InboxQuery {
    view: Option<String>,
    /// The open conversation; empty or malformed means none (links and scripts may send `c=`).
    c: Option<String>,
}

impl InboxQuery {
    fn conversation(&self) -> Option<i64> {
        self.c.as_deref().and_then(|c| c.trim().parse().ok())
    }

    fn view(&self, staff: &Staff) -> View {
        self.view
            .as_deref()
            .and_then(View::parse)
            .filter(|v| v.allowed(staff.role(), &staff.queues))
            .unwrap_or(View::Mine)
    }
}

const LIST_LIMIT: u32 = 200;

// ---- the page ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/inbox.html")]
struct InboxPage {
    chrome: Chrome,
    view: String,
    conv: String,
    views_html: String,
    list_html: String,
    pane_html: String,
}

pub(super) async fn page(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let view = q.view(&staff);
    let face = Clockface::of(&state, &staff).await;
    let views = views_html(&state, &staff, view).await?;
    let list = list_html(&state, &staff, view, q.conversation(), &face).await?;
    let pane = match q.conversation() {
        Some(id) => match conversation_html(&state, &staff, ConversationId(id), &face).await {
            Ok(html) => html,
            Err(PageError::Status(_, message)) => {
                format!("<div class=\"pane-empty\">{}</div>", escape(&message))
            }
            Err(e) => return Err(e),
        },
        None => EMPTY_PANE.to_owned(),
    };
    Ok(render(&InboxPage {
        chrome: Chrome::new(&staff, "inbox", face.now),
        view: view.key(),
        conv: q.conversation().map(|c| c.to_string()).unwrap_or_default(),
        views_html: views,
        list_html: list,
        pane_html: pane,
    }))
}

const EMPTY_PANE: &str = "<div class=\"pane-empty\">Escolha uma conversa na lista.<br><span class=\"small\">Tecle <kbd>?</kbd> para ver os atalhos.</span></div>";

/// Minimal HTML escaping for the few strings built outside templates.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn fragment(html: String) -> Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(html),
    )
        .into_response()
}

pub(crate) fn rendered(template: &impl Template) -> Result<String, PageError> {
    template.render().map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        PageError::Status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erro ao montar a página.".into(),
        )
    })
}

// ---- the lists ---------------------------------------------------------------------------------

struct ViewLink {
    key: String,
    label: String,
    count: u32,
    /// Highlighted badge (unread messages, someone waiting).
    hot: bool,
    current: bool,
}

#[derive(Template)]
#[template(path = "desk/views.html")]
struct ViewsFragment {
    mine: ViewLink,
    waiting: ViewLink,
    queues: Vec<ViewLink>,
    supervision: Vec<ViewLink>,
    closed: ViewLink,
}

async fn views_fragment(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    Ok(fragment(views_html(&state, &staff, q.view(&staff)).await?))
}

async fn views_html(state: &DeskState, staff: &Staff, current: View) -> Result<String, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let now = state.app.clock.now();
    let board: DeskBoard = store
        .desk_board(ws, balcao_engine::desk::online_since(now))
        .await?;
    let mine = store
        .desk_inbox(ws, &View::Mine.filter(staff.user.id, staff.role(), 1000))
        .await?;
    let unread: u32 = mine.iter().map(|i| i.desk.unread).sum();
    let pending_accept = mine.iter().any(|i| !i.desk.accepted);
    let link = |view: View, label: String, count: u32, hot: bool| ViewLink {
        key: view.key(),
        label,
        count,
        hot,
        current: view == current,
    };
    let visible: Vec<_> = board
        .queues
        .iter()
        .filter(|q| staff.sees_queue(q.queue_id))
        .collect();
    let waiting: u32 = visible.iter().map(|q| q.queued).sum();
    let queues = visible
        .iter()
        .map(|q| {
            let label = if q.active {
                format!("Fila {}", q.name)
            } else {
                format!("Fila {} (bloqueada)", q.name)
            };
            link(View::Queue(q.queue_id), label, q.queued, q.queued > 0)
        })
        .collect();
    let supervision = if crate::session::supervises(staff.role()) {
        let assigned: u32 = board.queues.iter().map(|q| q.assigned).sum();
        vec![
            link(View::Active, "Em atendimento".into(), assigned, false),
            link(View::Menu, "Escolhendo setor".into(), board.in_menu, false),
        ]
    } else {
        Vec::new()
    };
    rendered(&ViewsFragment {
        mine: link(
            View::Mine,
            "Minhas".into(),
            if unread > 0 {
                unread
            } else {
                mine.len() as u32
            },
            unread > 0 || pending_accept,
        ),
        waiting: link(View::Waiting, "Aguardando".into(), waiting, waiting > 0),
        queues,
        supervision,
        closed: link(View::Closed, "Encerradas".into(), 0, false),
    })
}

struct ListItem {
    id: i64,
    name: String,
    time: String,
    preview: String,
    detail: String,
    unread: u32,
    pending_accept: bool,
    current: bool,
}

#[derive(Template)]
#[template(path = "desk/list.html")]
struct ListFragment {
    title: String,
    view: String,
    items: Vec<ListItem>,
}

async fn list_fragment(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let face = Clockface::of(&state, &staff).await;
    Ok(fragment(
        list_html(&state, &staff, q.view(&staff), q.conversation(), &face).await?,
    ))
}

fn display_name(item: &InboxItem) -> String {
    item.contact_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("+{}", item.wa_id))
}

async fn list_html(
    state: &DeskState,
    staff: &Staff,
    view: View,
    current: Option<i64>,
    face: &Clockface,
) -> Result<String, PageError> {
    let store = state.app.store.as_ref();
    let items = store
        .desk_inbox(
            staff.workspace(),
            &view.filter(staff.user.id, staff.role(), LIST_LIMIT),
        )
        .await?;
    let queue_name = match view {
        View::Queue(q) => store.queue(staff.workspace(), q).await?.map(|q| q.name),
        _ => None,
    };
    let supervises = crate::session::supervises(staff.role());
    let items = items
        .iter()
        .map(|item| {
            let d = &item.desk;
            let mut detail = Vec::new();
            match d.state {
                Phase::Queued => {
                    if let Some(q) = &item.queue_name {
                        detail.push(q.clone());
                    }
                    if let Some(since) = d.queued_at {
                        detail.push(format!(
                            "esperando há {}",
                            super::duration_label(face.now - since)
                        ));
                    }
                }
                Phase::Assigned => {
                    if let Some(q) = &item.queue_name {
                        detail.push(q.clone());
                    }
                    if (supervises || d.agent_id != Some(staff.user.id))
                        && let Some(a) = &item.agent_name
                    {
                        detail.push(a.clone());
                    }
                }
                Phase::Menu => detail.push("escolhendo setor".into()),
                Phase::Closed => {
                    detail.push(resolution_label(d.resolution.as_deref()).into());
                    if let Some(a) = &item.agent_name {
                        detail.push(a.clone());
                    }
                }
            }
            ListItem {
                id: d.conversation_id.0,
                name: display_name(item),
                time: face.short(item.last_message_at),
                preview: item
                    .last_text
                    .as_deref()
                    .map(|t| t.chars().take(90).collect())
                    .unwrap_or_default(),
                detail: detail.join(" · "),
                unread: d.unread,
                pending_accept: d.state == Phase::Assigned
                    && !d.accepted
                    && d.agent_id == Some(staff.user.id),
                current: current == Some(d.conversation_id.0),
            }
        })
        .collect();
    rendered(&ListFragment {
        title: view.title(queue_name.as_deref()),
        view: view.key(),
        items,
    })
}

pub(crate) fn resolution_label(resolution: Option<&str>) -> &'static str {
    match resolution {
        Some("resolved") => "Resolvida",
        Some("unresolved") => "Não resolvida",
        Some("no_response") => "Sem resposta do assinante",
        Some("spam") => "Spam / engano",
        Some(_) => "Encerrada",
        None => "Encerrada",
    }
}

pub(crate) const RESOLUTIONS: &[(&str, &str)] = &[
    ("resolved", "Resolvida"),
    ("unresolved", "Não resolvida"),
    ("no_response", "Sem resposta do assinante"),
    ("spam", "Spam / engano"),
];

// ---- the conversation pane ---------------------------------------------------------------------

/// One line of the history: a message, an internal note or a desk event.
struct Entry {
    /// `in`, `out`, `note` or `sys`.
    kind: &'static str,
    /// Extra class (`bot`, `failed`).
    class: &'static str,
    text: String,
    by: String,
    time: String,
    status: String,
}

struct Option2 {
    value: String,
    label: String,
}

struct TemplateChoice {
    name: String,
    language: String,
    params: u32,
    body: String,
}

#[derive(Template)]
#[template(path = "desk/conversation.html")]
struct ConversationFragment {
    id: i64,
    name: String,
    phone: String,
    state_label: String,
    queue_name: String,
    agent_name: String,
    summary: Option<String>,
    entries: Vec<Entry>,
    tags: Vec<String>,
    can_accept: bool,
    can_claim: bool,
    can_transfer: bool,
    can_close: bool,
    can_reopen: bool,
    can_reply: bool,
    closed: bool,
    csat: String,
    window_open: bool,
    window_text: String,
    templates: Vec<TemplateChoice>,
    queues: Vec<Option2>,
    agents: Vec<Option2>,
    resolutions: Vec<Option2>,
}

async fn conversation_fragment(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let face = Clockface::of(&state, &staff).await;
    Ok(fragment(
        conversation_html(&state, &staff, ConversationId(id), &face).await?,
    ))
}

/// The desk row of a conversation the staff member may see (404 when absent, 403 otherwise).
pub(crate) async fn visible_desk(
    state: &DeskState,
    staff: &Staff,
    id: ConversationId,
) -> Result<DeskConversation, PageError> {
    let desk = state
        .app
        .store
        .desk_conversation(staff.workspace(), id)
        .await?
        .ok_or_else(|| {
            PageError::Status(StatusCode::NOT_FOUND, "Conversa não encontrada.".into())
        })?;
    if !staff.may_see(&desk) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "Esta conversa é de uma fila da qual você não participa.".into(),
        ));
    }
    Ok(desk)
}

fn phase_label(desk: &DeskConversation) -> &'static str {
    match desk.state {
        Phase::Menu => "Escolhendo setor",
        Phase::Queued => "Aguardando atendente",
        Phase::Assigned if !desk.accepted => "Transferida, aguardando aceite",
        Phase::Assigned => "Em atendimento",
        Phase::Closed => "Encerrada",
    }
}

fn author_label(author: &str, users: &HashMap<UserId, String>) -> (String, &'static str) {
    match author {
        "bot" => ("Robô".into(), "bot"),
        "api" => ("API".into(), ""),
        a if a.starts_with("agent:") => {
            let name = a
                .trim_start_matches("agent:")
                .parse::<i64>()
                .ok()
                .and_then(|id| users.get(&UserId(id)).cloned())
                .unwrap_or_else(|| "Atendente".into());
            (name, "")
        }
        _ => ("Mensagem automática".into(), "bot"),
    }
}

/// A desk event as a line of the history, in pt-BR; `None` for events not worth a line.
fn event_line(
    kind: &str,
    data: &serde_json::Value,
    users: &HashMap<UserId, String>,
    queues: &HashMap<QueueId, String>,
) -> Option<String> {
    let user = |key: &str| {
        data.get(key)
            .and_then(|v| v.as_i64())
            .and_then(|id| users.get(&UserId(id)).cloned())
    };
    let queue = |key: &str| {
        data.get(key)
            .and_then(|v| v.as_i64())
            .and_then(|id| queues.get(&QueueId(id)).cloned())
    };
    let text = match kind {
        "handoff" => "O robô passou a conversa para a equipe".to_owned(),
        "desk_menu" => "Assinante recebeu o menu de setores".to_owned(),
        "desk_queued" => match queue("queue_id") {
            Some(q) => format!("Entrou na fila {q}"),
            None => "Entrou na fila".to_owned(),
        },
        "desk_assigned" | "desk_claimed" => match user("agent_id").or_else(|| user("user_id")) {
            Some(a) => format!("Atribuída a {a}"),
            None => "Atribuída a um atendente".to_owned(),
        },
        "desk_accepted" => match user("agent_id").or_else(|| user("user_id")) {
            Some(a) => format!("{a} aceitou a transferência"),
            None => "Transferência aceita".to_owned(),
        },
        "desk_transferred" => {
            let target = user("to_agent_id")
                .map(|a| format!("para {a}"))
                .or_else(|| queue("to_queue_id").map(|q| format!("para a fila {q}")))
                .unwrap_or_default();
            match user("by") {
                Some(by) => format!("{by} transferiu {target}"),
                None => format!("Transferida {target}"),
            }
        }
        "desk_returned" => "Voltou para a fila (atendente saiu sem responder)".to_owned(),
        "desk_fallback" => match queue("queue_id").or_else(|| queue("to_queue_id")) {
            Some(q) => format!("Ninguém atendeu a tempo: movida para a fila {q}"),
            None => "Ninguém atendeu a tempo: movida de fila".to_owned(),
        },
        "desk_closed" => {
            let resolution = resolution_label(data.get("resolution").and_then(|v| v.as_str()));
            match user("by") {
                Some(by) => format!("{by} encerrou · {resolution}"),
                None => format!("Encerrada · {resolution}"),
            }
        }
        "desk_reopened" => "Conversa reaberta".to_owned(),
        "csat" => format!(
            "Avaliação do assinante: {} de 5",
            data.get("rating").and_then(|v| v.as_i64()).unwrap_or(0)
        ),
        _ => return None,
    };
    Some(text)
}

async fn conversation_html(
    state: &DeskState,
    staff: &Staff,
    id: ConversationId,
    face: &Clockface,
) -> Result<String, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let desk = visible_desk(state, staff, id).await?;
    let conversation = store.conversation(ws, id).await?.ok_or_else(|| {
        PageError::Status(StatusCode::NOT_FOUND, "Conversa não encontrada.".into())
    })?;
    let messages = store.messages(ws, id, None, 500).await?;
    let notes = store.notes(ws, id).await?;
    let events = store.events(ws, id).await?;
    let tags = store.tags(ws, id).await?;
    let users = store.users(ws).await?;
    let queues = store.queues(ws).await?;
    let user_names: HashMap<UserId, String> =
        users.iter().map(|u| (u.id, u.name.clone())).collect();
    let queue_names: HashMap<QueueId, String> =
        queues.iter().map(|q| (q.id, q.name.clone())).collect();
    let authors: HashMap<balcao_domain::MessageId, String> = events
        .iter()
        .filter(|e| e.kind == "message_out")
        .filter_map(|e| Some((e.message_id?, e.data.get("author")?.as_str()?.to_owned())))
        .collect();

    let mut timeline: Vec<(Millis, u8, Entry)> = Vec::new();
    for m in &messages {
        let (by, class) = match m.direction {
            Direction::In => (String::new(), ""),
            Direction::Out => {
                let author = authors.get(&m.id).map(String::as_str).unwrap_or("system");
                author_label(author, &user_names)
            }
        };
        let failed = m.status == Some(balcao_domain::status::DeliveryStatus::Failed);
        timeline.push((
            m.created_at,
            0,
            Entry {
                kind: m.direction.as_str(),
                class: if failed { "failed" } else { class },
                text: message_text(m),
                by,
                time: face.short(m.created_at),
                status: m
                    .status
                    .map(|s| status_label(s.as_str()).to_owned())
                    .unwrap_or_default(),
            },
        ));
    }
    for n in &notes {
        timeline.push((
            n.created_at,
            1,
            Entry {
                kind: "note",
                class: "",
                text: n.body.clone(),
                by: user_names.get(&n.user_id).cloned().unwrap_or_default(),
                time: face.short(n.created_at),
                status: String::new(),
            },
        ));
    }
    for e in &events {
        if let Some(text) = event_line(&e.kind, &e.data, &user_names, &queue_names) {
            timeline.push((
                e.created_at,
                2,
                Entry {
                    kind: "sys",
                    class: "",
                    text,
                    by: String::new(),
                    time: face.short(e.created_at),
                    status: String::new(),
                },
            ));
        }
    }
    timeline.sort_by_key(|(at, order, _)| (*at, *order));

    let me = staff.user.id;
    let supervises = crate::session::supervises(staff.role());
    let mine = desk.agent_id == Some(me);
    let live = desk.state != Phase::Closed;
    let window = Window::at(conversation.last_inbound_at, face.now);
    let window_text = match window {
        Window::Open { closes_at } => format!(
            "Janela de 24 h aberta até {} (faltam {}): pode responder livremente.",
            face.short(closes_at),
            super::duration_label(closes_at - face.now)
        ),
        Window::Closed { .. } => match conversation.last_inbound_at {
            Some(last) => format!(
                "Janela de 24 h fechada (última mensagem do assinante em {}): só é possível enviar um modelo aprovado.",
                face.full(last)
            ),
            None => "Janela de 24 h fechada: só é possível enviar um modelo aprovado.".into(),
        },
    };
    let templates = if window.is_open() {
        Vec::new()
    } else {
        store
            .templates(ws, conversation.number_id)
            .await?
            .into_iter()
            .filter(|t| t.status.eq_ignore_ascii_case("approved"))
            .map(|t| TemplateChoice {
                name: t.name,
                language: t.language,
                params: t.body_params,
                body: t.body,
            })
            .collect()
    };
    let now = face.now;
    let agents = users
        .iter()
        .filter(|u| u.active && u.id != me)
        .map(|u| Option2 {
            value: u.id.0.to_string(),
            label: format!("{} ({})", u.name, presence_label(u, now)),
        })
        .collect();
    let csat = match store.csat_rating(ws, id).await? {
        Some(r) => match &r.comment {
            Some(c) => format!("Avaliação: {} de 5 — “{c}”", r.rating),
            None => format!("Avaliação: {} de 5", r.rating),
        },
        None => String::new(),
    };
    let name = conversation
        .contact_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("+{}", conversation.wa_id));
    rendered(&ConversationFragment {
        id: id.0,
        name,
        phone: format!("+{}", conversation.wa_id),
        state_label: phase_label(&desk).into(),
        queue_name: desk
            .queue_id
            .and_then(|q| queue_names.get(&q).cloned())
            .unwrap_or_default(),
        agent_name: desk
            .agent_id
            .and_then(|a| user_names.get(&a).cloned())
            .unwrap_or_default(),
        summary: desk.summary.clone().filter(|s| !s.trim().is_empty()),
        entries: timeline.into_iter().map(|(_, _, e)| e).collect(),
        tags,
        can_accept: desk.state == Phase::Assigned && mine && !desk.accepted,
        can_claim: desk.state == Phase::Queued
            && desk.queue_id.is_some_and(|q| staff.sees_queue(q)),
        can_transfer: live && (desk.state != Phase::Menu || supervises),
        can_close: live,
        can_reopen: desk.state == Phase::Closed && !desk.finished,
        can_reply: desk.state == Phase::Assigned && (mine || supervises),
        closed: desk.state == Phase::Closed,
        csat,
        window_open: window.is_open(),
        window_text,
        templates,
        queues: queues
            .iter()
            .filter(|q| q.active)
            .map(|q: &Queue| Option2 {
                value: q.id.0.to_string(),
                label: format!("{} - {}", q.option_number, q.name),
            })
            .collect(),
        agents,
        resolutions: RESOLUTIONS
            .iter()
            .map(|(v, l)| Option2 {
                value: (*v).into(),
                label: (*l).into(),
            })
            .collect(),
    })
}

pub(crate) fn presence_label(user: &User, now: Millis) -> &'static str {
    match presence_of(user, now) {
        "online" => "disponível",
        "away" => "ausente",
        _ => "offline",
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "queued" | "sending" => "enviando",
        "accepted" => "enviada",
        "sent" => "✓",
        "delivered" => "✓✓",
        "read" => "lida",
        "failed" => "falhou",
        _ => "",
    }
}

/// What a person reads of a message; attachments and interactive messages get a short label.
fn message_text(m: &balcao_store::Message) -> String {
    let text = m.text.clone().unwrap_or_default();
    let link = m
        .payload
        .get("link")
        .or_else(|| m.payload.pointer("/document/link"))
        .or_else(|| m.payload.pointer("/image/link"))
        .and_then(|v| v.as_str());
    match (m.message_type.as_str(), link) {
        ("document", Some(link)) => format!("📄 {link}\n{text}").trim().to_owned(),
        ("image", Some(link)) => format!("🖼 {link}\n{text}").trim().to_owned(),
        (kind, _) if text.is_empty() => format!("[{kind}]"),
        _ => text,
    }
}

// ---- the customer beside the conversation ------------------------------------------------------

struct InvoiceLine {
    due: String,
    amount: String,
    status: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "desk/customer.html")]
struct CustomerFragment {
    identified: bool,
    name: String,
    code: String,
    document: String,
    verification: String,
    contract: String,
    invoices: Vec<InvoiceLine>,
    invoices_error: String,
    protocol: String,
}

async fn customer_fragment(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let id = ConversationId(id);
    visible_desk(&state, &staff, id).await?;
    let ws = staff.workspace();
    let session = state.app.store.bot_session(ws, id).await?;
    let bot_state = session.as_ref().map(|s| &s.state);
    let customer: Option<balcao_erp::Customer> = bot_state
        .and_then(|s| s.pointer("/identified/customer"))
        .and_then(|c| serde_json::from_value(c.clone()).ok());
    let verification = bot_state
        .and_then(|s| s.pointer("/identified/verification"))
        .and_then(|v| v.as_str())
        .map(|v| match v {
            "registered_phone" => "telefone cadastrado",
            "document" | "document_confirmed" => "confirmou CPF/CNPJ",
            _ => "identificado pelo robô",
        })
        .unwrap_or_default();
    let contract = bot_state
        .and_then(|s| s.get("contract"))
        .and_then(|c| serde_json::from_value::<balcao_erp::Contract>(c.clone()).ok())
        .map(|c| {
            let plan = c
                .plan_name
                .unwrap_or_else(|| format!("contrato {}", c.erp_id));
            format!("{plan} · {}", c.raw_status)
        })
        .unwrap_or_default();
    let mut invoices = Vec::new();
    let mut invoices_error = String::new();
    if let Some(customer) = &customer {
        match state.app.erp.adapter(ws).await {
            Ok(adapter) => {
                let lookup = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    adapter.open_invoices(customer),
                )
                .await;
                match lookup {
                    Ok(Ok(list)) => {
                        let today = jiff::Timestamp::from_millisecond(state.app.clock.now())
                            .map(|t| {
                                t.to_zoned(
                                    jiff::tz::TimeZone::get("America/Sao_Paulo")
                                        .unwrap_or(jiff::tz::TimeZone::UTC),
                                )
                                .date()
                            })
                            .ok();
                        for inv in list.into_iter().take(12) {
                            let overdue = today.is_some_and(|d| inv.due_date < d);
                            invoices.push(InvoiceLine {
                                due: inv.due_date.strftime("%d/%m/%Y").to_string(),
                                amount: super::brl(
                                    inv.amount_due_cents.unwrap_or(inv.amount_cents),
                                ),
                                status: if overdue {
                                    "vencida".into()
                                } else {
                                    "em aberto".into()
                                },
                                overdue,
                            });
                        }
                    }
                    Ok(Err(e)) => {
                        invoices_error = format!("Não foi possível consultar as faturas: {e}")
                    }
                    Err(_) => invoices_error = "O sistema de gestão demorou a responder.".into(),
                }
            }
            Err(e) => invoices_error = format!("Sistema de gestão indisponível: {e}"),
        }
    }
    let (name, code, document) = match &customer {
        Some(c) => (
            c.name.trim().to_owned(),
            c.erp_id.clone(),
            c.document
                .as_ref()
                .map(|d| format!("{} {}", d.kind(), d.redacted()))
                .unwrap_or_default(),
        ),
        None => Default::default(),
    };
    Ok(fragment(rendered(&CustomerFragment {
        identified: customer.is_some(),
        name,
        code,
        document,
        verification: verification.into(),
        contract,
        invoices,
        invoices_error,
        protocol: session.map(|s| s.protocol).unwrap_or_default(),
    })?))
}

// ---- team chat ---------------------------------------------------------------------------------

struct TeamLine {
    by: String,
    time: String,
    body: String,
    mine: bool,
}

#[derive(Template)]
#[template(path = "desk/team.html")]
struct TeamFragment {
    lines: Vec<TeamLine>,
}

async fn team_fragment(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
) -> Result<Response, PageError> {
    let face = Clockface::of(&state, &staff).await;
    let ws = staff.workspace();
    let messages = state.app.store.team_messages(ws, None, 100).await?;
    let names: HashMap<UserId, String> = state
        .app
        .store
        .users(ws)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let lines = messages
        .into_iter()
        .map(|m| TeamLine {
            by: names.get(&m.user_id).cloned().unwrap_or_default(),
            time: face.short(m.created_at),
            body: m.body,
            mine: m.user_id == staff.user.id,
        })
        .collect();
    Ok(fragment(rendered(&TeamFragment { lines })?))
}
