//! `GET/POST /webhooks/whatsapp`. The POST path, in order: verify the signature over the raw
//! bytes (401 and nothing stored when it fails), parse (a malformed body with a valid signature is
//! kept as a dead letter and answered 200 so Meta stops retrying it), store durably through the
//! ingestor, and only then answer 200. A store failure answers 500 so Meta retries later.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use balcao_store::NewDeadLetter;
use balcao_whatsapp::signature;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

pub async fn verify(State(state): State<AppState>, Query(q): Query<Handshake>) -> Response {
    match signature::verify_handshake(
        q.mode.as_deref().unwrap_or_default(),
        q.verify_token.as_deref().unwrap_or_default(),
        q.challenge.as_deref().unwrap_or_default(),
        &state.verify_token,
    ) {
        Some(challenge) => (StatusCode::OK, challenge).into_response(),
        None => {
            tracing::warn!("webhook verification refused: wrong mode or verify token");
            (StatusCode::FORBIDDEN, "verificação recusada").into_response()
        }
    }
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(err) = signature::verify(&state.app_secret, &body, header) {
        metrics::counter!("balcao_webhook_rejected_total", "reason" => "signature").increment(1);
        tracing::warn!(error = %err, bytes = body.len(), "webhook refused: bad signature");
        return (StatusCode::UNAUTHORIZED, "assinatura inválida").into_response();
    }
    let batch = match balcao_whatsapp::webhook::parse(&body) {
        Ok(batch) => batch,
        Err(err) => return dead_letter(&state, &body, err.to_string()).await,
    };
    match state.ingestor.ingest(batch).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => {
            metrics::counter!("balcao_webhook_rejected_total", "reason" => "store").increment(1);
            tracing::error!(error = %err, "webhook not stored; WhatsApp will retry");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "falha ao gravar; tente novamente",
            )
                .into_response()
        }
    }
}

async fn dead_letter(state: &AppState, body: &[u8], reason: String) -> Response {
    metrics::counter!("balcao_webhook_dead_letters_total").increment(1);
    tracing::warn!(reason = %reason, bytes = body.len(), "malformed webhook kept as a dead letter");
    let letter = NewDeadLetter {
        source: "whatsapp_webhook".into(),
        reason,
        body: String::from_utf8_lossy(body).into_owned(),
        received_at: state.clock.now(),
    };
    match state.store.record_dead_letter(letter).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => {
            // Not kept: let Meta retry rather than lose it.
            tracing::error!(error = %err, "dead letter not stored");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
