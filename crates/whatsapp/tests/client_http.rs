//! The Graph client over real HTTP against a tiny local server that answers like the Graph API
//! (and like the things in front of it that do not).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use balcao_domain::WaId;
use balcao_domain::outbound::{ErrorAction, OutboundContent, SendError};
use balcao_whatsapp::client::{Accepted, GraphCallError, GraphClient, MediaInfo};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const TOKEN: &str = "EAAG-token";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<Recorded>>>,
    addr: Arc<Mutex<Option<SocketAddr>>>,
}

impl Seen {
    fn record(&self, path: String, headers: &HeaderMap, body: &[u8]) {
        let h = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        self.requests.lock().unwrap().push(Recorded {
            path,
            authorization: h(header::AUTHORIZATION),
            content_type: h(header::CONTENT_TYPE),
            body: body.to_vec(),
        });
    }

    fn last(&self) -> Recorded {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request reached the server")
    }
}

fn graph_error(status: StatusCode, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"});
    if let Some(d) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": d});
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

async fn messages(
    State(seen): State<Seen>,
    Path(pnid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    seen.record(format!("/{pnid}/messages"), &headers, &body);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: Session has expired",
            None,
        );
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match pnid.as_str() {
        "ok" if request["status"] == "read" => axum::Json(json!({"success": true})).into_response(),
        "ok" => axum::Json(json!({
            "messaging_product": "whatsapp",
            // Brazil's 9th digit: WhatsApp answers with the account's own form.
            "contacts": [{"input": request["to"], "wa_id": "551692318222"}],
            "messages": [{"id": "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjQ2"}],
        }))
        .into_response(),
        "window" => graph_error(
            StatusCode::BAD_REQUEST,
            131047,
            "Re-engagement message",
            Some(
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
        ),
        "throughput" => graph_error(StatusCode::BAD_REQUEST, 130429, "Rate limit hit", None),
        "pair" => graph_error(
            StatusCode::BAD_REQUEST,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            None,
        ),
        "unknown" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"code": 1, "message": "An unknown error occurred"}})),
        )
            .into_response(),
        "bare401" => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
        "html" => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        "garbage" => (StatusCode::OK, "ok!").into_response(),
        "nosuccess" => axum::Json(json!({"success": false})).into_response(),
        _ => (StatusCode::NOT_FOUND, "no route").into_response(),
    }
}

async fn media_upload(
    State(seen): State<Seen>,
    Path(pnid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    seen.record(format!("/{pnid}/media"), &headers, &body);
    axum::Json(json!({"id": "1037543291543636"})).into_response()
}

async fn media_info(
    State(seen): State<Seen>,
    Path(media_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen.record(format!("/{media_id}"), &headers, &[]);
    let addr = seen.addr.lock().unwrap().expect("server address");
    match media_id.as_str() {
        "1037543291543636" => axum::Json(json!({
            "messaging_product": "whatsapp",
            "url": format!("http://{addr}/files/boleto.pdf"),
            "mime_type": "application/pdf",
            "sha256": "a3f5",
            "file_size": "8",
            "id": "1037543291543636",
        }))
        .into_response(),
        _ => graph_error(StatusCode::NOT_FOUND, 100, "Unsupported get request", None),
    }
}

async fn file(headers: HeaderMap) -> Response {
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
    {
        (StatusCode::OK, Bytes::from_static(b"%PDF-1.4")).into_response()
    } else {
        graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token",
            None,
        )
    }
}

async fn start_server() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/graph/v23.0/{pnid}/messages", post(messages))
        .route("/graph/v23.0/{pnid}/media", post(media_upload))
        .route("/graph/v23.0/{media_id}", get(media_info))
        .route("/files/boleto.pdf", get(file))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    *seen.addr.lock().unwrap() = Some(addr);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn client_for(base: String) -> GraphClient {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    GraphClient::new(http, base, "v23.0")
}

fn recipient() -> WaId {
    WaId::parse("5516992318222").unwrap()
}

fn hello() -> OutboundContent {
    OutboundContent::Text {
        body: "Olá, João!".into(),
        preview_url: false,
    }
}

async fn send_via(client: &GraphClient, pnid: &str) -> Result<Accepted, GraphCallError> {
    client
        .send(
            pnid,
            TOKEN,
            &recipient(),
            &hello(),
            Some("outbox-1"),
            Some("wamid.IN"),
        )
        .await
}

#[tokio::test]
async fn send_succeeds_and_returns_the_accounts_wa_id() {
    let (addr, seen) = start_server().await;
    let client = client_for(format!("http://{addr}/graph/"));
    let accepted = send_via(&client, "ok").await.unwrap();
    assert_eq!(
        accepted,
        Accepted {
            wamid: "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjQ2".into(),
            wa_id: Some(WaId::parse("551692318222").unwrap()),
            input: Some("5516992318222".into()),
        }
    );
    let Recorded {
        path,
        authorization: auth,
        content_type,
        body,
    } = seen.last();
    assert_eq!(path, "/ok/messages");
    assert_eq!(auth.as_deref(), Some("Bearer EAAG-token"));
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        sent,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5516992318222",
               "type": "text", "text": {"preview_url": false, "body": "Olá, João!"},
               "context": {"message_id": "wamid.IN"}, "biz_opaque_callback_data": "outbox-1"})
    );
}

#[tokio::test]
async fn graph_error_envelopes_are_classified() {
    let (addr, _) = start_server().await;
    let client = client_for(format!("http://{addr}/graph"));

    let window = send_via(&client, "window").await.unwrap_err();
    assert_eq!(
        window,
        GraphCallError::Api {
            http_status: 400,
            error: SendError {
                code: 131047,
                title: "Re-engagement message".into(),
                details: Some("Message failed to send because more than 24 hours have passed since the customer last replied to this number.".into()),
            },
            fbtrace_id: Some("AbCdEf123".into()),
        }
    );
    assert_eq!(window.action(), ErrorAction::Fail);
    assert!(!window.is_ambiguous());

    let throughput = send_via(&client, "throughput").await.unwrap_err();
    assert_eq!(throughput.code(), Some(130429));
    assert_eq!(throughput.action(), ErrorAction::RetryWithBackoff);

    let pair = send_via(&client, "pair").await.unwrap_err();
    assert_eq!(pair.action(), ErrorAction::RetryRecipientLater);

    let unknown = send_via(&client, "unknown").await.unwrap_err();
    assert!(
        matches!(&unknown, GraphCallError::Api { http_status: 500, error, fbtrace_id: None } if error.code == 1 && error.details.is_none())
    );
    assert_eq!(unknown.action(), ErrorAction::RetryWithBackoff);

    let expired = client
        .send("ok", "wrong-token", &recipient(), &hello(), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&expired, GraphCallError::Api { http_status: 401, error, .. } if error.code == 190)
    );
    assert_eq!(expired.action(), ErrorAction::FailAndAlertOperator);
}

#[tokio::test]
async fn answers_that_are_not_the_graph_api() {
    let (addr, _) = start_server().await;
    let client = client_for(format!("http://{addr}/graph"));

    let html = send_via(&client, "html").await.unwrap_err();
    assert_eq!(
        html,
        GraphCallError::InvalidResponse {
            http_status: 502,
            body_snippet: "<html><body><h1>502 Bad Gateway</h1></body></html>".into()
        }
    );
    assert_eq!(html.action(), ErrorAction::RetryWithBackoff);
    assert!(!html.is_ambiguous());

    let bare401 = send_via(&client, "bare401").await.unwrap_err();
    assert_eq!(
        bare401,
        GraphCallError::InvalidResponse {
            http_status: 401,
            body_snippet: "Unauthorized".into()
        }
    );
    assert_eq!(bare401.action(), ErrorAction::FailAndAlertOperator);

    let not_found = send_via(&client, "nowhere").await.unwrap_err();
    assert!(matches!(
        not_found,
        GraphCallError::InvalidResponse {
            http_status: 404,
            ..
        }
    ));
    assert_eq!(not_found.action(), ErrorAction::Fail);

    // A 2xx nobody can read: WhatsApp may well have sent it.
    let garbage = send_via(&client, "garbage").await.unwrap_err();
    assert_eq!(
        garbage,
        GraphCallError::InvalidResponse {
            http_status: 200,
            body_snippet: "ok!".into()
        }
    );
    assert!(garbage.is_ambiguous());
}

#[tokio::test]
async fn mark_read_with_and_without_typing_indicator() {
    let (addr, seen) = start_server().await;
    let client = client_for(format!("http://{addr}/graph"));
    client
        .mark_read("ok", TOKEN, "wamid.IN", true)
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(&seen.last().body).unwrap();
    assert_eq!(
        sent,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN", "typing_indicator": {"type": "text"}})
    );
    client
        .mark_read("ok", TOKEN, "wamid.IN", false)
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(&seen.last().body).unwrap();
    assert!(sent.get("typing_indicator").is_none());
    let refused = client
        .mark_read("nosuccess", TOKEN, "wamid.IN", false)
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        GraphCallError::InvalidResponse {
            http_status: 200,
            ..
        }
    ));
}

#[tokio::test]
async fn media_upload_lookup_and_download() {
    let (addr, seen) = start_server().await;
    let client = client_for(format!("http://{addr}/graph"));
    let pdf = b"%PDF-1.4\r\n--not-a-boundary\r\n\x00\xff";
    let id = client
        .upload_media(
            "106540352242922",
            TOKEN,
            pdf,
            "application/pdf",
            "boleto.pdf",
        )
        .await
        .unwrap();
    assert_eq!(id, "1037543291543636");

    let Recorded {
        path,
        authorization: auth,
        content_type,
        body,
    } = seen.last();
    assert_eq!(path, "/106540352242922/media");
    assert_eq!(auth.as_deref(), Some("Bearer EAAG-token"));
    let boundary = content_type
        .unwrap()
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap()
        .to_owned();
    // Split the body on the boundary as a server would, and check each part.
    let delimiter = format!("--{boundary}");
    let text = body.iter().map(|&b| b as char).collect::<String>();
    let parts: Vec<&str> = text.split(&delimiter).collect();
    assert_eq!(parts.len(), 5, "{text:?}");
    assert_eq!(parts[0], "");
    assert_eq!(
        parts[1],
        "\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"
    );
    assert_eq!(
        parts[2],
        "\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n"
    );
    let file_part = parts[3].strip_prefix("\r\nContent-Disposition: form-data; name=\"file\"; filename=\"boleto.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").unwrap();
    let file_bytes: Vec<u8> = file_part
        .strip_suffix("\r\n")
        .unwrap()
        .chars()
        .map(|c| c as u8)
        .collect();
    assert_eq!(file_bytes, pdf);
    assert_eq!(parts[4], "--\r\n");

    let info = client.media_info(TOKEN, &id).await.unwrap();
    assert_eq!(
        info,
        MediaInfo {
            id: "1037543291543636".into(),
            url: format!("http://{addr}/files/boleto.pdf"),
            mime_type: Some("application/pdf".into()),
            sha256: Some("a3f5".into()),
            file_size: Some(8),
        }
    );
    assert_eq!(
        client.download_media(TOKEN, &info.url).await.unwrap(),
        b"%PDF-1.4"
    );

    let without_token = client
        .download_media("expired", &info.url)
        .await
        .unwrap_err();
    assert_eq!(without_token.code(), Some(190));
    let missing = client.media_info(TOKEN, "999").await.unwrap_err();
    assert!(matches!(
        missing,
        GraphCallError::Api {
            http_status: 404,
            ..
        }
    ));
}

#[tokio::test]
async fn a_connection_dropped_after_the_request_is_ambiguous() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            // Read the request head, then hang up without answering.
            let mut buf = vec![0u8; 8192];
            let mut read = Vec::new();
            while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read.extend_from_slice(&buf[..n]),
                }
            }
            drop(socket);
        }
    });
    let client = client_for(format!("http://{addr}/graph"));
    let err = send_via(&client, "ok").await.unwrap_err();
    assert!(matches!(err, GraphCallError::Transport(_)), "{err:?}");
    assert!(err.is_ambiguous());
    assert_eq!(err.action(), ErrorAction::RetryWithBackoff);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (hold, held) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        // Accept and keep the connection open, silent, until the test ends.
        let (_socket, _) = listener.accept().await.unwrap();
        let _ = held.await;
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = GraphClient::new(http, format!("http://{addr}/graph"), "v23.0");
    let err = send_via(&client, "ok").await.unwrap_err();
    assert_eq!(err, GraphCallError::Timeout);
    assert!(err.is_ambiguous());
    drop(hold);
}

#[tokio::test]
async fn a_refused_connection_is_not_ambiguous() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client_for(format!("http://{addr}/graph"));
    let err = send_via(&client, "ok").await.unwrap_err();
    assert!(matches!(err, GraphCallError::Connect(_)), "{err:?}");
    assert!(!err.is_ambiguous());
    assert_eq!(err.action(), ErrorAction::RetryWithBackoff);
}
