//! REST API under `/api/v1`, authorised by a workspace's bearer token and documented by OpenAPI
//! (`/api/openapi.json`, rendered at `/api/docs`). Every handler takes the workspace from the token,
//! so a token can never reach another workspace's rows.

use crate::AppState;
use crate::auth::ApiAuth;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use balcao_domain::outbound::{OutboundContent, TemplateMessage};
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, MessageId, Millis, NumberId, WaId};
use balcao_engine::outbox::SendRequest;
use balcao_store::{Conversation, ConversationFilter, ConversationStatus, Event, Message};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/numbers", get(list_numbers))
        .route("/api/v1/conversations", get(list_conversations))
        .route("/api/v1/conversations/{id}", get(get_conversation))
        .route(
            "/api/v1/conversations/{id}/messages",
            get(list_messages).post(send_in_conversation),
        )
        .route("/api/v1/conversations/{id}/events", get(list_events))
        .route("/api/v1/messages", post(send_message))
        .route("/api/v1/messages/{id}", get(get_message))
        .route("/api/v1/messages/{id}/read", post(mark_read))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Balcão API", description = "API REST do Balcão: conversas, mensagens e envio pelo WhatsApp. Autenticação: `Authorization: Bearer <token>`."),
    paths(list_numbers, list_conversations, get_conversation, list_messages, send_in_conversation, list_events, send_message, get_message, mark_read,
        crate::erp_api::get_erp, crate::erp_api::put_erp, crate::erp_api::test_erp, crate::erp_api::lookup, crate::erp_api::payments),
    components(schemas(crate::erp_api::ErpSettings, crate::erp_api::ErpSettingsBody, crate::erp_api::ConnectionCheckDto, crate::erp_api::PaymentEventDto, NumberDto, ConversationDto, ConversationList, MessageDto, MessageList, EventDto, EventList, SendBody, SendToBody, ErrorBody, MessageErrorDto, PricingDto)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct NumberDto {
    pub id: i64,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub throughput_mps: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: i64,
    pub number_id: i64,
    pub contact_id: i64,
    pub wa_id: String,
    pub contact_name: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub last_message_at: String,
    pub last_inbound_at: Option<String>,
    /// Free-form messages can be sent only while the 24-hour window is open.
    pub window_open: bool,
    pub window_closes_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub referral: Option<serde_json::Value>,
}

impl ConversationDto {
    fn from(c: Conversation, now: Millis) -> Self {
        let window = Window::at(c.last_inbound_at, now);
        ConversationDto {
            id: c.id.0,
            number_id: c.number_id.0,
            contact_id: c.contact_id.0,
            wa_id: c.wa_id.to_string(),
            contact_name: c.contact_name,
            status: c.status.as_str().into(),
            opened_at: rfc3339(c.opened_at),
            closed_at: c.closed_at.map(rfc3339),
            last_message_at: rfc3339(c.last_message_at),
            last_inbound_at: c.last_inbound_at.map(rfc3339),
            window_open: window.is_open(),
            window_closes_at: match window {
                Window::Open { closes_at } => Some(rfc3339(closes_at)),
                Window::Closed { .. } => None,
            },
            referral: c.referral.and_then(|r| serde_json::to_value(r).ok()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationDto>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageErrorDto {
    pub code: i64,
    pub title: String,
    pub details: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PricingDto {
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub pricing_type: Option<String>,
    pub billable: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub id: i64,
    pub conversation_id: i64,
    /// `in` (from the subscriber) or `out`.
    pub direction: String,
    pub wamid: Option<String>,
    #[serde(rename = "type")]
    pub message_type: String,
    pub text: Option<String>,
    /// Outbound: queued, sending, accepted, sent, delivered, read, failed.
    pub status: Option<String>,
    pub error: Option<MessageErrorDto>,
    pub pricing: Option<PricingDto>,
    pub to_wa_id: Option<String>,
    pub sent_wa_id: Option<String>,
    pub attempts: u32,
    pub created_at: String,
    pub updated_at: String,
    /// Inbound: the message as WhatsApp sent it; outbound: the content queued.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<Message> for MessageDto {
    fn from(m: Message) -> Self {
        let pricing =
            (m.pricing_category.is_some() || m.pricing_type.is_some()).then(|| PricingDto {
                category: m.pricing_category.clone(),
                pricing_type: m.pricing_type.clone(),
                billable: m.billable,
            });
        MessageDto {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            direction: m.direction.as_str().into(),
            wamid: m.wamid,
            message_type: m.message_type,
            text: m.text,
            status: m.status.map(|s| s.as_str().to_string()),
            error: m.error.map(|e| MessageErrorDto {
                code: e.code,
                title: e.title,
                details: e.details,
            }),
            pricing,
            to_wa_id: m.to_wa_id.map(|w| w.to_string()),
            sent_wa_id: m.sent_wa_id.map(|w| w.to_string()),
            attempts: m.attempts,
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
            payload: m.payload,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageDto>,
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub id: i64,
    pub kind: String,
    pub message_id: Option<i64>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventDto>,
}

impl From<Event> for EventDto {
    fn from(e: Event) -> Self {
        EventDto {
            id: e.id.0,
            kind: e.kind,
            message_id: e.message_id.map(|m| m.0),
            data: e.data,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// What to send in an existing conversation.
#[derive(Deserialize, ToSchema)]
pub struct SendBody {
    /// `{"type":"text","body":"…"}`, `{"type":"buttons",…}`, `{"type":"list",…}`,
    /// `{"type":"template","name","language","components"}`, `{"type":"document","link",…}`,
    /// `{"type":"image","link",…}`.
    #[schema(value_type = Object)]
    pub content: OutboundContent,
    /// Sent instead when the 24-hour window is closed.
    #[schema(value_type = Option<Object>)]
    pub fallback_template: Option<TemplateMessage>,
    /// Repeating a request with the same key never sends twice.
    pub idempotency_key: Option<String>,
}

/// What to send to a WhatsApp id (opens a conversation if needed).
#[derive(Deserialize, ToSchema)]
pub struct SendToBody {
    pub to: String,
    /// The workspace's number to send from; its first number when omitted.
    pub number_id: Option<i64>,
    #[schema(value_type = Object)]
    pub content: OutboundContent,
    #[schema(value_type = Option<Object>)]
    pub fallback_template: Option<TemplateMessage>,
    pub idempotency_key: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct ConversationQuery {
    /// Either 9th-digit form of a Brazilian mobile matches.
    pub wa_id: Option<String>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Keyset pagination: the id of the last conversation of the previous page (listing is newest
    /// activity first).
    pub before: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
pub struct MessageQuery {
    /// Only messages after this id.
    pub after: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/numbers", responses((status = 200, body = [NumberDto]), (status = 401, body = ErrorBody)))]
async fn list_numbers(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
) -> Result<Json<Vec<NumberDto>>, ApiError> {
    let numbers = state.store.numbers(ws).await?;
    Ok(Json(
        numbers
            .into_iter()
            .map(|n| NumberDto {
                id: n.id.0,
                phone_number_id: n.phone_number_id,
                display_phone_number: n.display_phone_number,
                throughput_mps: n.throughput_mps,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/conversations", params(ConversationQuery),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Query(q): Query<ConversationQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let wa_id = match q.wa_id.as_deref() {
        Some(raw) => Some(
            WaId::parse(raw).map_err(|e| ApiError::bad_request(format!("wa_id inválido: {e}")))?,
        ),
        None => None,
    };
    let status = match q.status.as_deref() {
        Some(raw) => Some(
            ConversationStatus::parse(raw)
                .ok_or_else(|| ApiError::bad_request("status deve ser \"open\" ou \"closed\""))?,
        ),
        None => None,
    };
    let filter = ConversationFilter {
        wa_id,
        status,
        before: q.before.map(ConversationId),
        limit: q.limit.unwrap_or(50).clamp(1, 200),
    };
    let now = state.clock.now();
    let conversations = state.store.conversations(ws, &filter).await?;
    Ok(Json(ConversationList {
        conversations: conversations
            .into_iter()
            .map(|c| ConversationDto::from(c, now))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationDto), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<ConversationDto>, ApiError> {
    let c = state
        .store
        .conversation(ws, ConversationId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    Ok(Json(ConversationDto::from(c, state.clock.now())))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", params(("id" = i64, Path), MessageQuery),
    responses((status = 200, body = MessageList), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let conversation = ConversationId(id);
    state
        .store
        .conversation(ws, conversation)
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    let messages = state
        .store
        .messages(
            ws,
            conversation,
            q.after.map(MessageId),
            q.limit.unwrap_or(100).clamp(1, 500),
        )
        .await?;
    Ok(Json(MessageList {
        messages: messages.into_iter().map(MessageDto::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/events", params(("id" = i64, Path)),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<EventList>, ApiError> {
    let conversation = ConversationId(id);
    state
        .store
        .conversation(ws, conversation)
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    let events = state.store.events(ws, conversation).await?;
    Ok(Json(EventList {
        events: events.into_iter().map(EventDto::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", params(("id" = i64, Path)), request_body = SendBody,
    responses((status = 202, description = "queued (or already queued with that idempotency key)", body = MessageDto),
              (status = 404, body = ErrorBody), (status = 422, description = "outside the 24-hour window, invalid content, template not approved", body = ErrorBody)))]
async fn send_in_conversation(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
    Json(body): Json<SendBody>,
) -> Result<impl IntoResponse, ApiError> {
    let conversation = state
        .store
        .conversation(ws, ConversationId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("conversa"))?;
    let enqueued = state
        .outbox
        .enqueue(
            ws,
            SendRequest {
                number_id: conversation.number_id,
                to: conversation.wa_id,
                content: body.content,
                fallback_template: body.fallback_template,
                idempotency_key: body.idempotency_key,
                author: "api".into(),
            },
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MessageDto::from(enqueued.message)),
    ))
}

#[utoipa::path(post, path = "/api/v1/messages", request_body = SendToBody,
    responses((status = 202, body = MessageDto), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Json(body): Json<SendToBody>,
) -> Result<impl IntoResponse, ApiError> {
    let to = WaId::parse(&body.to)
        .map_err(|e| ApiError::bad_request(format!("\"to\" inválido: {e}")))?;
    let numbers = state.store.numbers(ws).await?;
    let number = match body.number_id {
        Some(id) => numbers.iter().find(|n| n.id == NumberId(id)),
        None => numbers.first(),
    }
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_number",
            "número de WhatsApp não encontrado neste workspace",
        )
    })?;
    let enqueued = state
        .outbox
        .enqueue(
            ws,
            SendRequest {
                number_id: number.id,
                to,
                content: body.content,
                fallback_template: body.fallback_template,
                idempotency_key: body.idempotency_key,
                author: "api".into(),
            },
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MessageDto::from(enqueued.message)),
    ))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = MessageDto), (status = 404, body = ErrorBody)))]
async fn get_message(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<MessageDto>, ApiError> {
    let m = state
        .store
        .message(ws, MessageId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("mensagem"))?;
    Ok(Json(m.into()))
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/read", params(("id" = i64, Path)),
    responses((status = 204, description = "marked as read on WhatsApp"), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn mark_read(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let m = state
        .store
        .message(ws, MessageId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("mensagem"))?;
    if m.direction != balcao_store::Direction::In {
        return Err(ApiError::bad_request(
            "só mensagens recebidas podem ser marcadas como lidas",
        ));
    }
    let token = state.access_tokens.get(&m.number_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "no_credentials",
            "número sem token de acesso configurado",
        )
    })?;
    balcao_engine::sender::mark_read(state.store.as_ref(), &state.graph, token, ws, m.id)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "whatsapp_error", e))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn openapi_json() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::desk_api::DeskApiDoc::openapi());
    doc.merge(crate::ladder_settings::LadderApiDoc::openapi());
    doc.merge(crate::ladder_report::LadderReportApiDoc::openapi());
    Json(doc)
}

async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
