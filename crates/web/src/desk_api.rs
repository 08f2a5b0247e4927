//! The desk's REST API under `/api/v1/desk`: every agent action of the inbox (reply, note, tag,
//! transfer, accept, claim, close, reopen, presence, quick replies, team chat) and the
//! administration (queues, members, automatic messages and settings, holidays, quick replies,
//! users, tokens), documented in the OpenAPI.
//!
//! Authentication: a user's bearer token (`Authorization: Bearer bt_…`, created in the UI or with
//! `POST /api/v1/desk/tokens`), or the browser session cookie plus `X-CSRF-Token` (the inbox's
//! own calls). Every handler acts as that user: agents reach only the conversations of their
//! queues and those assigned to them; supervisors every queue; admins the configuration.

use crate::DeskState;
use crate::api::MessageDto;
use crate::error::{ApiError, ErrorBody};
use crate::session::{self, Staff, forbidden};
use crate::ui::view::View;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, Millis, UserId};
use balcao_store::{
    DeskConversation, DeskState as Phase, Distribution, Holiday, InboxFilter, InboxItem,
    NewQuickReply, OptionNumber, OutOfHoursMode, Queue, QueueId, QueueSettings, Role, User,
    UserPatch,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn router() -> Router<DeskState> {
    Router::new()
        .route("/api/v1/desk/me", get(me))
        .route("/api/v1/desk/presence", put(set_presence))
        .route("/api/v1/desk/presence/heartbeat", post(heartbeat))
        .route("/api/v1/desk/conversations", get(list_conversations))
        .route("/api/v1/desk/conversations/{id}", get(get_conversation))
        .route("/api/v1/desk/conversations/{id}/reply", post(reply))
        .route("/api/v1/desk/conversations/{id}/notes", post(add_note))
        .route("/api/v1/desk/conversations/{id}/tags", post(add_tag))
        .route(
            "/api/v1/desk/conversations/{id}/tags/{tag}",
            axum::routing::delete(remove_tag),
        )
        .route("/api/v1/desk/conversations/{id}/transfer", post(transfer))
        .route("/api/v1/desk/conversations/{id}/accept", post(accept))
        .route("/api/v1/desk/conversations/{id}/claim", post(claim))
        .route("/api/v1/desk/conversations/{id}/close", post(close))
        .route("/api/v1/desk/conversations/{id}/reopen", post(reopen))
        .route("/api/v1/desk/conversations/{id}/read", post(mark_read))
        .route(
            "/api/v1/desk/conversations/{id}/quick-replies",
            get(conversation_quick_replies),
        )
        .route(
            "/api/v1/desk/quick-replies",
            get(list_quick_replies).post(create_quick_reply),
        )
        .route(
            "/api/v1/desk/quick-replies/{id}",
            put(update_quick_reply).delete(delete_quick_reply),
        )
        .route(
            "/api/v1/desk/team-messages",
            get(list_team_messages).post(post_team_message),
        )
        .route("/api/v1/desk/queues", get(list_queues).post(create_queue))
        .route(
            "/api/v1/desk/queues/{id}",
            get(get_queue).put(update_queue).delete(delete_queue),
        )
        .route("/api/v1/desk/queues/{id}/members", put(set_members))
        .route("/api/v1/desk/settings", get(get_settings).put(put_settings))
        .route("/api/v1/desk/holidays", get(get_holidays).put(put_holidays))
        .route("/api/v1/desk/users", get(list_users).post(create_user))
        .route("/api/v1/desk/users/{id}", put(update_user))
        .route("/api/v1/desk/users/{id}/password", post(user_password))
        .route("/api/v1/desk/tokens", get(list_tokens).post(create_token))
        .route(
            "/api/v1/desk/tokens/{id}",
            axum::routing::delete(delete_token),
        )
        .route("/api/v1/desk/board", get(board))
}

#[derive(OpenApi)]
#[openapi(
    paths(me, set_presence, heartbeat, list_conversations, get_conversation, reply, add_note, add_tag,
        remove_tag, transfer, accept, claim, close, reopen, mark_read, conversation_quick_replies,
        list_quick_replies, create_quick_reply, update_quick_reply, delete_quick_reply,
        list_team_messages, post_team_message, list_queues, create_queue, get_queue, update_queue,
        delete_queue, set_members, get_settings, put_settings, get_holidays, put_holidays,
        list_users, create_user, update_user, user_password, list_tokens, create_token,
        delete_token, board),
    components(schemas(MeDto, UserDto, PresenceBody, PresenceDto, DeskConversationDto, DeskConversationList,
        DeskConversationDetail, NoteDto, ReplyBody, TemplateReply, NoteBody, TagBody, TagsDto, TransferBody,
        CloseBody, QuickReplyDto, QuickReplyBody, QuickReplyMatches, QuickReplyMatch, TeamMessageDto,
        TeamMessageBody, TeamMessageList, QueueDto, QueueBody, MembersBody, HolidaysDto, HolidayDto,
        NationalHolidayDto, HolidaysBody, NewUserBody, UserUpdateBody, PasswordBody, TokenDto, NewTokenBody,
        CreatedTokenDto, BoardDto, BoardAgentDto, BoardQueueDto, CsatDto)),
    tags((name = "desk", description = "Atendimento humano: caixa de entrada, filas e administração"))
)]
pub struct DeskApiDoc;

fn rfc3339(ms: Millis) -> String {
    crate::api_time(ms)
}

fn opt_time(ms: Option<Millis>) -> Option<String> {
    ms.map(rfc3339)
}

fn now(state: &DeskState) -> Millis {
    state.app.clock.now()
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

// ---- me and presence -----------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    pub active: bool,
    pub max_chats: u32,
    /// The user's own weekly hours (`{"mon":[["08:00","12:00"]],…}`); null follows the queue's.
    #[schema(value_type = Option<Object>)]
    pub hours: Option<Value>,
    /// `online`, `away` or `offline`.
    pub presence: String,
    pub last_seen_at: Option<String>,
    /// Queues the user belongs to.
    pub queue_ids: Vec<i64>,
}

fn user_dto(u: &User, queues: Vec<QueueId>, now: Millis) -> UserDto {
    UserDto {
        id: u.id.0,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role.as_str().into(),
        active: u.active,
        max_chats: u.max_chats,
        hours: u.hours.clone(),
        presence: crate::ui::presence_of(u, now).into(),
        last_seen_at: opt_time(u.last_seen_at),
        queue_ids: queues.into_iter().map(|q| q.0).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeDto {
    pub user: UserDto,
    pub workspace_id: i64,
}

#[utoipa::path(get, path = "/api/v1/desk/me", tag = "desk",
    responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<DeskState>, staff: Staff) -> Json<MeDto> {
    Json(MeDto {
        workspace_id: staff.workspace().0,
        user: user_dto(&staff.user, staff.queues.clone(), now(&state)),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PresenceBody {
    /// true: "Ausente" (no new chats; unanswered ones go back to the queue).
    pub away: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PresenceDto {
    /// `online`, `away` or `offline`.
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/desk/presence/heartbeat", tag = "desk",
    description = "Sent by the open inbox every 15 s: the user counts as online for 45 s after it.",
    responses((status = 200, body = PresenceDto), (status = 401, body = ErrorBody)))]
async fn heartbeat(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<PresenceDto>, ApiError> {
    let user = state.desk_heartbeat(&staff).await?;
    Ok(Json(PresenceDto {
        status: crate::ui::presence_of(&user, now(&state)).into(),
    }))
}

#[utoipa::path(put, path = "/api/v1/desk/presence", tag = "desk", request_body = PresenceBody,
    responses((status = 200, body = PresenceDto), (status = 401, body = ErrorBody)))]
async fn set_presence(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<PresenceBody>,
) -> Result<Json<PresenceDto>, ApiError> {
    let user = state.desk_set_away(&staff, body.away).await?;
    Ok(Json(PresenceDto {
        status: crate::ui::presence_of(&user, now(&state)).into(),
    }))
}

// ---- conversations -------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct DeskConversationDto {
    pub conversation_id: i64,
    /// `menu`, `queued`, `assigned` or `closed`.
    pub state: String,
    pub queue_id: Option<i64>,
    pub queue_name: Option<String>,
    pub agent_id: Option<i64>,
    pub agent_name: Option<String>,
    /// false while a transfer to an agent waits for their accept.
    pub accepted: bool,
    pub wa_id: Option<String>,
    pub contact_name: Option<String>,
    /// The bot's handoff summary.
    pub summary: Option<String>,
    pub queued_at: Option<String>,
    pub assigned_at: Option<String>,
    pub first_response_at: Option<String>,
    /// When it moves to the fallback queue if nobody takes or accepts it.
    pub deadline_at: Option<String>,
    pub closed_at: Option<String>,
    pub resolution: Option<String>,
    /// `none`, `asked`, `comment` or `done`.
    pub csat_state: String,
    pub unread: u32,
    pub last_message_at: Option<String>,
    pub last_text: Option<String>,
    pub tags: Vec<String>,
    /// Free-form replies are possible only while the 24-hour window is open.
    pub window_open: Option<bool>,
    pub window_closes_at: Option<String>,
}

fn desk_dto(d: &DeskConversation) -> DeskConversationDto {
    DeskConversationDto {
        conversation_id: d.conversation_id.0,
        state: d.state.as_str().into(),
        queue_id: d.queue_id.map(|q| q.0),
        queue_name: None,
        agent_id: d.agent_id.map(|a| a.0),
        agent_name: None,
        accepted: d.accepted,
        wa_id: None,
        contact_name: None,
        summary: d.summary.clone(),
        queued_at: opt_time(d.queued_at),
        assigned_at: opt_time(d.assigned_at),
        first_response_at: opt_time(d.first_response_at),
        deadline_at: opt_time(d.deadline_at),
        closed_at: opt_time(d.closed_at),
        resolution: d.resolution.clone(),
        csat_state: d.csat_state.as_str().into(),
        unread: d.unread,
        last_message_at: None,
        last_text: None,
        tags: Vec::new(),
        window_open: None,
        window_closes_at: None,
    }
}

fn window_fields(last_inbound_at: Option<Millis>, now: Millis) -> (Option<bool>, Option<String>) {
    match Window::at(last_inbound_at, now) {
        Window::Open { closes_at } => (Some(true), Some(rfc3339(closes_at))),
        Window::Closed { .. } => (Some(false), None),
    }
}

fn item_dto(item: &InboxItem, now: Millis) -> DeskConversationDto {
    let (window_open, window_closes_at) = window_fields(item.last_inbound_at, now);
    DeskConversationDto {
        queue_name: item.queue_name.clone(),
        agent_name: item.agent_name.clone(),
        wa_id: Some(item.wa_id.to_string()),
        contact_name: item.contact_name.clone(),
        last_message_at: Some(rfc3339(item.last_message_at)),
        last_text: item.last_text.clone(),
        tags: item.tags.clone(),
        window_open,
        window_closes_at,
        ..desk_dto(&item.desk)
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeskConversationList {
    pub conversations: Vec<DeskConversationDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct DeskListQuery {
    /// `mine` (assigned to me), `waiting` (queued in my queues), `queue:<id>`, `active` and
    /// `menu` (supervisors), `closed`. Without it: filter by the other parameters.
    pub view: Option<String>,
    /// `menu`, `queued`, `assigned` or `closed`.
    pub state: Option<String>,
    pub queue_id: Option<i64>,
    pub agent_id: Option<i64>,
    /// 1–1000, default 200.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/desk/conversations", tag = "desk", params(DeskListQuery),
    responses((status = 200, body = DeskConversationList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_conversations(
    State(state): State<DeskState>,
    staff: Staff,
    Query(q): Query<DeskListQuery>,
) -> Result<Json<DeskConversationList>, ApiError> {
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let filter = match q.view.as_deref() {
        Some(raw) => {
            let view = View::parse(raw).ok_or_else(|| {
                ApiError::bad_request(
                    "view deve ser mine, waiting, queue:<id>, active, menu ou closed",
                )
            })?;
            if !view.allowed(staff.role(), &staff.queues) {
                return Err(forbidden("você não tem acesso a esta lista"));
            }
            view.filter(staff.user.id, staff.role(), limit)
        }
        None => {
            let phase = match q.state.as_deref() {
                Some(s) => Some(Phase::parse(s).ok_or_else(|| {
                    ApiError::bad_request("state deve ser menu, queued, assigned ou closed")
                })?),
                None => None,
            };
            InboxFilter {
                state: phase,
                queue: q.queue_id.map(QueueId),
                agent: q.agent_id.map(UserId),
                visible_to: (!session::supervises(staff.role())).then_some(staff.user.id),
                include_finished: phase == Some(Phase::Closed),
                limit,
            }
        }
    };
    let items = state
        .app
        .store
        .desk_inbox(staff.workspace(), &filter)
        .await?;
    let now = now(&state);
    Ok(Json(DeskConversationList {
        conversations: items.iter().map(|i| item_dto(i, now)).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct NoteDto {
    pub id: i64,
    pub user_id: i64,
    pub body: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CsatDto {
    pub rating: u8,
    pub comment: Option<String>,
    pub agent_id: Option<i64>,
    pub queue_id: Option<i64>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeskConversationDetail {
    pub conversation: DeskConversationDto,
    /// The whole conversation, bot part included, oldest first (at most 500).
    pub messages: Vec<MessageDto>,
    /// Internal notes (never sent to the subscriber).
    pub notes: Vec<NoteDto>,
    pub csat: Option<CsatDto>,
    /// The customer the bot identified (management system's record), when it did.
    #[schema(value_type = Option<Object>)]
    pub customer: Option<Value>,
    pub protocol: Option<String>,
}

/// The desk row of a conversation the staff member may see (404 when absent, 403 otherwise).
async fn visible(
    state: &DeskState,
    staff: &Staff,
    id: ConversationId,
) -> Result<DeskConversation, ApiError> {
    let desk = state
        .app
        .store
        .desk_conversation(staff.workspace(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    if !staff.may_see(&desk) {
        return Err(forbidden(
            "esta conversa é de uma fila da qual você não participa",
        ));
    }
    Ok(desk)
}

async fn detail_dto(
    state: &DeskState,
    staff: &Staff,
    desk: &DeskConversation,
) -> Result<DeskConversationDto, ApiError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let id = desk.conversation_id;
    let conversation = store
        .conversation(ws, id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    let (window_open, window_closes_at) = window_fields(conversation.last_inbound_at, now(state));
    let queue_name = match desk.queue_id {
        Some(q) => store.queue(ws, q).await?.map(|q| q.name),
        None => None,
    };
    let agent_name = match desk.agent_id {
        Some(a) => store.user(ws, a).await?.map(|u| u.name),
        None => None,
    };
    Ok(DeskConversationDto {
        queue_name,
        agent_name,
        wa_id: Some(conversation.wa_id.to_string()),
        contact_name: conversation.contact_name.clone(),
        last_message_at: Some(rfc3339(conversation.last_message_at)),
        tags: store.tags(ws, id).await?,
        window_open,
        window_closes_at,
        ..desk_dto(desk)
    })
}

#[utoipa::path(get, path = "/api/v1/desk/conversations/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 200, body = DeskConversationDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeskConversationDetail>, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let messages = store.messages(ws, id, None, 500).await?;
    let notes = store.notes(ws, id).await?;
    let csat = store.csat_rating(ws, id).await?;
    let session = store.bot_session(ws, id).await?;
    Ok(Json(DeskConversationDetail {
        conversation: detail_dto(&state, &staff, &desk).await?,
        messages: messages.into_iter().map(MessageDto::from).collect(),
        notes: notes
            .into_iter()
            .map(|n| NoteDto {
                id: n.id,
                user_id: n.user_id.0,
                body: n.body,
                created_at: rfc3339(n.created_at),
            })
            .collect(),
        csat: csat.map(|r| CsatDto {
            rating: r.rating,
            comment: r.comment,
            agent_id: r.agent_id.map(|a| a.0),
            queue_id: r.queue_id.map(|q| q.0),
            created_at: rfc3339(r.created_at),
        }),
        customer: session
            .as_ref()
            .and_then(|s| s.state.pointer("/identified/customer").cloned()),
        protocol: session.map(|s| s.protocol),
    }))
}

// ---- agent actions -------------------------------------------------------------------------------

/// A reply: text (with an optional attachment link), a quick reply by id, or an approved
/// template (the only thing allowed once the 24-hour window closed).
#[derive(Deserialize, ToSchema)]
pub struct ReplyBody {
    pub text: Option<String>,
    /// A PDF or image by link, sent as a document or an image (the text becomes its caption).
    pub attachment_url: Option<String>,
    pub template: Option<TemplateReply>,
    /// A quick reply by id, rendered with this conversation's variables (its attachment too).
    pub quick_reply_id: Option<i64>,
    /// Repeating a request with the same key never sends twice.
    pub idempotency_key: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct TemplateReply {
    pub name: String,
    pub language: String,
    /// Values of `{{1}}`, `{{2}}`… in order.
    #[serde(default)]
    pub params: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/reply", tag = "desk", params(("id" = i64, Path)), request_body = ReplyBody,
    responses((status = 202, description = "queued", body = MessageDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "not with this user", body = ErrorBody), (status = 422, description = "outside the 24-hour window, invalid content", body = ErrorBody)))]
async fn reply(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<ReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    let message = state.desk_reply(&staff, &desk, body).await?;
    Ok((StatusCode::ACCEPTED, Json(MessageDto::from(message))))
}

#[derive(Deserialize, ToSchema)]
pub struct NoteBody {
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/notes", tag = "desk", params(("id" = i64, Path)), request_body = NoteBody,
    responses((status = 201, body = NoteDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_note(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<NoteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let text = body.body.trim();
    if text.is_empty() {
        return Err(unprocessable("empty_note", "a nota está vazia"));
    }
    let note = state.desk_note(&staff, id, text).await?;
    Ok((
        StatusCode::CREATED,
        Json(NoteDto {
            id: note.id,
            user_id: note.user_id.0,
            body: note.body,
            created_at: rfc3339(note.created_at),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct TagBody {
    pub tag: String,
}

#[derive(Serialize, ToSchema)]
pub struct TagsDto {
    pub tags: Vec<String>,
}

/// Tags are short labels: trimmed, lowercased, up to 40 characters.
fn parse_tag(raw: &str) -> Result<String, ApiError> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() || tag.chars().count() > 40 {
        return Err(unprocessable(
            "invalid_tag",
            "a etiqueta deve ter de 1 a 40 caracteres",
        ));
    }
    Ok(tag)
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/tags", tag = "desk", params(("id" = i64, Path)), request_body = TagBody,
    responses((status = 200, body = TagsDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_tag(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<TagBody>,
) -> Result<Json<TagsDto>, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let tag = parse_tag(&body.tag)?;
    state.desk_tag(&staff, id, &tag, true).await?;
    Ok(Json(TagsDto {
        tags: state.app.store.tags(staff.workspace(), id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/desk/conversations/{id}/tags/{tag}", tag = "desk", params(("id" = i64, Path), ("tag" = String, Path)),
    responses((status = 200, body = TagsDto), (status = 403, body = ErrorBody)))]
async fn remove_tag(
    State(state): State<DeskState>,
    staff: Staff,
    Path((id, tag)): Path<(i64, String)>,
) -> Result<Json<TagsDto>, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let tag = parse_tag(&tag)?;
    state.desk_tag(&staff, id, &tag, false).await?;
    Ok(Json(TagsDto {
        tags: state.app.store.tags(staff.workspace(), id).await?,
    }))
}

/// Exactly one of `queue_id` and `agent_id`.
#[derive(Deserialize, ToSchema)]
pub struct TransferBody {
    pub queue_id: Option<i64>,
    pub agent_id: Option<i64>,
    /// Private note for whoever receives it.
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/transfer", tag = "desk", params(("id" = i64, Path)), request_body = TransferBody,
    responses((status = 200, body = DeskConversationDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<TransferBody>,
) -> Result<Json<DeskConversationDto>, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    let target = match (body.queue_id, body.agent_id) {
        (Some(q), None) => balcao_store::TransferTarget::Queue(QueueId(q)),
        (None, Some(a)) => balcao_store::TransferTarget::Agent(UserId(a)),
        _ => {
            return Err(unprocessable(
                "invalid_transfer",
                "escolha uma fila ou um atendente (só um dos dois)",
            ));
        }
    };
    // Agents act on their own chats or their queues' waiting ones; supervisors on any.
    if !session::supervises(staff.role())
        && desk.agent_id.is_some()
        && desk.agent_id != Some(staff.user.id)
    {
        return Err(forbidden("só quem atende a conversa pode transferi-la"));
    }
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let desk = state.desk_transfer(&staff, id, target, note).await?;
    Ok(Json(detail_dto(&state, &staff, &desk).await?))
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/accept", tag = "desk", params(("id" = i64, Path)),
    description = "Accept a conversation transferred to me.",
    responses((status = 200, body = DeskConversationDto), (status = 409, body = ErrorBody)))]
async fn accept(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeskConversationDto>, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let desk = state.desk_accept(&staff, id).await?;
    Ok(Json(detail_dto(&state, &staff, &desk).await?))
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/claim", tag = "desk", params(("id" = i64, Path)),
    description = "Take a waiting conversation (queues in pick mode; supervisors anywhere). 409 when someone took it first or I am at my limit.",
    responses((status = 200, body = DeskConversationDto), (status = 409, body = ErrorBody)))]
async fn claim(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeskConversationDto>, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let desk = state.desk_claim(&staff, id).await?;
    Ok(Json(detail_dto(&state, &staff, &desk).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseBody {
    /// `resolved`, `unresolved`, `no_response` or `spam`.
    pub resolution: String,
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/close", tag = "desk", params(("id" = i64, Path)), request_body = CloseBody,
    description = "Close with a resolution: the subscriber gets the thanks message and, inside the 24-hour window, the rating request.",
    responses((status = 200, body = DeskConversationDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<CloseBody>,
) -> Result<Json<DeskConversationDto>, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    if !crate::ui::RESOLUTIONS
        .iter()
        .any(|(key, _)| *key == body.resolution)
    {
        return Err(unprocessable(
            "invalid_resolution",
            "resolution deve ser resolved, unresolved, no_response ou spam",
        ));
    }
    if !session::supervises(staff.role())
        && desk.agent_id.is_some()
        && desk.agent_id != Some(staff.user.id)
    {
        return Err(forbidden("só quem atende a conversa pode encerrá-la"));
    }
    let desk = state.desk_close(&staff, id, &body.resolution).await?;
    Ok(Json(detail_dto(&state, &staff, &desk).await?))
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/reopen", tag = "desk", params(("id" = i64, Path)),
    description = "Reopen a closed conversation (during its grace period) and take it.",
    responses((status = 200, body = DeskConversationDto), (status = 409, body = ErrorBody)))]
async fn reopen(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeskConversationDto>, ApiError> {
    let id = ConversationId(id);
    visible(&state, &staff, id).await?;
    let desk = state.desk_reopen(&staff, id).await?;
    Ok(Json(detail_dto(&state, &staff, &desk).await?))
}

#[utoipa::path(post, path = "/api/v1/desk/conversations/{id}/read", tag = "desk", params(("id" = i64, Path)),
    description = "The agent opened it: clears the unread count.",
    responses((status = 204), (status = 403, body = ErrorBody)))]
async fn mark_read(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    if desk.unread > 0 {
        state.desk_mark_read(&staff, id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- quick replies -------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct QuickReplyDto {
    pub id: i64,
    pub shortcut: String,
    pub body: String,
    /// null: every queue.
    pub queue_id: Option<i64>,
    pub attachment_url: Option<String>,
}

fn quick_dto(q: balcao_store::QuickReply) -> QuickReplyDto {
    QuickReplyDto {
        id: q.id,
        shortcut: q.shortcut,
        body: q.body,
        queue_id: q.queue_id.map(|q| q.0),
        attachment_url: q.attachment_url,
    }
}

#[derive(Serialize, ToSchema)]
pub struct QuickReplyMatch {
    pub id: i64,
    pub shortcut: String,
    /// The body with this conversation's variables (`{{nome}}`, `{{agente}}`…) filled in.
    pub rendered: String,
    pub attachment_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QuickReplyMatches {
    pub quick_replies: Vec<QuickReplyMatch>,
}

#[derive(Deserialize, IntoParams)]
pub struct QuickQuery {
    /// What the agent typed after `/` (may be empty).
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/desk/conversations/{id}/quick-replies", tag = "desk", params(("id" = i64, Path), QuickQuery),
    responses((status = 200, body = QuickReplyMatches), (status = 403, body = ErrorBody)))]
async fn conversation_quick_replies(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<QuickQuery>,
) -> Result<Json<QuickReplyMatches>, ApiError> {
    let id = ConversationId(id);
    let desk = visible(&state, &staff, id).await?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let all: Vec<balcao_desk::QuickReply> = store
        .quick_replies(ws, desk.queue_id)
        .await?
        .into_iter()
        .map(|r| balcao_desk::QuickReply {
            id: r.id,
            shortcut: r.shortcut,
            body: r.body,
            queue_id: r.queue_id.map(|q| q.0),
            attachment_url: r.attachment_url,
        })
        .collect();
    let vars = conversation_vars(&state, &staff, &desk).await?;
    let matches = balcao_desk::quick::matching(
        q.q.as_deref().unwrap_or(""),
        desk.queue_id.map(|q| q.0),
        &all,
    );
    Ok(Json(QuickReplyMatches {
        quick_replies: matches
            .into_iter()
            .take(20)
            .map(|r| QuickReplyMatch {
                id: r.id,
                shortcut: r.shortcut.clone(),
                rendered: r.render(&vars),
                attachment_url: r.attachment_url.clone(),
            })
            .collect(),
    }))
}

/// The variables a quick reply may use in this conversation.
async fn conversation_vars(
    state: &DeskState,
    staff: &Staff,
    desk: &DeskConversation,
) -> Result<balcao_desk::Vars, ApiError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let conversation = store.conversation(ws, desk.conversation_id).await?;
    let session = store.bot_session(ws, desk.conversation_id).await?;
    let customer_name = session
        .as_ref()
        .and_then(|s| s.state.pointer("/identified/customer/name"))
        .and_then(|v| v.as_str())
        .map(|n| n.trim().to_owned());
    let queue = match desk.queue_id {
        Some(q) => store.queue(ws, q).await?.map(|q| q.name),
        None => None,
    };
    let workspace = store.workspace(ws).await?;
    Ok(balcao_desk::Vars {
        nome: customer_name.or_else(|| conversation.and_then(|c| c.contact_name)),
        protocolo: session.map(|s| s.protocol),
        agente: Some(staff.user.name.clone()),
        fila: queue,
        empresa: workspace.map(|w| w.name),
        ..balcao_desk::Vars::default()
    })
}

#[derive(Deserialize, ToSchema)]
pub struct QuickReplyBody {
    /// Typed after `/`; letters, digits, `-` and `_` (normalised: "Segunda Via" → "segunda-via").
    pub shortcut: String,
    /// May use `{{nome}}`, `{{primeiro_nome}}`, `{{protocolo}}`, `{{agente}}`, `{{fila}}`,
    /// `{{empresa}}`.
    pub body: String,
    /// null: every queue.
    pub queue_id: Option<i64>,
    pub attachment_url: Option<String>,
}

pub(crate) fn parse_quick_reply(body: &QuickReplyBody) -> Result<NewQuickReply, ApiError> {
    let shortcut = balcao_desk::quick::normalise_shortcut(&body.shortcut)
        .map_err(|e| unprocessable("invalid_quick_reply", e.to_string()))?;
    let text = body.body.trim();
    if text.is_empty() {
        return Err(unprocessable(
            "invalid_quick_reply",
            "o texto da resposta rápida não pode ficar vazio",
        ));
    }
    let unknown = balcao_desk::messages::unknown_variables(text);
    if !unknown.is_empty() {
        return Err(unprocessable(
            "invalid_quick_reply",
            format!("variável desconhecida: {{{{{}}}}}", unknown.join("}}, {{")),
        ));
    }
    let attachment_url = match body.attachment_url.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Some(url.to_owned())
        }
        Some(_) => {
            return Err(unprocessable(
                "invalid_quick_reply",
                "o anexo deve ser um link http(s)",
            ));
        }
    };
    Ok(NewQuickReply {
        shortcut,
        body: text.to_owned(),
        queue_id: body.queue_id.map(QueueId),
        attachment_url,
    })
}

#[utoipa::path(get, path = "/api/v1/desk/quick-replies", tag = "desk",
    responses((status = 200, body = [QuickReplyDto])))]
async fn list_quick_replies(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Vec<QuickReplyDto>>, ApiError> {
    let all = state
        .app
        .store
        .quick_replies(staff.workspace(), None)
        .await?;
    Ok(Json(all.into_iter().map(quick_dto).collect()))
}

#[utoipa::path(post, path = "/api/v1/desk/quick-replies", tag = "desk", request_body = QuickReplyBody,
    responses((status = 201, body = QuickReplyDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_quick_reply(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<QuickReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_admin()?;
    let new = parse_quick_reply(&body)?;
    let created = state
        .app
        .store
        .create_quick_reply(staff.workspace(), &new)
        .await?;
    Ok((StatusCode::CREATED, Json(quick_dto(created))))
}

#[utoipa::path(put, path = "/api/v1/desk/quick-replies/{id}", tag = "desk", params(("id" = i64, Path)), request_body = QuickReplyBody,
    responses((status = 200, body = QuickReplyDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_quick_reply(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<QuickReplyBody>,
) -> Result<Json<QuickReplyDto>, ApiError> {
    staff.require_admin()?;
    let new = parse_quick_reply(&body)?;
    let updated = state
        .app
        .store
        .update_quick_reply(staff.workspace(), id, &new)
        .await?;
    Ok(Json(quick_dto(updated)))
}

#[utoipa::path(delete, path = "/api/v1/desk/quick-replies/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_quick_reply(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    staff.require_admin()?;
    state
        .app
        .store
        .delete_quick_reply(staff.workspace(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- team chat -----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct TeamMessageDto {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TeamMessageList {
    pub messages: Vec<TeamMessageDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct TeamQuery {
    /// Only messages after this id.
    pub after: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
pub struct TeamMessageBody {
    pub body: String,
}

#[utoipa::path(get, path = "/api/v1/desk/team-messages", tag = "desk", params(TeamQuery),
    responses((status = 200, body = TeamMessageList)))]
async fn list_team_messages(
    State(state): State<DeskState>,
    staff: Staff,
    Query(q): Query<TeamQuery>,
) -> Result<Json<TeamMessageList>, ApiError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let messages = store
        .team_messages(ws, q.after, q.limit.unwrap_or(100).clamp(1, 500))
        .await?;
    let names: std::collections::HashMap<UserId, String> = store
        .users(ws)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    Ok(Json(TeamMessageList {
        messages: messages
            .into_iter()
            .map(|m| TeamMessageDto {
                id: m.id,
                user_id: m.user_id.0,
                user_name: names.get(&m.user_id).cloned().unwrap_or_default(),
                body: m.body,
                created_at: rfc3339(m.created_at),
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/desk/team-messages", tag = "desk", request_body = TeamMessageBody,
    responses((status = 201, body = TeamMessageDto), (status = 422, body = ErrorBody)))]
async fn post_team_message(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<TeamMessageBody>,
) -> Result<impl IntoResponse, ApiError> {
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(unprocessable(
            "invalid_message",
            "a mensagem deve ter de 1 a 2000 caracteres",
        ));
    }
    let m = state.desk_team_message(&staff, text).await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamMessageDto {
            id: m.id,
            user_id: m.user_id.0,
            user_name: staff.user.name.clone(),
            body: m.body,
            created_at: rfc3339(m.created_at),
        }),
    ))
}

// ---- queues --------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct QueueDto {
    pub id: i64,
    /// What the subscriber types in the menu (1–99).
    pub option_number: u32,
    pub name: String,
    /// false: locked, not offered in the menu.
    pub active: bool,
    /// `round_robin` or `pick`.
    pub distribution: String,
    /// Weekly hours `{"mon":[["08:00","12:00"],["13:00","18:00"]],…}`; null: always open.
    #[schema(value_type = Option<Object>)]
    pub hours: Option<Value>,
    /// `wait` or `fallback`.
    pub out_of_hours: String,
    pub fallback_queue_id: Option<i64>,
    /// After this long without an agent (or an accept), the conversation moves to the fallback
    /// queue.
    pub accept_timeout_secs: Option<u32>,
    pub member_ids: Vec<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct QueueBody {
    pub option_number: u32,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// `round_robin` (default) or `pick`.
    pub distribution: Option<String>,
    /// Weekly hours as JSON, or the compact text "seg-sex 08:00-12:00,13:00-18:00; sab 08:00-12:00".
    #[schema(value_type = Option<Object>)]
    pub hours: Option<Value>,
    /// `wait` (default) or `fallback`.
    pub out_of_hours: Option<String>,
    pub fallback_queue_id: Option<i64>,
    pub accept_timeout_secs: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Weekly hours from JSON (`{"mon":[["08:00","12:00"]]}`) or the compact text form; `None` for
/// null or an empty text (always open).
pub(crate) fn parse_hours(value: Option<&Value>) -> Result<Option<Value>, ApiError> {
    let invalid = |e: String| unprocessable("invalid_hours", format!("horário inválido: {e}"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => {
            let weekly =
                balcao_desk::WeeklyHours::parse_text(text).map_err(|e| invalid(e.to_string()))?;
            Ok(Some(serde_json::to_value(weekly).expect("hours serialise")))
        }
        Some(other) => {
            let weekly: balcao_desk::WeeklyHours =
                serde_json::from_value(other.clone()).map_err(|e| invalid(e.to_string()))?;
            Ok(Some(serde_json::to_value(weekly).expect("hours serialise")))
        }
    }
}

pub(crate) fn parse_queue(body: &QueueBody) -> Result<QueueSettings, ApiError> {
    let option_number = OptionNumber::new(body.option_number).ok_or_else(|| {
        unprocessable("invalid_queue", "o número da opção deve estar entre 1 e 99")
    })?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 24 {
        return Err(unprocessable(
            "invalid_queue",
            "o nome da fila deve ter de 1 a 24 caracteres (é o título da opção no WhatsApp)",
        ));
    }
    let distribution = match body.distribution.as_deref() {
        None | Some("") => Distribution::RoundRobin,
        Some(d) => Distribution::parse(d).ok_or_else(|| {
            unprocessable("invalid_queue", "distribution deve ser round_robin ou pick")
        })?,
    };
    let out_of_hours = match body.out_of_hours.as_deref() {
        None | Some("") => OutOfHoursMode::Wait,
        Some(m) => OutOfHoursMode::parse(m).ok_or_else(|| {
            unprocessable("invalid_queue", "out_of_hours deve ser wait ou fallback")
        })?,
    };
    if out_of_hours == OutOfHoursMode::Fallback && body.fallback_queue_id.is_none() {
        return Err(unprocessable(
            "invalid_queue",
            "para encaminhar fora do horário, escolha a fila reserva",
        ));
    }
    if body.accept_timeout_secs == Some(0) {
        return Err(unprocessable(
            "invalid_queue",
            "o tempo para aceitar deve ser maior que zero (ou deixe em branco)",
        ));
    }
    Ok(QueueSettings {
        option_number,
        name: name.to_owned(),
        active: body.active,
        distribution,
        hours: parse_hours(body.hours.as_ref())?,
        out_of_hours,
        fallback_queue_id: body.fallback_queue_id.map(QueueId),
        accept_timeout_secs: body.accept_timeout_secs,
    })
}

async fn queue_dto(state: &DeskState, q: Queue) -> Result<QueueDto, ApiError> {
    let members = state.app.store.queue_members(q.workspace_id, q.id).await?;
    Ok(QueueDto {
        id: q.id.0,
        option_number: q.option_number.get(),
        name: q.name,
        active: q.active,
        distribution: q.distribution.as_str().into(),
        hours: q.hours,
        out_of_hours: q.out_of_hours.as_str().into(),
        fallback_queue_id: q.fallback_queue_id.map(|f| f.0),
        accept_timeout_secs: q.accept_timeout_secs,
        member_ids: members.into_iter().map(|u| u.id.0).collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/desk/queues", tag = "desk", responses((status = 200, body = [QueueDto])))]
async fn list_queues(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Vec<QueueDto>>, ApiError> {
    let mut out = Vec::new();
    for q in state.app.store.queues(staff.workspace()).await? {
        out.push(queue_dto(&state, q).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/desk/queues/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 200, body = QueueDto), (status = 404, body = ErrorBody)))]
async fn get_queue(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<QueueDto>, ApiError> {
    let q = state
        .app
        .store
        .queue(staff.workspace(), QueueId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("fila"))?;
    Ok(Json(queue_dto(&state, q).await?))
}

#[utoipa::path(post, path = "/api/v1/desk/queues", tag = "desk", request_body = QueueBody,
    responses((status = 201, body = QueueDto), (status = 403, body = ErrorBody), (status = 409, description = "option number taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_queue(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<QueueBody>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_admin()?;
    let settings = parse_queue(&body)?;
    let q = state
        .app
        .store
        .create_queue(staff.workspace(), &settings, now(&state))
        .await?;
    Ok((StatusCode::CREATED, Json(queue_dto(&state, q).await?)))
}

#[utoipa::path(put, path = "/api/v1/desk/queues/{id}", tag = "desk", params(("id" = i64, Path)), request_body = QueueBody,
    responses((status = 200, body = QueueDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_queue(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<QueueBody>,
) -> Result<Json<QueueDto>, ApiError> {
    staff.require_admin()?;
    let settings = parse_queue(&body)?;
    let q = state
        .app
        .store
        .update_queue(staff.workspace(), QueueId(id), &settings)
        .await?;
    Ok(Json(queue_dto(&state, q).await?))
}

#[utoipa::path(delete, path = "/api/v1/desk/queues/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, description = "in use: lock it instead", body = ErrorBody)))]
async fn delete_queue(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    staff.require_admin()?;
    state
        .app
        .store
        .delete_queue(staff.workspace(), QueueId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct MembersBody {
    pub user_ids: Vec<i64>,
}

#[utoipa::path(put, path = "/api/v1/desk/queues/{id}/members", tag = "desk", params(("id" = i64, Path)), request_body = MembersBody,
    responses((status = 200, body = QueueDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_members(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<MembersBody>,
) -> Result<Json<QueueDto>, ApiError> {
    staff.require_admin()?;
    let ws = staff.workspace();
    let users: Vec<UserId> = body.user_ids.into_iter().map(UserId).collect();
    state
        .app
        .store
        .set_queue_members(ws, QueueId(id), &users)
        .await?;
    let q = state
        .app
        .store
        .queue(ws, QueueId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("fila"))?;
    Ok(Json(queue_dto(&state, q).await?))
}

// ---- settings and holidays -----------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/desk/settings", tag = "desk",
    description = "The desk settings: automatic messages (`messages`, keyed welcome, choose_queue, invalid_option, transfer, agent_start, thanks, out_of_hours, fallback_moved, csat_request, csat_comment, csat_thanks), `reopen_grace_secs`, `csat_enabled`, `include_optional_holidays`.",
    responses((status = 200, body = Object)))]
async fn get_settings(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    let settings = crate::desk_settings::load(state.app.store.as_ref(), staff.workspace()).await?;
    Ok(Json(crate::desk_settings::to_json(&settings)))
}

#[utoipa::path(put, path = "/api/v1/desk/settings", tag = "desk", request_body = Object,
    description = "Replaces the settings. A required automatic message left empty is refused (422) with every problem listed.",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    staff.require_admin()?;
    let settings = crate::desk_settings::parse(&body)
        .map_err(|problems| unprocessable("invalid_settings", problems.join(" ")))?;
    crate::desk_settings::save(
        state.app.store.as_ref(),
        staff.workspace(),
        &settings,
        now(&state),
    )
    .await?;
    Ok(Json(crate::desk_settings::to_json(&settings)))
}

#[derive(Serialize, ToSchema)]
pub struct HolidayDto {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct NationalHolidayDto {
    pub date: String,
    pub name: String,
    /// false for "pontos facultativos" (Carnaval, Corpus Christi), closed only when the settings
    /// say so.
    pub national: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HolidaysDto {
    /// The provider's own dates.
    pub holidays: Vec<HolidayDto>,
    /// The national calendar of this year and the next (computed).
    pub national: Vec<NationalHolidayDto>,
}

#[derive(Deserialize, ToSchema)]
pub struct HolidaysBody {
    /// Replaces the provider's own dates: `[{"date":"2026-12-08","name":"Aniversário da cidade"}]`.
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<HolidayInput>,
}

#[derive(Deserialize)]
pub struct HolidayInput {
    pub date: String,
    pub name: String,
}

pub(crate) fn parse_holidays(input: &[HolidayInput]) -> Result<Vec<Holiday>, ApiError> {
    let mut out: Vec<Holiday> = Vec::new();
    for h in input {
        let date: jiff::civil::Date = h.date.trim().parse().map_err(|_| {
            unprocessable(
                "invalid_holiday",
                format!("data inválida: {:?} (use AAAA-MM-DD)", h.date),
            )
        })?;
        let name = h.name.trim();
        if name.is_empty() {
            return Err(unprocessable(
                "invalid_holiday",
                format!("dê um nome ao feriado de {date}"),
            ));
        }
        if out.iter().any(|o| o.date == date) {
            return Err(unprocessable(
                "invalid_holiday",
                format!("a data {date} aparece duas vezes"),
            ));
        }
        out.push(Holiday {
            date,
            name: name.to_owned(),
        });
    }
    out.sort_by_key(|h| h.date);
    Ok(out)
}

pub(crate) fn national_calendar(today: jiff::civil::Date) -> Vec<NationalHolidayDto> {
    let mut out = Vec::new();
    for year in [today.year(), today.year() + 1] {
        for h in balcao_domain::br::holidays::national_holidays(year) {
            if h.date >= today {
                out.push(NationalHolidayDto {
                    date: h.date.to_string(),
                    name: h.name.to_owned(),
                    national: h.kind == balcao_domain::br::holidays::HolidayKind::National,
                });
            }
        }
    }
    out
}

pub(crate) fn today(state: &DeskState) -> jiff::civil::Date {
    jiff::Timestamp::from_millisecond(now(state))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(
            jiff::tz::TimeZone::get(balcao_desk::hours::DEFAULT_TIME_ZONE)
                .unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .date()
}

#[utoipa::path(get, path = "/api/v1/desk/holidays", tag = "desk", responses((status = 200, body = HolidaysDto)))]
async fn get_holidays(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<HolidaysDto>, ApiError> {
    let own = state.app.store.holidays(staff.workspace()).await?;
    Ok(Json(HolidaysDto {
        holidays: own
            .into_iter()
            .map(|h| HolidayDto {
                date: h.date.to_string(),
                name: h.name,
            })
            .collect(),
        national: national_calendar(today(&state)),
    }))
}

#[utoipa::path(put, path = "/api/v1/desk/holidays", tag = "desk", request_body = HolidaysBody,
    responses((status = 200, body = HolidaysDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_holidays(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<HolidaysBody>,
) -> Result<Json<HolidaysDto>, ApiError> {
    staff.require_admin()?;
    let holidays = parse_holidays(&body.holidays)?;
    state
        .app
        .store
        .set_holidays(staff.workspace(), &holidays)
        .await?;
    get_holidays(State(state), staff).await
}

// ---- users and tokens ----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/desk/users", tag = "desk", responses((status = 200, body = [UserDto]), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Vec<UserDto>>, ApiError> {
    staff.require_supervisor()?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let now = now(&state);
    let mut out = Vec::new();
    for u in store.users(ws).await? {
        let queues = store.user_queues(ws, u.id).await?;
        out.push(user_dto(&u, queues, now));
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserBody {
    pub email: String,
    pub name: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    /// At least 8 characters.
    pub password: String,
    /// Concurrent chats (default 5).
    pub max_chats: Option<u32>,
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw)
        .ok_or_else(|| unprocessable("invalid_user", "role deve ser admin, supervisor ou agent"))
}

#[utoipa::path(post, path = "/api/v1/desk/users", tag = "desk", request_body = NewUserBody,
    responses((status = 201, body = UserDto), (status = 403, body = ErrorBody), (status = 409, description = "e-mail taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<NewUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_admin()?;
    let user = session::create_staff(
        state.app.store.as_ref(),
        staff.workspace(),
        session::NewStaff {
            email: body.email,
            name: body.name,
            role: parse_role(&body.role)?,
            password: body.password,
            max_chats: body.max_chats,
        },
        now(&state),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(user_dto(&user, Vec::new(), now(&state))),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UserUpdateBody {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub max_chats: Option<u32>,
    /// The user's own weekly hours (JSON or compact text); null or "" follows the queue's.
    #[schema(value_type = Option<Object>)]
    #[serde(default, deserialize_with = "some_value")]
    pub hours: Option<Value>,
}

/// Distinguishes a missing `hours` (leave it) from `"hours": null` (clear it).
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?))
}

pub(crate) fn parse_user_update(body: &UserUpdateBody) -> Result<UserPatch, ApiError> {
    let email = match &body.email {
        Some(e) => Some(
            session::Email::parse(e)
                .map_err(|m| unprocessable("invalid_user", m))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let name = match &body.name {
        Some(n) if n.trim().is_empty() => {
            return Err(unprocessable("invalid_user", "informe o nome"));
        }
        Some(n) => Some(n.trim().to_owned()),
        None => None,
    };
    if body.max_chats == Some(0) {
        return Err(unprocessable(
            "invalid_user",
            "o limite de conversas simultâneas deve ser pelo menos 1",
        ));
    }
    Ok(UserPatch {
        email,
        name,
        role: body.role.as_deref().map(parse_role).transpose()?,
        password_hash: None,
        active: body.active,
        max_chats: body.max_chats,
        hours: match &body.hours {
            None => None,
            Some(v) => Some(parse_hours(Some(v))?),
        },
    })
}

#[utoipa::path(put, path = "/api/v1/desk/users/{id}", tag = "desk", params(("id" = i64, Path)), request_body = UserUpdateBody,
    responses((status = 200, body = UserDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdateBody>,
) -> Result<Json<UserDto>, ApiError> {
    staff.require_admin()?;
    let patch = parse_user_update(&body)?;
    let id = UserId(id);
    if id == staff.user.id
        && (patch.active == Some(false) || patch.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(unprocessable(
            "invalid_user",
            "você não pode desativar nem rebaixar a si mesmo",
        ));
    }
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let user = store.update_user(ws, id, patch).await?;
    if !user.active {
        store.delete_user_sessions(ws, id).await?;
    }
    let queues = store.user_queues(ws, id).await?;
    Ok(Json(user_dto(&user, queues, now(&state))))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// At least 8 characters.
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/desk/users/{id}/password", tag = "desk", params(("id" = i64, Path)), request_body = PasswordBody,
    description = "Sets a new password and ends the user's sessions. Admins reset anyone's; everyone may change their own.",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn user_password(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let id = UserId(id);
    if id != staff.user.id {
        staff.require_admin()?;
    }
    session::reset_password(
        state.app.store.as_ref(),
        staff.workspace(),
        id,
        &body.password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NewTokenBody {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenDto {
    pub id: i64,
    pub name: String,
    /// Shown only now: use it as `Authorization: Bearer <token>`.
    pub token: String,
}

#[utoipa::path(get, path = "/api/v1/desk/tokens", tag = "desk", description = "My API tokens (never the secrets).",
    responses((status = 200, body = [TokenDto])))]
async fn list_tokens(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    let tokens = state
        .app
        .store
        .user_tokens(staff.workspace(), staff.user.id)
        .await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenDto {
                id: t.id,
                name: t.name,
                created_at: rfc3339(t.created_at),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/desk/tokens", tag = "desk", request_body = NewTokenBody,
    responses((status = 201, body = CreatedTokenDto), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(state): State<DeskState>,
    staff: Staff,
    Json(body): Json<NewTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (stored, token) = session::create_api_token(
        state.app.store.as_ref(),
        staff.workspace(),
        staff.user.id,
        &body.name,
        now(&state),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenDto {
            id: stored.id,
            name: stored.name,
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/desk/tokens/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_token(
    State(state): State<DeskState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .store
        .delete_user_token(staff.workspace(), staff.user.id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- board ---------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct BoardAgentDto {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    /// `online`, `away` or `offline`.
    pub presence: String,
    pub open_chats: u32,
    pub max_chats: u32,
    pub last_seen_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardQueueDto {
    pub queue_id: i64,
    pub name: String,
    pub active: bool,
    pub queued: u32,
    pub assigned: u32,
    pub online_members: u32,
    /// Seconds the longest-waiting conversation has waited.
    pub longest_wait_secs: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardDto {
    pub agents: Vec<BoardAgentDto>,
    pub queues: Vec<BoardQueueDto>,
    pub in_menu: u32,
    /// Waiting (queued, or transferred and not accepted), longest wait first.
    pub waiting: Vec<DeskConversationDto>,
}

#[utoipa::path(get, path = "/api/v1/desk/board", tag = "desk",
    responses((status = 200, body = BoardDto), (status = 403, body = ErrorBody)))]
async fn board(State(state): State<DeskState>, staff: Staff) -> Result<Json<BoardDto>, ApiError> {
    staff.require_supervisor()?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let now = now(&state);
    let board = store
        .desk_board(ws, balcao_engine::desk::online_since(now))
        .await?;
    let mut waiting = store
        .desk_inbox(
            ws,
            &InboxFilter {
                state: Some(Phase::Queued),
                limit: 1000,
                ..InboxFilter::default()
            },
        )
        .await?;
    waiting.extend(
        store
            .desk_inbox(
                ws,
                &InboxFilter {
                    state: Some(Phase::Assigned),
                    limit: 1000,
                    ..InboxFilter::default()
                },
            )
            .await?
            .into_iter()
            .filter(|i| !i.desk.accepted),
    );
    Ok(Json(BoardDto {
        agents: board
            .agents
            .iter()
            .filter(|a| a.active)
            .map(|a| BoardAgentDto {
                user_id: a.user_id.0,
                name: a.name.clone(),
                role: a.role.as_str().into(),
                presence: if a.away {
                    "away"
                } else if a.online {
                    "online"
                } else {
                    "offline"
                }
                .into(),
                open_chats: a.open_chats,
                max_chats: a.max_chats,
                last_seen_at: opt_time(a.last_seen_at),
            })
            .collect(),
        queues: board
            .queues
            .iter()
            .map(|q| BoardQueueDto {
                queue_id: q.queue_id.0,
                name: q.name.clone(),
                active: q.active,
                queued: q.queued,
                assigned: q.assigned,
                online_members: q.online_members,
                longest_wait_secs: q.oldest_queued_at.map(|t| (now - t) / 1000),
            })
            .collect(),
        in_menu: board.in_menu,
        waiting: waiting.iter().map(|i| item_dto(i, now)).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queue_body(v: Value) -> QueueBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn queues_are_validated() {
        let ok = parse_queue(&queue_body(
            json!({"option_number": 3, "name": " Financeiro ",
            "hours": "seg-sex 08:00-12:00,13:00-18:00", "accept_timeout_secs": 300}),
        ))
        .unwrap();
        assert_eq!(ok.name, "Financeiro");
        assert_eq!(ok.distribution, Distribution::RoundRobin);
        assert_eq!(
            ok.hours.unwrap()["mon"],
            json!([["08:00", "12:00"], ["13:00", "18:00"]])
        );
        for bad in [
            json!({"option_number": 0, "name": "X"}),
            json!({"option_number": 100, "name": "X"}),
            json!({"option_number": 1, "name": "  "}),
            json!({"option_number": 1, "name": "X", "distribution": "random"}),
            json!({"option_number": 1, "name": "X", "out_of_hours": "fallback"}),
            json!({"option_number": 1, "name": "X", "hours": "seg 12:00-08:00"}),
            json!({"option_number": 1, "name": "X", "accept_timeout_secs": 0}),
        ] {
            assert!(parse_queue(&queue_body(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn quick_replies_are_validated() {
        let body = |shortcut: &str, text: &str, url: Option<&str>| QuickReplyBody {
            shortcut: shortcut.into(),
            body: text.into(),
            queue_id: None,
            attachment_url: url.map(Into::into),
        };
        let ok = parse_quick_reply(&body("/Segunda Via", "Olá {{nome}}", None)).unwrap();
        assert_eq!(ok.shortcut, "segunda-via");
        assert!(parse_quick_reply(&body("x", "  ", None)).is_err());
        assert!(parse_quick_reply(&body("x", "Olá {{nomme}}", None)).is_err());
        assert!(parse_quick_reply(&body("x", "ok", Some("ftp://x"))).is_err());
        assert!(parse_quick_reply(&body("a!", "ok", None)).is_err());
    }

    #[test]
    fn holidays_are_validated() {
        let input = |d: &str, n: &str| HolidayInput {
            date: d.into(),
            name: n.into(),
        };
        let parsed = parse_holidays(&[
            input("2026-12-08", "Padroeira"),
            input("2026-03-19", "São José"),
        ])
        .unwrap();
        assert_eq!(parsed[0].name, "São José");
        assert!(parse_holidays(&[input("08/12/2026", "x")]).is_err());
        assert!(parse_holidays(&[input("2026-12-08", " ")]).is_err());
        assert!(parse_holidays(&[input("2026-12-08", "a"), input("2026-12-08", "b")]).is_err());
    }

    #[test]
    fn national_calendar_starts_today() {
        let cal = national_calendar(jiff::civil::date(2026, 11, 21));
        assert_eq!(cal[0].date, "2026-12-25");
        assert!(cal.iter().any(|h| h.name == "Carnaval" && !h.national));
    }

    #[test]
    fn user_updates_tell_null_hours_from_missing() {
        let missing: UserUpdateBody = serde_json::from_value(json!({"name": "Ana"})).unwrap();
        assert_eq!(parse_user_update(&missing).unwrap().hours, None);
        let cleared: UserUpdateBody = serde_json::from_value(json!({"hours": null})).unwrap();
        assert_eq!(parse_user_update(&cleared).unwrap().hours, Some(None));
        let zero: UserUpdateBody = serde_json::from_value(json!({"max_chats": 0})).unwrap();
        assert!(parse_user_update(&zero).is_err());
    }
}
