//! The fake Graph API routes: send, mark read, media upload, media info, media download.

use crate::error::GraphError;
use crate::multipart;
use crate::sim::Simulator;
use crate::wire::new_token;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type Sim = State<Arc<Simulator>>;

fn graph_json(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        value.to_string(),
    )
        .into_response()
}

fn graph_error(simulator: &Simulator, error: GraphError) -> Response {
    simulator.record_rejection(error.code);
    let status = StatusCode::from_u16(error.http_status).unwrap_or(StatusCode::BAD_REQUEST);
    graph_json(status, error.to_json(&new_token(27)))
}

fn valid_version(version: &str) -> bool {
    let Some(number) = version.strip_prefix('v') else {
        return false;
    };
    let mut parts = number.split('.');
    let major_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let minor_ok = parts
        .next()
        .is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    major_ok && minor_ok && parts.next().is_none()
}

fn bearer_ok(simulator: &Simulator, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && token.trim().as_bytes() == simulator.access_token.as_bytes()
}

/// Version, then token, then the object id — the order in which Graph reports problems.
fn check_request(
    simulator: &Simulator,
    version: &str,
    headers: &HeaderMap,
) -> Result<(), GraphError> {
    if !valid_version(version) {
        return Err(GraphError {
            details: None,
            ..GraphError::param(format!("Unknown path components: /{version}"))
        });
    }
    if !bearer_ok(simulator, headers) {
        return Err(GraphError::auth());
    }
    Ok(())
}

pub(crate) async fn send_message(
    State(simulator): Sim,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(error) = check_request(&simulator, &version, &headers) {
        return graph_error(&simulator, error);
    }
    if simulator.number(&phone_number_id).is_none() {
        return graph_error(
            &simulator,
            GraphError::unknown_object(&phone_number_id, "post"),
        );
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return graph_error(
            &simulator,
            GraphError::param("The parameter messaging_product is required."),
        );
    };
    match simulator.handle_send(&phone_number_id, &value).await {
        Ok(response) => {
            let latency = simulator.behaviour().send_latency_ms;
            if latency > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
            }
            graph_json(StatusCode::OK, response)
        }
        Err(error) => graph_error(&simulator, error),
    }
}

/// Size limits per media family (bytes), as Meta documents them.
fn media_limit(mime_type: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    match mime_type {
        "image/jpeg" | "image/png" => Some(5 * MB),
        "image/webp" => Some(500 * 1024),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" | "video/mp4"
        | "video/3gpp" => Some(16 * MB),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            Some(100 * MB)
        }
        _ => None,
    }
}

pub(crate) async fn upload_media(
    State(simulator): Sim,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(error) = check_request(&simulator, &version, &headers) {
        return graph_error(&simulator, error);
    }
    if simulator.number(&phone_number_id).is_none() {
        return graph_error(
            &simulator,
            GraphError::unknown_object(&phone_number_id, "post"),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(parts) = multipart::boundary(content_type).and_then(|b| multipart::parse(&body, &b))
    else {
        return graph_error(
            &simulator,
            GraphError::param("The parameter file is required."),
        );
    };
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
    };
    let product =
        field("messaging_product").map(|p| String::from_utf8_lossy(&p.data).trim().to_string());
    match product.as_deref() {
        None => {
            return graph_error(
                &simulator,
                GraphError::param("The parameter messaging_product is required."),
            );
        }
        Some(p) if !p.eq_ignore_ascii_case("whatsapp") => {
            return graph_error(
                &simulator,
                GraphError::param(format!(
                    "Param messaging_product must be one of {{WHATSAPP}} - got \"{p}\"."
                )),
            );
        }
        Some(_) => {}
    }
    let Some(file) = parts.iter().find(|p| p.name == "file") else {
        return graph_error(
            &simulator,
            GraphError::param("The parameter file is required."),
        );
    };
    // `type` is documented as required; the file part's own content type is accepted instead.
    let mime_type = field("type")
        .map(|p| String::from_utf8_lossy(&p.data).trim().to_string())
        .or_else(|| file.content_type.clone())
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let Some(mime_type) = mime_type.filter(|m| !m.is_empty()) else {
        return graph_error(
            &simulator,
            GraphError::param("The parameter type is required."),
        );
    };
    let Some(limit) = media_limit(&mime_type) else {
        return graph_error(
            &simulator,
            GraphError::param(format!(
                "Param file must be a file with one of the supported types - got \"{mime_type}\"."
            )),
        );
    };
    if file.data.is_empty() || file.data.len() > limit {
        let error = GraphError {
            code: 131053,
            message: "(#131053) Media upload error".into(),
            details: Some(format!(
                "File size {} is outside the allowed range 1..{limit} for {mime_type}",
                file.data.len()
            )),
            ..GraphError::not_valid("")
        };
        return graph_error(&simulator, error);
    }
    let id = simulator.store_media(file.data.clone(), mime_type);
    graph_json(StatusCode::OK, json!({"id": id}))
}

/// `GET /{id}`: media info for a media id, or basic data for a business number id.
pub(crate) async fn get_object(
    State(simulator): Sim,
    Path((version, object_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = check_request(&simulator, &version, &headers) {
        return graph_error(&simulator, error);
    }
    if let Some(number) = simulator.number(&object_id) {
        return graph_json(
            StatusCode::OK,
            json!({
                "verified_name": "Balcão Simulador",
                "display_phone_number": number.display_phone_number,
                "id": number.phone_number_id,
                "quality_rating": "GREEN",
                "throughput": {"level": if number.throughput_mps > 80 { "HIGH" } else { "STANDARD" }},
            }),
        );
    }
    let Some((info, hash, expires_secs)) = simulator.media_info(&object_id) else {
        return graph_error(&simulator, GraphError::unknown_object(&object_id, "get"));
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let url = format!(
        "http://{host}/lookaside/whatsapp_business/attachments/?mid={}&ext={expires_secs}&hash={hash}",
        info.id
    );
    graph_json(
        StatusCode::OK,
        json!({
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": info.mime_type,
            "sha256": info.sha256,
            "file_size": info.file_size,
            "id": info.id,
        }),
    )
}

pub(crate) async fn delete_object(
    State(simulator): Sim,
    Path((version, object_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = check_request(&simulator, &version, &headers) {
        return graph_error(&simulator, error);
    }
    if simulator.delete_media(&object_id) {
        graph_json(StatusCode::OK, json!({"success": true}))
    } else {
        graph_error(&simulator, GraphError::unknown_object(&object_id, "delete"))
    }
}

/// The media URL handed out by `GET /{media-id}`: needs the bearer token, valid 5 minutes.
pub(crate) async fn download_media(
    State(simulator): Sim,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&simulator, &headers) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let (Some(media_id), Some(hash)) = (query.get("mid"), query.get("hash")) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    match simulator.download(media_id, hash) {
        Some((mime_type, bytes)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, mime_type)],
            bytes.as_ref().clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "URL signature expired").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(valid_version("v23.0"));
        assert!(valid_version("v24"));
        assert!(!valid_version("23.0"));
        assert!(!valid_version("v23."));
        assert!(!valid_version("v23.0.1"));
        assert!(!valid_version("vx"));
    }

    #[test]
    fn media_limits() {
        assert_eq!(media_limit("application/pdf"), Some(100 * 1024 * 1024));
        assert_eq!(media_limit("image/gif"), None);
    }
}
