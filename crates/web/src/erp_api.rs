//! Management-system administration under `/api/v1/erp`: choose the system and its credentials
//! (stored sealed; never returned), test the connection, look a subscriber up, and read the
//! payment events the poller recorded.

use crate::AppState;
use crate::auth::ApiAuth;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use balcao_engine::erp::ErpSetupError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/erp", get(get_erp).put(put_erp))
        .route("/api/v1/erp/test", axum::routing::post(test_erp))
        .route("/api/v1/erp/lookup", get(lookup))
        .route("/api/v1/erp/payments", get(payments))
}

impl From<ErpSetupError> for ApiError {
    fn from(err: ErpSetupError) -> Self {
        let message = err.to_string();
        match err {
            ErpSetupError::NotConfigured => {
                ApiError::new(StatusCode::NOT_FOUND, "erp_not_configured", message)
            }
            ErpSetupError::UnknownSystem(_)
            | ErpSetupError::MissingKey { .. }
            | ErpSetupError::BadUrl(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_erp_settings",
                message,
            ),
            ErpSetupError::Sealed(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "sealed_credentials",
                message,
            ),
            ErpSetupError::Erp(e) => erp_error(e),
            ErpSetupError::Store(e) => e.into(),
        }
    }
}

fn erp_error(e: balcao_erp::ErpError) -> ApiError {
    use balcao_erp::ErpError::*;
    let message = e.to_string();
    match e {
        NotSupported { .. } => {
            ApiError::new(StatusCode::NOT_IMPLEMENTED, "erp_not_supported", message)
        }
        NotFound => ApiError::new(StatusCode::NOT_FOUND, "erp_not_found", message),
        Unauthorized => ApiError::new(StatusCode::BAD_GATEWAY, "erp_unauthorized", message),
        Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "erp_timeout", message),
        Config(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_erp_settings",
            message,
        ),
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "erp_unavailable", message),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErpSettings {
    pub system: String,
    pub base_url: String,
    /// Names of the stored credentials (their values are never returned).
    pub auth_keys: Vec<String>,
    /// Payments up to this moment were turned into events.
    pub payment_cursor: Option<String>,
    pub updated_at: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ErpSettingsBody {
    /// `sgp`, `ixc`, `hubsoft`, `mkauth`, `voalle` or `radiusnet`.
    pub system: String,
    pub base_url: String,
    pub auth: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionCheckDto {
    pub ok: bool,
    pub system: String,
    pub latency_ms: u64,
    pub error: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

async fn settings(
    state: &AppState,
    ws: balcao_domain::WorkspaceId,
) -> Result<ErpSettings, ApiError> {
    let c = state
        .store
        .erp_connection(ws)
        .await?
        .ok_or(ErpSetupError::NotConfigured)?;
    let auth = state.erp.open_auth(&c)?;
    Ok(ErpSettings {
        system: c.system,
        base_url: c.base_url,
        auth_keys: auth.into_keys().collect(),
        payment_cursor: c.payment_cursor.map(rfc3339),
        updated_at: rfc3339(c.updated_at),
    })
}

#[utoipa::path(get, path = "/api/v1/erp", responses((status = 200, body = ErpSettings), (status = 404, body = ErrorBody)))]
pub async fn get_erp(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
) -> Result<Json<ErpSettings>, ApiError> {
    Ok(Json(settings(&state, ws).await?))
}

#[utoipa::path(put, path = "/api/v1/erp", request_body = ErpSettingsBody,
    responses((status = 200, body = ErpSettings), (status = 422, description = "unknown system, bad URL or missing credential", body = ErrorBody)))]
pub async fn put_erp(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Json(body): Json<ErpSettingsBody>,
) -> Result<Json<ErpSettings>, ApiError> {
    state
        .erp
        .configure(ws, &body.system, &body.base_url, &body.auth)
        .await?;
    Ok(Json(settings(&state, ws).await?))
}

#[utoipa::path(post, path = "/api/v1/erp/test",
    responses((status = 200, description = "the check ran; `ok` tells the result", body = ConnectionCheckDto), (status = 404, body = ErrorBody)))]
pub async fn test_erp(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
) -> Result<Json<ConnectionCheckDto>, ApiError> {
    let check = state.erp.test(ws).await?;
    Ok(Json(ConnectionCheckDto {
        ok: check.ok,
        system: check.system,
        latency_ms: check.latency_ms,
        error: check.error,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct LookupQuery {
    /// CPF or CNPJ, with or without mask.
    pub document: Option<String>,
    /// A Brazilian phone number in any usual form.
    pub phone: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/erp/lookup", params(LookupQuery),
    responses((status = 200, description = "customers with contracts and open invoices", body = Object), (status = 400, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Query(q): Query<LookupQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = match (q.document.as_deref(), q.phone.as_deref()) {
        (Some(d), _) => balcao_erp::LookupKey::Document(
            balcao_domain::br::document::Document::parse(d)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        (None, Some(p)) => balcao_erp::LookupKey::Phone(
            balcao_domain::br::phone::BrPhone::parse(p)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        (None, None) => return Err(ApiError::bad_request("informe document ou phone")),
    };
    let adapter = state.erp.adapter(ws).await?;
    let json = balcao_erp::lookup_json(adapter.as_ref(), &key)
        .await
        .map_err(erp_error)?;
    Ok(Json(json))
}

#[derive(Deserialize, IntoParams)]
pub struct PaymentsQuery {
    /// Only events after this id.
    pub after: Option<i64>,
    /// 1–1000, default 100.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentEventDto {
    pub id: i64,
    pub invoice_erp_id: String,
    pub contract_erp_id: Option<String>,
    pub paid_at: String,
    pub amount_cents: i64,
    pub detected_by: String,
    pub recorded_at: String,
}

#[utoipa::path(get, path = "/api/v1/erp/payments", params(PaymentsQuery), responses((status = 200, body = [PaymentEventDto])))]
pub async fn payments(
    State(state): State<AppState>,
    ApiAuth(ws): ApiAuth,
    Query(q): Query<PaymentsQuery>,
) -> Result<Json<Vec<PaymentEventDto>>, ApiError> {
    let events = state
        .store
        .payment_events(ws, q.after, q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| PaymentEventDto {
                id: e.id,
                invoice_erp_id: e.invoice_erp_id,
                contract_erp_id: e.contract_erp_id,
                paid_at: rfc3339(e.paid_at),
                amount_cents: e.amount_cents,
                detected_by: e.detected_by,
                recorded_at: rfc3339(e.recorded_at),
            })
            .collect(),
    ))
}
