//! Typed client of the Graph API endpoints Balcão uses: send, mark as read, media upload, look-up
//! and download. The base URL and API version are injected, so the same code talks to
//! `https://graph.facebook.com` in production and to the project's simulator in tests and demos.
//!
//! Failures keep what the caller needs to decide: the Graph error (classified by
//! [`balcao_domain::outbound::classify_error`]), and whether WhatsApp may have accepted a send
//! although no answer came back ([`GraphCallError::is_ambiguous`]).

use crate::payload::{build_send_body, mark_read_body};
use balcao_domain::WaId;
use balcao_domain::outbound::{ErrorAction, OutboundContent, SendError, classify_error};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How many characters of an unexpected response body an error keeps.
const SNIPPET_CHARS: usize = 300;

/// [`SendError::code`] of [`GraphCallError::Connect`] (local codes are negative: never Graph's).
pub const LOCAL_CONNECT: i64 = -1;
/// [`SendError::code`] of [`GraphCallError::Transport`].
pub const LOCAL_TRANSPORT: i64 = -2;
/// [`SendError::code`] of [`GraphCallError::Timeout`].
pub const LOCAL_TIMEOUT: i64 = -3;
/// [`SendError::code`] of [`GraphCallError::InvalidResponse`].
pub const LOCAL_INVALID_RESPONSE: i64 = -4;

/// A Graph API client for one base URL and API version. Cheap to clone. Build the
/// `reqwest::Client` with a timeout: without one a silent server blocks a sender forever.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: String,
    api_version: String,
}

/// WhatsApp took the message. Store `wa_id`: it can differ from what was sent (Brazil's 9th digit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub wamid: String,
    pub wa_id: Option<WaId>,
    /// The recipient as we wrote it, echoed back.
    pub input: Option<String>,
}

/// `GET /{media-id}`: where to download a media and what it is. The URL expires after minutes and
/// must be fetched with the access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaInfo {
    pub id: String,
    pub url: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
}

/// Why a Graph API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphCallError {
    /// The Graph API answered with its error envelope.
    #[error("a API do WhatsApp recusou a chamada (HTTP {http_status}, código {}): {}", .error.code, .error.title)]
    Api {
        http_status: u16,
        error: SendError,
        fbtrace_id: Option<String>,
    },
    /// The request never reached the server (connection refused, DNS or TLS failure, invalid
    /// URL): WhatsApp certainly did not act on it.
    #[error("não foi possível conectar à API do WhatsApp: {0}")]
    Connect(String),
    /// The connection failed after it was established (reset, closed mid-answer): the request may
    /// have been received and acted upon.
    #[error("a conexão com a API do WhatsApp caiu antes da resposta: {0}")]
    Transport(String),
    /// No answer in time: the request may have been received and acted upon.
    #[error("a API do WhatsApp não respondeu a tempo")]
    Timeout,
    /// An answer that is not the Graph API's JSON (an HTML error page, a proxy's answer, garbage).
    #[error("resposta inesperada da API do WhatsApp (HTTP {http_status}): {body_snippet}")]
    InvalidResponse {
        http_status: u16,
        body_snippet: String,
    },
}

impl GraphCallError {
    /// What the sender should do. Graph errors follow the table of spec §4. Without an envelope:
    /// network trouble, timeouts, 5xx and 429 are transient; 401/403 mean the credentials are
    /// wrong; other answers will not get better by retrying. A 2xx without a readable body is
    /// retried like other ambiguous failures: check [`Self::is_ambiguous`] before resending.
    pub fn action(&self) -> ErrorAction {
        match self {
            Self::Api { error, .. } => classify_error(error.code),
            Self::Connect(_) | Self::Transport(_) | Self::Timeout => ErrorAction::RetryWithBackoff,
            Self::InvalidResponse { http_status, .. } => match *http_status {
                401 | 403 => ErrorAction::FailAndAlertOperator,
                429 => ErrorAction::RetryWithBackoff,
                200..=299 | 500..=599 => ErrorAction::RetryWithBackoff,
                _ => ErrorAction::Fail,
            },
        }
    }

    /// Whether WhatsApp may have accepted the request although no usable answer came back: a
    /// retry of a send could then deliver the message twice.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Timeout => true,
            Self::InvalidResponse { http_status, .. } => (200..300).contains(http_status),
            Self::Api { .. } | Self::Connect(_) => false,
        }
    }

    /// The failure as a [`SendError`] to record on the message: the Graph error itself, or one of
    /// the local codes (negative, so they never collide with Graph codes) with a pt-BR title.
    pub fn to_send_error(&self) -> SendError {
        let local = |code: i64, title: String, details: Option<String>| SendError {
            code,
            title,
            details,
        };
        match self {
            Self::Api { error, .. } => error.clone(),
            Self::Connect(reason) => local(
                LOCAL_CONNECT,
                "não foi possível conectar à API do WhatsApp".into(),
                Some(reason.clone()),
            ),
            Self::Transport(reason) => local(
                LOCAL_TRANSPORT,
                "a conexão com a API do WhatsApp caiu antes da resposta".into(),
                Some(reason.clone()),
            ),
            Self::Timeout => local(
                LOCAL_TIMEOUT,
                "a API do WhatsApp não respondeu a tempo".into(),
                None,
            ),
            Self::InvalidResponse {
                http_status,
                body_snippet,
            } => local(
                LOCAL_INVALID_RESPONSE,
                format!("resposta inesperada da API do WhatsApp (HTTP {http_status})"),
                Some(body_snippet.clone()).filter(|s| !s.is_empty()),
            ),
        }
    }

    /// The Graph error code, when the API gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }
}

impl GraphClient {
    /// `base_url` like `https://graph.facebook.com` or a simulator's `http://127.0.0.1:8080/graph`;
    /// `api_version` like `v23.0`. Slashes around either are ignored.
    pub fn new(
        http: reqwest::Client,
        base_url: impl Into<String>,
        api_version: impl Into<String>,
    ) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let api_version = api_version.into().trim_matches('/').to_owned();
        Self {
            http,
            base_url,
            api_version,
        }
    }

    fn url(&self, segments: &[&str]) -> String {
        let mut url = format!("{}/{}", self.base_url, self.api_version);
        for segment in segments {
            url.push('/');
            url.push_str(&encode_path_segment(segment));
        }
        url
    }

    /// Sends `content` to `to` from the business number `phone_number_id`. Does not validate the
    /// content: do that with [`crate::payload::validate`] before queueing.
    pub async fn send(
        &self,
        phone_number_id: &str,
        access_token: &str,
        to: &WaId,
        content: &OutboundContent,
        biz_opaque_callback_data: Option<&str>,
        reply_to: Option<&str>,
    ) -> Result<Accepted, GraphCallError> {
        let body = build_send_body(to.as_str(), content, biz_opaque_callback_data, reply_to);
        let request = self
            .http
            .post(self.url(&[phone_number_id, "messages"]))
            .bearer_auth(access_token)
            .json(&body);
        let (status, bytes) = self.call(request).await?;
        interpret(status, &bytes, |json| {
            let wamid = json.get("messages")?.get(0)?.get("id")?.as_str()?;
            if wamid.is_empty() {
                return None;
            }
            let contact = json.get("contacts").and_then(|c| c.get(0));
            let field = |name: &str| contact.and_then(|c| c.get(name)).and_then(Value::as_str);
            Some(Accepted {
                wamid: wamid.to_owned(),
                wa_id: field("wa_id").and_then(|w| WaId::parse(w).ok()),
                input: field("input").map(str::to_owned),
            })
        })
    }

    /// Marks the inbound message `wamid` as read, optionally showing "typing…" to the user.
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        access_token: &str,
        wamid: &str,
        typing_indicator: bool,
    ) -> Result<(), GraphCallError> {
        let request = self
            .http
            .post(self.url(&[phone_number_id, "messages"]))
            .bearer_auth(access_token)
            .json(&mark_read_body(wamid, typing_indicator));
        let (status, bytes) = self.call(request).await?;
        interpret(status, &bytes, |json| {
            (json.get("success").and_then(Value::as_bool) == Some(true)).then_some(())
        })
    }

    /// Uploads a file for later sends; returns the media id (valid 30 days).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        access_token: &str,
        bytes: &[u8],
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GraphCallError> {
        let (content_type, body) = multipart_body(bytes, mime_type, filename);
        let request = self
            .http
            .post(self.url(&[phone_number_id, "media"]))
            .bearer_auth(access_token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        let (status, bytes) = self.call(request).await?;
        interpret(status, &bytes, |json| json_id(json.get("id")?))
    }

    /// Looks up a media id (from a webhook or an upload).
    pub async fn media_info(
        &self,
        access_token: &str,
        media_id: &str,
    ) -> Result<MediaInfo, GraphCallError> {
        let request = self
            .http
            .get(self.url(&[media_id]))
            .bearer_auth(access_token);
        let (status, bytes) = self.call(request).await?;
        interpret(status, &bytes, |json| {
            let text = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
            Some(MediaInfo {
                id: json
                    .get("id")
                    .and_then(json_id)
                    .unwrap_or_else(|| media_id.to_owned()),
                url: text("url").filter(|u| !u.is_empty())?,
                mime_type: text("mime_type"),
                sha256: text("sha256"),
                file_size: json.get("file_size").and_then(|s| match s {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }),
            })
        })
    }

    /// Downloads the bytes behind a [`MediaInfo::url`] (with the access token, as WhatsApp requires).
    pub async fn download_media(
        &self,
        access_token: &str,
        url: &str,
    ) -> Result<Vec<u8>, GraphCallError> {
        let request = self.http.get(url).bearer_auth(access_token);
        let (status, bytes) = self.call(request).await?;
        if status.is_success() {
            Ok(bytes)
        } else {
            interpret(status, &bytes, |_| None::<Vec<u8>>)
        }
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), GraphCallError> {
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            tracing::debug!(%status, "graph api call failed");
        }
        Ok((status, bytes.to_vec()))
    }
}

fn json_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn transport_error(error: reqwest::Error) -> GraphCallError {
    // Connect first: a connect timeout is also a timeout, but nothing was sent.
    if error.is_connect() || error.is_builder() {
        GraphCallError::Connect(error_chain(&error))
    } else if error.is_timeout() {
        GraphCallError::Timeout
    } else {
        GraphCallError::Transport(error_chain(&error))
    }
}

/// The error with its causes: reqwest's own message alone ("error sending request") hides why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads a Graph answer: the error envelope at any status, `success` on a 2xx, anything else
/// as an invalid response.
fn interpret<T>(
    status: StatusCode,
    body: &[u8],
    success: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, GraphCallError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(api) = json.as_ref().and_then(|j| api_error(status, j)) {
        return Err(api);
    }
    if status.is_success()
        && let Some(value) = json.as_ref().and_then(success)
    {
        return Ok(value);
    }
    Err(GraphCallError::InvalidResponse {
        http_status: status.as_u16(),
        body_snippet: snippet(body),
    })
}

fn api_error(status: StatusCode, json: &Value) -> Option<GraphCallError> {
    let error = json.get("error")?.as_object()?;
    let code = match error.get("code")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let title = text(error.get("message"))
        .or_else(|| text(error.get("type")))
        .unwrap_or_default();
    let details = text(error.get("error_data").and_then(|d| d.get("details")));
    Some(GraphCallError::Api {
        http_status: status.as_u16(),
        error: SendError {
            code,
            title,
            details,
        },
        fbtrace_id: text(error.get("fbtrace_id")),
    })
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id can never change the
/// path it is put in.
fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `multipart/form-data` body of a media upload, built by hand to keep reqwest's multipart feature
/// (and its dependencies) out. Returns the Content-Type header value and the body.
pub(crate) fn multipart_body(bytes: &[u8], mime_type: &str, filename: &str) -> (String, Vec<u8>) {
    let boundary = boundary_for(bytes);
    // Header values cannot carry line breaks; quotes would end the quoted filename early.
    let mime_type: String = mime_type.chars().filter(|c| !c.is_control()).collect();
    let filename = filename
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    let mut body = Vec::with_capacity(bytes.len() + 512);
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    field("messaging_product", "whatsapp");
    field("type", &mime_type);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A boundary that does not occur in the file: the first of a fixed sequence of candidates that
/// the bytes do not contain.
fn boundary_for(bytes: &[u8]) -> String {
    (0u32..)
        .map(boundary_candidate)
        .find(|b| !bytes.windows(b.len()).any(|w| w == b.as_bytes()))
        .expect("a file cannot contain every candidate")
}

fn boundary_candidate(attempt: u32) -> String {
    format!(
        "balcao-{}",
        hex::encode(&Sha256::digest(attempt.to_be_bytes())[..12])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn graph_error_envelope_is_read_at_any_status() {
        let body = json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"messaging_product": "whatsapp", "details": "24h passed"},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}});
        let err = interpret(status(400), body.to_string().as_bytes(), |_| Some(())).unwrap_err();
        assert_eq!(
            err,
            GraphCallError::Api {
                http_status: 400,
                error: SendError {
                    code: 131047,
                    title: "(#131047) Re-engagement message".into(),
                    details: Some("24h passed".into())
                },
                fbtrace_id: Some("Az8or2yhqkZfEZ-_4Qn_Bam".into()),
            }
        );
        assert_eq!(err.action(), ErrorAction::Fail);
        assert!(!err.is_ambiguous());
        assert_eq!(err.code(), Some(131047));
        let minimal =
            interpret(status(500), br#"{"error":{"code":"131000"}}"#, |_| Some(())).unwrap_err();
        assert_eq!(minimal.code(), Some(131000));
        assert_eq!(minimal.action(), ErrorAction::RetryWithBackoff);
        let no_code =
            interpret(status(400), br#"{"error":{"message":"x"}}"#, |_| Some(())).unwrap_err();
        assert!(matches!(
            no_code,
            GraphCallError::InvalidResponse {
                http_status: 400,
                ..
            }
        ));
    }

    #[test]
    fn invalid_responses_and_their_actions() {
        let html = interpret(status(502), b"<html>Bad Gateway</html>", |_| Some(())).unwrap_err();
        assert_eq!(
            html,
            GraphCallError::InvalidResponse {
                http_status: 502,
                body_snippet: "<html>Bad Gateway</html>".into()
            }
        );
        assert_eq!(html.action(), ErrorAction::RetryWithBackoff);
        assert!(!html.is_ambiguous());
        let garbage_ok = interpret(status(200), b"ok", |_| Some(())).unwrap_err();
        assert!(garbage_ok.is_ambiguous());
        let missing_id = interpret(status(200), b"{}", |j| j.get("id").map(|_| ())).unwrap_err();
        assert!(matches!(
            missing_id,
            GraphCallError::InvalidResponse {
                http_status: 200,
                ..
            }
        ));
        let table = [
            (400, ErrorAction::Fail),
            (404, ErrorAction::Fail),
            (401, ErrorAction::FailAndAlertOperator),
            (403, ErrorAction::FailAndAlertOperator),
            (429, ErrorAction::RetryWithBackoff),
            (503, ErrorAction::RetryWithBackoff),
        ];
        for (code, action) in table {
            let e = GraphCallError::InvalidResponse {
                http_status: code,
                body_snippet: String::new(),
            };
            assert_eq!(e.action(), action, "{code}");
        }
        assert_eq!(
            GraphCallError::Timeout.action(),
            ErrorAction::RetryWithBackoff
        );
        assert!(GraphCallError::Timeout.is_ambiguous());
        assert!(!GraphCallError::Connect("x".into()).is_ambiguous());
        assert!(GraphCallError::Transport("x".into()).is_ambiguous());
    }

    #[test]
    fn every_failure_becomes_a_send_error() {
        let api = SendError {
            code: 131026,
            title: "Message undeliverable".into(),
            details: None,
        };
        let cases = [
            (
                GraphCallError::Api {
                    http_status: 400,
                    error: api.clone(),
                    fbtrace_id: None,
                },
                api,
            ),
            (
                GraphCallError::Connect("refused".into()),
                SendError {
                    code: LOCAL_CONNECT,
                    title: "não foi possível conectar à API do WhatsApp".into(),
                    details: Some("refused".into()),
                },
            ),
            (
                GraphCallError::Transport("reset".into()),
                SendError {
                    code: LOCAL_TRANSPORT,
                    title: "a conexão com a API do WhatsApp caiu antes da resposta".into(),
                    details: Some("reset".into()),
                },
            ),
            (
                GraphCallError::Timeout,
                SendError {
                    code: LOCAL_TIMEOUT,
                    title: "a API do WhatsApp não respondeu a tempo".into(),
                    details: None,
                },
            ),
            (
                GraphCallError::InvalidResponse {
                    http_status: 502,
                    body_snippet: "<html>".into(),
                },
                SendError {
                    code: LOCAL_INVALID_RESPONSE,
                    title: "resposta inesperada da API do WhatsApp (HTTP 502)".into(),
                    details: Some("<html>".into()),
                },
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_send_error(), expected);
        }
    }

    #[test]
    fn snippets_are_cut() {
        let long = "é".repeat(1000);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn urls_join_and_encode() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = GraphClient::new(reqwest::Client::new(), "http://h/graph/", "/v23.0/");
        assert_eq!(
            client.url(&["106540352242922", "messages"]),
            "http://h/graph/v23.0/106540352242922/messages"
        );
        assert_eq!(client.url(&["../x?y"]), "http://h/graph/v23.0/..%2Fx%3Fy");
    }

    #[test]
    fn multipart_body_exact() {
        let (content_type, body) = multipart_body(b"%PDF-1.4", "application/pdf", "bo\"leto.pdf");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        assert!(boundary.starts_with("balcao-"));
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bo%22leto.pdf\"\r\nContent-Type: application/pdf\r\n\r\n\
             %PDF-1.4\r\n--{b}--\r\n",
            b = boundary
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);
    }

    #[test]
    fn boundary_avoids_the_content() {
        assert_eq!(boundary_for(b"x"), boundary_candidate(0));
        let tricky = format!("aaa{}bbb", boundary_candidate(0));
        assert_eq!(boundary_for(tricky.as_bytes()), boundary_candidate(1));
        assert_ne!(boundary_candidate(0), boundary_candidate(1));
    }
}
