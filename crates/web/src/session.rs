//! Staff access to the desk: passwords (argon2), login with throttling, browser sessions (an
//! HttpOnly cookie plus a CSRF token per session), per-user bearer tokens for the REST API, and
//! the [`Staff`] extractor every desk route takes.
//!
//! Only hashes reach the store: SHA-256 of session cookies and bearer tokens, argon2 PHC strings
//! of passwords.

mod rules;

pub use rules::*;

use crate::DeskState;
use crate::auth::token_sha256;
use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use balcao_domain::{Millis, WorkspaceId};
use balcao_store::{
    DeskConversation, NewUser, NewUserSession, QueueId, Role, Store, StoreError, User, UserPatch,
};
use std::net::SocketAddr;
use std::sync::OnceLock;

pub const SESSION_COOKIE: &str = "balcao_session";
/// Double-submit cookie of the login form (there is no session yet to hold its CSRF token).
pub const LOGIN_COOKIE: &str = "balcao_login";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// Chats an agent holds at once unless configured otherwise.
pub const DEFAULT_MAX_CHATS: u32 = 5;

// ---- secrets and passwords ------------------------------------------------------------------

/// 32 random bytes as hex, from the system's CSPRNG: session cookies, CSRF and API tokens.
pub fn new_secret() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random generator");
    hex::encode(bytes)
}

/// The argon2id PHC string of a password (CPU-heavy: call it off the async threads, as
/// [`hash_password_async`] does).
pub fn hash_password(password: &NewPassword) -> String {
    use ring::rand::SecureRandom;
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .expect("system random generator");
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt");
    argon2::Argon2::default()
        .hash_password(password.as_str().as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Whether `candidate` is the password of the PHC string `phc` (false for a malformed string).
pub fn verify_password(phc: &str, candidate: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash_password_async(password: NewPassword) -> String {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .expect("password hashing task")
}

pub async fn verify_password_async(phc: String, candidate: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&phc, &candidate))
        .await
        .unwrap_or(false)
}

/// A hash no password matches, verified when the e-mail is unknown so that a login takes the
/// same time whether the account exists or not.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_password(&NewPassword::parse(&new_secret()).expect("random password")))
}

// ---- creating users (CLI, demo, admin screens) ----------------------------------------------

/// A staff member to create.
#[derive(Clone, Debug)]
pub struct NewStaff {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// `None`: [`DEFAULT_MAX_CHATS`].
    pub max_chats: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<StaffError> for ApiError {
    fn from(err: StaffError) -> Self {
        match err {
            StaffError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_user", m)
            }
            StaffError::Store(e) => e.into(),
        }
    }
}

/// Creates a user with an argon2-hashed password (validated: e-mail, non-empty name, password
/// policy). Conflict when the e-mail exists in the workspace. What `balcao user add`, the demo
/// and the admin screen call.
pub async fn create_staff(
    store: &dyn Store,
    workspace: WorkspaceId,
    new: NewStaff,
    now: Millis,
) -> Result<User, StaffError> {
    let email = Email::parse(&new.email).map_err(StaffError::Invalid)?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(StaffError::Invalid("informe o nome".into()));
    }
    let password = NewPassword::parse(&new.password).map_err(StaffError::Invalid)?;
    let max_chats = new.max_chats.unwrap_or(DEFAULT_MAX_CHATS);
    if max_chats == 0 {
        return Err(StaffError::Invalid(
            "o limite de conversas simultâneas deve ser pelo menos 1".into(),
        ));
    }
    let password_hash = hash_password_async(password).await;
    Ok(store
        .create_user(
            workspace,
            NewUser {
                email: email.as_str().to_owned(),
                name: name.to_owned(),
                role: new.role,
                password_hash,
                max_chats,
                hours: None,
            },
            now,
        )
        .await?)
}

/// Sets a new password and ends every session of the user (they log in again).
pub async fn reset_password(
    store: &dyn Store,
    workspace: WorkspaceId,
    user: balcao_domain::UserId,
    password: &str,
) -> Result<User, StaffError> {
    let password = NewPassword::parse(password).map_err(StaffError::Invalid)?;
    let password_hash = hash_password_async(password).await;
    let user = store
        .update_user(
            workspace,
            user,
            UserPatch {
                password_hash: Some(password_hash),
                ..UserPatch::default()
            },
        )
        .await?;
    store.delete_user_sessions(workspace, user.id).await?;
    Ok(user)
}

/// Creates a bearer token for the user's REST API calls; returns the token (shown once, only
/// its hash is stored).
pub async fn create_api_token(
    store: &dyn Store,
    workspace: WorkspaceId,
    user: balcao_domain::UserId,
    name: &str,
    now: Millis,
) -> Result<(balcao_store::UserToken, String), StaffError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(StaffError::Invalid(
            "dê um nome ao token (até 80 caracteres)".into(),
        ));
    }
    let token = format!("bt_{}", new_secret());
    let stored = store
        .create_user_token(workspace, user, name, &token_sha256(&token), now)
        .await?;
    Ok((stored, token))
}

// ---- login ------------------------------------------------------------------------------------

/// Why a login did not open a session.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong e-mail or password (never says which).
    Rejected,
    /// Too many failures for the e-mail or the address: wait this long (ms).
    Locked(Millis),
    Store(StoreError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        LoginError::Store(e)
    }
}

/// A session just opened: the cookie's token (only its hash is stored) and the user.
pub struct OpenedSession {
    pub token: String,
    pub user: User,
    pub expires_at: Millis,
}

/// Checks the throttle for the e-mail and the address, the password (argon2, constant work
/// whether the e-mail exists or not), counts a failure on both keys or clears the e-mail's
/// count, and opens a session.
pub async fn login(
    store: &dyn Store,
    email: &str,
    password: &str,
    client: Option<&str>,
    now: Millis,
) -> Result<OpenedSession, LoginError> {
    let email = Email::parse(email).ok();
    let email_key = email.as_ref().map(|e| format!("email:{}", e.as_str()));
    let ip_key = client.map(|ip| format!("ip:{ip}"));
    let keys: Vec<&String> = email_key.iter().chain(ip_key.iter()).collect();
    for key in &keys {
        if let Some(wait) = locked_for(store.login_throttle(key).await?.as_ref(), now) {
            return Err(LoginError::Locked(wait));
        }
    }
    let candidates = match &email {
        Some(e) => store.users_by_email(e.as_str()).await?,
        None => Vec::new(),
    };
    let mut matched = None;
    for user in candidates.into_iter().filter(|u| u.active) {
        if verify_password_async(user.password_hash.clone(), password.to_owned()).await {
            matched = Some(user);
            break;
        }
    }
    let Some(user) = matched else {
        // Same work as a real check, so timing does not tell which e-mails exist.
        if email.is_none() || keys.len() < 2 {
            let _ = verify_password_async(decoy_hash().to_owned(), password.to_owned()).await;
        }
        let mut locked = None;
        for key in &keys {
            let throttle = store.record_login_failure(key, LOGIN_THROTTLE, now).await?;
            locked = locked.or(locked_for(Some(&throttle), now));
        }
        return Err(match locked {
            Some(wait) => LoginError::Locked(wait),
            None => LoginError::Rejected,
        });
    };
    if let Some(key) = &email_key {
        store.clear_login_failures(key).await?;
    }
    let token = new_secret();
    let expires_at = now + SESSION_TTL_MS;
    store
        .create_user_session(
            user.workspace_id,
            NewUserSession {
                token_sha256: token_sha256(&token),
                user_id: user.id,
                csrf_token: new_secret(),
                created_at: now,
                expires_at,
            },
        )
        .await?;
    Ok(OpenedSession {
        token,
        user,
        expires_at,
    })
}

/// The client's address for the login throttle: the connection's peer, or the first
/// `X-Forwarded-For` entry when the site sits behind a trusted proxy.
pub fn client_address(
    parts_headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_proxy: bool,
) -> Option<String> {
    if trust_proxy
        && let Some(forwarded) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return Some(forwarded.to_owned());
    }
    peer.map(|p| p.ip().to_string())
}

// ---- the logged-in staff member ---------------------------------------------------------------

/// How the request was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Browser session: the SHA-256 of the cookie and the session's CSRF token.
    Session { token_sha256: String, csrf: String },
    /// `Authorization: Bearer` user token (REST API; no CSRF: browsers never send it by
    /// themselves).
    Bearer,
}

/// The staff member behind a request, with the queues they belong to.
#[derive(Clone, Debug)]
pub struct Staff {
    pub user: User,
    pub queues: Vec<QueueId>,
    pub credential: Credential,
}

impl Staff {
    pub fn workspace(&self) -> WorkspaceId {
        self.user.workspace_id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn csrf(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf, .. } => csrf,
            Credential::Bearer => "",
        }
    }

    /// May see and work on this desk conversation.
    pub fn may_see(&self, desk: &DeskConversation) -> bool {
        may_see(
            self.user.role,
            self.user.id,
            &self.queues,
            desk.queue_id,
            desk.agent_id,
        )
    }

    /// May see the conversations of this queue.
    pub fn sees_queue(&self, queue: QueueId) -> bool {
        supervises(self.user.role) || self.queues.contains(&queue)
    }

    pub fn require_supervisor(&self) -> Result<(), ApiError> {
        if supervises(self.user.role) {
            Ok(())
        } else {
            Err(forbidden(
                "apenas supervisores e administradores podem fazer isso",
            ))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if administers(self.user.role) {
            Ok(())
        } else {
            Err(forbidden("apenas administradores podem fazer isso"))
        }
    }
}

pub fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn session_missing() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sessão expirada ou ausente: entre novamente (ou use Authorization: Bearer <token de usuário>)",
    )
}

fn csrf_rejected() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "token CSRF ausente ou inválido: recarregue a página e tente de novo",
    )
}

async fn staff_for(
    store: &dyn Store,
    user: User,
    credential: Credential,
) -> Result<Staff, ApiError> {
    let queues = store.user_queues(user.workspace_id, user.id).await?;
    Ok(Staff {
        user,
        queues,
        credential,
    })
}

/// The staff member of the session cookie, if any and still valid.
pub async fn staff_from_cookie(
    store: &dyn Store,
    headers: &HeaderMap,
    now: Millis,
) -> Result<Option<Staff>, ApiError> {
    let Some(token) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie_value(h, SESSION_COOKIE))
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let hash = token_sha256(token);
    let Some((session, user)) = store.user_session(&hash, now).await? else {
        return Ok(None);
    };
    Ok(Some(
        staff_for(
            store,
            user,
            Credential::Session {
                token_sha256: hash,
                csrf: session.csrf_token,
            },
        )
        .await?,
    ))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// REST and fetch() authentication: a user bearer token, or the session cookie — then every
/// unsafe method must carry the session's CSRF token in `X-CSRF-Token`.
impl FromRequestParts<DeskState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DeskState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(staff) = parts.extensions.get::<Staff>() {
            return Ok(staff.clone());
        }
        let store = state.app.store.as_ref();
        if let Some(token) = bearer(&parts.headers) {
            let user = store
                .user_for_token(&token_sha256(token))
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "token de usuário inválido ou revogado",
                    )
                })?;
            return staff_for(store, user, Credential::Bearer).await;
        }
        let staff = staff_from_cookie(store, &parts.headers, state.app.clock.now())
            .await?
            .ok_or_else(session_missing)?;
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, staff.csrf()) {
                return Err(csrf_rejected());
            }
        }
        Ok(staff)
    }
}

/// Middleware of the HTML screens: unsafe methods need a session and its CSRF token, in the
/// `X-CSRF-Token` header or the `_csrf` field of a url-encoded form (the body is read, checked
/// and handed on). The staff member found is left in the request's extensions.
pub async fn require_csrf(
    State(state): State<DeskState>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe(request.method()) || request.uri().path() == "/app/login" {
        return next.run(request).await;
    }
    let staff = match staff_from_cookie(
        state.app.store.as_ref(),
        request.headers(),
        state.app.clock.now(),
    )
    .await
    {
        Ok(Some(staff)) => staff,
        Ok(None) => return crate::ui::login_redirect(request.uri()).into_response(),
        Err(e) => return e.into_response(),
    };
    let header_token = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, 256 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "formulário grande demais",
            )
            .into_response();
        }
    };
    let form_token = form_field(&bytes, CSRF_FIELD);
    let sent = header_token.or(form_token).unwrap_or_default();
    if !same_secret(&sent, staff.csrf()) {
        return crate::ui::csrf_page().into_response();
    }
    let mut request = Request::from_parts(parts, axum::body::Body::from(bytes));
    request.extensions_mut().insert(staff);
    next.run(request).await
}

/// One field of an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The peer address axum recorded, when the server was started with connect info.
pub fn peer(parts_extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let password = NewPassword::parse("cavalo correto").unwrap();
        let phc = hash_password(&password);
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&phc, "cavalo correto"));
        assert!(!verify_password(&phc, "cavalo errado"));
        assert!(!verify_password("not a phc string", "cavalo correto"));
        // Salted: the same password never hashes twice to the same string.
        assert_ne!(phc, hash_password(&password));
    }

    #[test]
    fn secrets_are_random_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn forwarded_for_only_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        assert_eq!(
            client_address(&headers, Some(peer), true).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            client_address(&headers, Some(peer), false).as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(client_address(&HeaderMap::new(), None, true), None);
    }

    #[test]
    fn form_fields() {
        assert_eq!(
            form_field(b"a=1&_csrf=abc%20d&b=2", "_csrf").as_deref(),
            Some("abc d")
        );
        assert_eq!(form_field(b"a=1", "_csrf"), None);
    }
}
