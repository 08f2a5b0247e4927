//! The simulator's own JSON API (tests, operators and the phone page) and the phone page itself.

use crate::config::Behaviour;
use crate::sim::{InboundRequest, SimError, Simulator};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

type Sim = State<Arc<Simulator>>;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// The body as JSON, or a 400 answer explaining why not.
fn parse_json(body: &Bytes) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("JSON inválido: {e}"))
}

fn sim_error(failure: SimError) -> Response {
    match failure {
        SimError::BadRequest(message) => error(StatusCode::BAD_REQUEST, message),
        SimError::AppRejected { status, body } => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": format!("o app respondeu HTTP {status}"), "app_status": status, "app_body": body})),
        )
            .into_response(),
        SimError::AppUnreachable(reason) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": format!("o app não pôde ser alcançado: {reason}"), "app_status": null, "app_body": reason})),
        )
            .into_response(),
    }
}

pub(crate) async fn post_message(State(simulator): Sim, body: Bytes) -> Response {
    let request: InboundRequest = match parse_json(&body)
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("Pedido inválido: {e}")))
    {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match simulator.send_inbound(request).await {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({"id": id}))).into_response(),
        Err(failure) => sim_error(failure),
    }
}

pub(crate) async fn list_chats(State(simulator): Sim) -> Response {
    Json(json!({"chats": simulator.chats()})).into_response()
}

pub(crate) async fn get_chat(State(simulator): Sim, Path(wa_id): Path<String>) -> Response {
    match simulator.chat(&wa_id) {
        Some(chat) => Json(chat).into_response(),
        None => error(StatusCode::NOT_FOUND, "Conversa não encontrada"),
    }
}

pub(crate) async fn read_chat(State(simulator): Sim, Path(wa_id): Path<String>) -> Response {
    Json(json!({"marked": simulator.mark_chat_read(&wa_id)})).into_response()
}

pub(crate) async fn add_phone(State(simulator): Sim, body: Bytes) -> Response {
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(wa_id) = value["wa_id"]
        .as_str()
        .filter(|w| crate::phone::is_plausible_number(&crate::phone::digits_only(w)))
    else {
        return error(StatusCode::BAD_REQUEST, "Informe um wa_id válido");
    };
    let name = value["name"].as_str().unwrap_or("");
    let registered = simulator.add_phone(wa_id, name);
    (StatusCode::CREATED, Json(json!({"wa_id": registered}))).into_response()
}

pub(crate) async fn get_stats(State(simulator): Sim) -> Response {
    Json(simulator.stats()).into_response()
}

pub(crate) async fn get_behaviour(State(simulator): Sim) -> Response {
    Json(simulator.behaviour()).into_response()
}

/// Accepts a partial object: only the given fields change.
pub(crate) async fn post_behaviour(State(simulator): Sim, body: Bytes) -> Response {
    let patch = match parse_json(&body) {
        Ok(Value::Object(patch)) => patch,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "Envie um objeto JSON"),
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let mut current = serde_json::to_value(simulator.behaviour()).expect("behaviour serialises");
    for (key, value) in patch {
        if current.get(&key).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("Campo desconhecido: {key}"),
            );
        }
        current[key] = value;
    }
    match serde_json::from_value::<Behaviour>(current) {
        Ok(behaviour) => {
            simulator.set_behaviour(behaviour.clone());
            Json(behaviour).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            format!("Comportamento inválido: {e}"),
        ),
    }
}

/// `{"advance_seconds": n, "frozen": bool}` (both optional).
pub(crate) async fn post_clock(State(simulator): Sim, body: Bytes) -> Response {
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if let Some(frozen) = value.get("frozen") {
        let Some(frozen) = frozen.as_bool() else {
            return error(StatusCode::BAD_REQUEST, "frozen deve ser true ou false");
        };
        simulator.set_clock_frozen(frozen);
    }
    if let Some(seconds) = value.get("advance_seconds") {
        let Some(seconds) = seconds.as_u64() else {
            return error(
                StatusCode::BAD_REQUEST,
                "advance_seconds deve ser um número inteiro positivo",
            );
        };
        simulator.advance_clock(Duration::from_secs(seconds));
    }
    Json(json!({"now": simulator.now_secs(), "frozen": simulator.clock.is_frozen()}))
        .into_response()
}

pub(crate) async fn post_verify(State(simulator): Sim, body: Bytes) -> Response {
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(token) = value["verify_token"].as_str() else {
        return error(StatusCode::BAD_REQUEST, "Informe verify_token");
    };
    match simulator.verify_webhook(token).await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(failure) => sim_error(failure),
    }
}

pub(crate) async fn get_info(State(simulator): Sim) -> Response {
    let templates: Vec<Value> = simulator
        .templates
        .iter()
        .map(|t| json!({"name": t.name, "language": t.language, "category": t.category, "status": t.status}))
        .collect();
    Json(json!({"numbers": simulator.numbers, "people": simulator.people, "templates": templates}))
        .into_response()
}

/// Uploaded media as the phone shows it (no token: the phone already received it).
pub(crate) async fn phone_media(State(simulator): Sim, Path(media_id): Path<String>) -> Response {
    match simulator.media_for_phone(&media_id) {
        Some((mime_type, bytes)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, mime_type)],
            bytes.as_ref().clone(),
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "Mídia não encontrada"),
    }
}

const PAGE_HTML: &str = include_str!("page/phone.html");
const PAGE_CSS: &str = include_str!("page/phone.css");
const PAGE_JS: &str = include_str!("page/phone.js");

pub(crate) async fn page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE_HTML,
    )
        .into_response()
}

pub(crate) async fn page_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PAGE_CSS,
    )
        .into_response()
}

pub(crate) async fn page_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_JS,
    )
        .into_response()
}
