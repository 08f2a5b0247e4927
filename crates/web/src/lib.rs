//! The HTTP edge of Balcão (axum): WhatsApp webhooks, the REST API under `/api/v1` with its OpenAPI
//! document, `/healthz` and `/metrics`. Handlers parse and authorise, then call the engine; they
//! hold no business rules.

pub mod api;
pub mod auth;
pub mod desk_actions;
pub mod desk_api;
pub mod desk_settings;
pub mod erp_api;
pub mod error;
pub mod ladder_report;
pub mod ladder_settings;
pub mod session;
pub mod ui;
pub mod webhook;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::IntoResponse;
use axum::routing::get;
use balcao_engine::SharedClock;
use balcao_engine::bus::EventBus;
use balcao_engine::ingest::Ingestor;
use balcao_engine::outbox::Outbox;
use balcao_store::Store;
use balcao_whatsapp::client::GraphClient;
use std::collections::HashMap;
use std::sync::Arc;

/// WhatsApp payloads can be up to 3 MB; leave headroom.
pub const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub bus: EventBus,
    pub ingestor: Ingestor,
    pub outbox: Outbox,
    pub graph: GraphClient,
    /// Access token per number id, for calls the API makes directly (mark as read).
    pub access_tokens: Arc<HashMap<balcao_domain::NumberId, String>>,
    pub app_secret: Arc<Vec<u8>>,
    pub verify_token: Arc<String>,
    pub metrics: Option<MetricsRenderer>,
    pub auth_cache: auth::TokenCache,
    pub erp: balcao_engine::erp::ErpDirectory,
}

/// What the desk's screens, API and live stream need besides [`AppState`].
#[derive(Clone)]
pub struct DeskState {
    pub app: AppState,
    /// The engine's agent actions (take it from `DeskRunner::desk()` so actions wake the
    /// runner).
    pub desk: balcao_engine::desk::Desk,
    pub config: DeskWebConfig,
}

#[derive(Clone, Debug, Default)]
pub struct DeskWebConfig {
    /// Mark cookies `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address for the login throttle from `X-Forwarded-For` (behind a
    /// trusted reverse proxy only).
    pub trust_proxy: bool,
}

/// The desk: the web inbox, board and admin screens under `/app`, their live stream
/// (`/app/events`) and the REST API under `/api/v1/desk`. Merge it with [`router`]; serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the login throttle sees addresses.
pub fn desk_router(state: DeskState) -> Router {
    ui::router(state.clone())
        .merge(desk_api::router())
        .merge(ladder_report::router())
        .merge(ladder_settings::router())
        .with_state(state)
}

/// RFC 3339 in UTC, as every API timestamp.
pub(crate) fn api_time(ms: balcao_domain::Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/webhooks/whatsapp",
            get(webhook::verify).post(webhook::receive),
        )
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .merge(api::router())
        .merge(erp_api::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.workspace(balcao_domain::WorkspaceId(0)).await {
        Ok(_) => (
            axum::http::StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok", "database": state.store.backend()})),
        ),
        Err(err) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                serde_json::json!({"status": "error", "database": state.store.backend(), "error": err.to_string()}),
            ),
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state
        .metrics
        .as_ref()
        .map(|render| render())
        .unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
}
