//! API errors: a stable machine code and a pt-BR message, as JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use balcao_engine::outbox::OutboxError;
use balcao_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `outside_window`.
    pub code: String,
    /// Human explanation in pt-BR.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} não encontrado(a)"),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "token de API ausente ou inválido (use Authorization: Bearer <token>)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("registro"),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => {
                tracing::error!(error = %other, "store error in API");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "erro interno ao acessar o banco de dados",
                )
            }
        }
    }
}

impl From<OutboxError> for ApiError {
    fn from(err: OutboxError) -> Self {
        let message = err.to_string();
        match err {
            OutboxError::UnknownNumber(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_number", message)
            }
            OutboxError::InvalidContent(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_content", message)
            }
            OutboxError::OutsideWindow { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "outside_window", message)
            }
            OutboxError::TemplateNotApproved { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "template_not_approved",
                message,
            ),
            OutboxError::Store(e) => e.into(),
        }
    }
}
