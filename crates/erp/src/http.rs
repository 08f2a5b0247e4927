//! The HTTP plumbing the adapters share: sending with error classification, the per-system rate
//! limit, cached bearer tokens, and the small encoders the lean reqwest build lacks (form bodies,
//! query strings, Basic credentials).

use crate::error::ErpError;
use crate::parse::{self, decode_json};
use balcao_domain::pacing::TokenBucket;
use balcao_domain::{Millis, now_millis};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;

/// A request rate a system imposes (Voalle: about 30 a minute).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_minute: u32,
    /// Requests allowed back to back before pacing starts.
    pub burst: u32,
}

pub(crate) struct Http {
    client: reqwest::Client,
    limiter: Option<Mutex<TokenBucket>>,
}

/// A whole HTTP answer, read before any interpretation.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Http {
    pub(crate) fn new(
        request_timeout: Duration,
        rate_limit: Option<RateLimit>,
    ) -> Result<Self, ErpError> {
        let client = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("balcao/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ErpError::Config(format!("cliente HTTP: {e}")))?;
        let limiter = rate_limit.map(|limit| {
            Mutex::new(TokenBucket::new(
                f64::from(limit.per_minute.max(1)) / 60.0,
                f64::from(limit.burst.max(1)),
                now_millis(),
            ))
        });
        Ok(Http { client, limiter })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Waits for the rate limit, sends, and reads the whole body.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, ErpError> {
        self.wait_for_slot().await;
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport_error)?.to_vec();
        tracing::trace!(status, bytes = body.len(), "erp answer");
        Ok(Reply { status, body })
    }

    async fn wait_for_slot(&self) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        loop {
            let wait = {
                let mut bucket = limiter.lock().await;
                let now = now_millis();
                if bucket.try_take(now) {
                    return;
                }
                bucket.next_token_at(now) - now
            };
            tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)).await;
        }
    }
}

fn transport_error(error: reqwest::Error) -> ErpError {
    if error.is_timeout() {
        ErpError::Timeout
    } else if error.is_connect() {
        ErpError::Unavailable("não foi possível conectar".into())
    } else if error.is_body() || error.is_decode() {
        ErpError::Unavailable("conexão interrompida durante a resposta".into())
    } else {
        ErpError::Unavailable(format!("falha de comunicação: {error}"))
    }
}

impl Reply {
    /// Classifies the HTTP status: 401/403 unauthorized, 404 not found, 429 rate limited,
    /// 5xx unavailable, other 4xx the ERP's message as a business error. 2xx passes through; its
    /// body may still be an error envelope, which each adapter reads.
    pub(crate) fn check(self) -> Result<Reply, ErpError> {
        match self.status {
            200..=299 => Ok(self),
            401 | 403 => Err(ErpError::Unauthorized),
            404 => Err(ErpError::NotFound),
            429 => Err(ErpError::RateLimited),
            500..=599 => Err(ErpError::Unavailable(format!(
                "HTTP {}{}",
                self.status,
                if self.is_html() {
                    " (página HTML)"
                } else {
                    ""
                }
            ))),
            status => Err(match self.json().ok().as_ref().and_then(error_message) {
                Some(message) => ErpError::business(message),
                None => ErpError::InvalidResponse(format!("HTTP {status}: {}", self.snippet())),
            }),
        }
    }

    pub(crate) fn json(&self) -> Result<Value, ErpError> {
        decode_json(&self.body)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }

    pub(crate) fn is_html(&self) -> bool {
        parse::looks_like_html(self.text().as_str())
    }

    fn snippet(&self) -> String {
        parse::strip_tags(&self.text()).chars().take(120).collect()
    }
}

/// The message of a generic error body (`message`, `msg`, `mensagem`, `error`…).
pub(crate) fn error_message(body: &Value) -> Option<String> {
    parse::text_at(
        body,
        &["message", "msg", "mensagem", "error_description", "error"],
    )
    .map(|m| parse::strip_tags(&m))
}

/// A bearer token shared by an adapter's calls, refreshed before it expires and dropped when the
/// ERP answers 401.
pub(crate) struct TokenCache {
    current: Mutex<Option<(String, Millis)>>,
    /// Used when the ERP does not say how long the token lives.
    default_lifetime_ms: Millis,
}

impl TokenCache {
    pub(crate) fn new(default_lifetime: Duration) -> Self {
        TokenCache {
            current: Mutex::new(None),
            default_lifetime_ms: default_lifetime.as_millis() as Millis,
        }
    }

    /// The cached token, or a new one from `fetch` (which returns the token and, when the ERP says,
    /// its lifetime in seconds). Concurrent callers wait for one fetch.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<String, ErpError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, Option<u64>), ErpError>>,
    {
        let mut current = self.current.lock().await;
        let now = now_millis();
        if let Some((token, valid_until)) = current.as_ref()
            && *valid_until > now
        {
            return Ok(token.clone());
        }
        let (token, lifetime_s) = fetch().await?;
        let lifetime_ms = lifetime_s
            .map(|s| (s as Millis).saturating_mul(1000))
            .unwrap_or(self.default_lifetime_ms);
        // Renew at 90% of the lifetime so a call never leaves with a token about to die.
        let valid_until = now + lifetime_ms / 10 * 9;
        *current = Some((token.clone(), valid_until));
        Ok(token)
    }

    /// Forgets `stale` (unless another call already replaced it).
    pub(crate) async fn invalidate(&self, stale: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|(token, _)| token == stale) {
            *current = None;
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes a path segment or a query value.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` (also used for query strings).
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_component(k), form_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_component(s: &str) -> String {
    encode_component(s).replace("%20", "+")
}

/// Standard base64 with padding, for HTTP Basic credentials.
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Authorization: Basic …` over the given text as it is (IXC sends its whole "id:key" token).
pub(crate) fn basic_authorization(credentials: &str) -> String {
    format!("Basic {}", base64(credentials.as_bytes()))
}

/// Joins a base URL and a path without doubling or losing the slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(basic_authorization("12:abc"), "Basic MTI6YWJj");
    }

    #[test]
    fn form_and_component_encoding() {
        assert_eq!(
            form_encode(&[("app", "Balcão Bot"), ("token", "a&b=c")]),
            "app=Balc%C3%A3o+Bot&token=a%26b%3Dc"
        );
        assert_eq!(encode_component("627.105.245-20"), "627.105.245-20");
        assert_eq!(encode_component("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn join_keeps_exactly_one_slash() {
        assert_eq!(join("http://h:1/", "/api/"), "http://h:1/api/");
        assert_eq!(join("http://h:1", "api"), "http://h:1/api");
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_labelled_as_html_is_still_json() {
        // PHP ERPs send JSON with text/html; only the body decides.
        assert_eq!(
            reply(200, r#"{"a":1}"#).json().unwrap(),
            serde_json::json!({"a": 1})
        );
        assert!(reply(200, "<html>erro</html>").is_html());
    }

    #[test]
    fn statuses_are_classified() {
        assert!(reply(200, "{}").check().is_ok());
        assert_eq!(reply(401, "").check().unwrap_err(), ErpError::Unauthorized);
        assert_eq!(reply(404, "").check().unwrap_err(), ErpError::NotFound);
        assert_eq!(reply(429, "").check().unwrap_err(), ErpError::RateLimited);
        assert_eq!(
            reply(502, "<html>Bad gateway</html>").check().unwrap_err(),
            ErpError::Unavailable("HTTP 502 (página HTML)".into())
        );
        assert_eq!(
            reply(422, r#"{"msg":"campo obrigatório"}"#)
                .check()
                .unwrap_err(),
            ErpError::business("campo obrigatório")
        );
        assert!(matches!(
            reply(400, "bad").check().unwrap_err(),
            ErpError::InvalidResponse(m) if m.contains("400")
        ));
    }

    #[tokio::test]
    async fn token_cache_fetches_once_and_refetches_after_invalidation() {
        let cache = TokenCache::new(Duration::from_secs(600));
        let first = cache
            .get(|| async { Ok(("t1".to_owned(), Some(600))) })
            .await
            .unwrap();
        let again = cache
            .get(|| async { panic!("must not fetch while the token is valid") })
            .await
            .unwrap();
        assert_eq!((first.as_str(), again.as_str()), ("t1", "t1"));
        cache.invalidate("other").await;
        assert_eq!(
            cache
                .get(|| async { Ok(("t2".to_owned(), None)) })
                .await
                .unwrap(),
            "t1",
            "invalidating another token keeps the current one"
        );
        cache.invalidate("t1").await;
        assert_eq!(
            cache
                .get(|| async { Ok(("t2".to_owned(), None)) })
                .await
                .unwrap(),
            "t2"
        );
        // A token that lives 0 seconds is refetched every time.
        let short = TokenCache::new(Duration::from_secs(600));
        short
            .get(|| async { Ok(("a".to_owned(), Some(0))) })
            .await
            .unwrap();
        assert_eq!(
            short
                .get(|| async { Ok(("b".to_owned(), Some(0))) })
                .await
                .unwrap(),
            "b"
        );
    }
}
