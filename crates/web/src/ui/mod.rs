//! The desk's web screens under `/app`, rendered on the server in pt-BR (askama templates,
//! escaped by default) with our own small script and stylesheet: login, the live inbox, the
//! supervisor board, the admin screens and the staff member's API tokens. Pages are whole
//! documents; `/app/f/...` serve the fragments the script swaps in when the live stream
//! (`/app/events`) says something changed.

mod admin;
mod board;
pub mod events;
mod inbox;
pub mod view;

pub(crate) use inbox::{RESOLUTIONS, fragment as inbox_fragment, rendered as inbox_rendered};

use crate::DeskState;
use crate::session::{self, LOGIN_COOKIE, SESSION_COOKIE, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use balcao_domain::Millis;
use balcao_store::{Role, StoreError, User};
use serde::Deserialize;

const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
/// Changes with the assets, so browsers never run a stale script against new markup.
const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn router(state: DeskState) -> Router<DeskState> {
    Router::new()
        .route("/app", get(inbox::page))
        .route("/app/", get(inbox::page))
        .route("/app/login", get(login_page).post(login_submit))
        .route("/app/logout", post(logout))
        .route("/app/assets/app.js", get(app_js))
        .route("/app/assets/app.css", get(app_css))
        .route("/app/events", get(events::stream))
        .merge(inbox::routes())
        .merge(board::routes())
        .merge(admin::routes())
        .merge(crate::ladder_settings::ui_routes())
        .layer(axum::middleware::from_fn_with_state(
            state,
            session::require_csrf,
        ))
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---- rendering helpers -------------------------------------------------------------------------

/// Renders a template as a page, or a pt-BR error page when rendering fails.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<p>Erro interno ao montar a página.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "desk/message.html")]
struct MessagePage<'a> {
    asset_version: &'a str,
    title: &'a str,
    message: &'a str,
    link: &'a str,
    link_label: &'a str,
}

pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let mut response = render(&MessagePage {
        asset_version: ASSET_VERSION,
        title,
        message,
        link: "/app",
        link_label: "Voltar",
    });
    *response.status_mut() = status;
    response
}

pub(crate) fn csrf_page() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Formulário expirado",
        "A página ficou aberta por muito tempo ou veio de outro site. Volte, recarregue e tente de novo.",
    )
}

/// Where a visitor without a session goes: the login page, then back here.
pub(crate) fn login_redirect(uri: &Uri) -> Response {
    let next = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with("/app") && !p.starts_with("/app/f/"))
        .unwrap_or("/app");
    Redirect::to(&format!("/app/login?next={}", url_encode(next))).into_response()
}

pub(crate) fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Errors of the screens: a login redirect, a pt-BR page, or a bare status for fragments.
pub(crate) enum PageError {
    Login(Uri),
    Status(StatusCode, String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(uri) => login_redirect(&uri),
            PageError::Status(status, message) => {
                let title = match status {
                    StatusCode::FORBIDDEN => "Acesso negado",
                    StatusCode::NOT_FOUND => "Não encontrado",
                    _ => "Algo deu errado",
                };
                message_page(status, title, &message)
            }
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => {
                PageError::Status(StatusCode::NOT_FOUND, "Registro não encontrado.".into())
            }
            StoreError::Conflict(m) => PageError::Status(StatusCode::CONFLICT, m),
            other => {
                tracing::error!(error = %other, "store error in a desk screen");
                PageError::Status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erro interno ao acessar o banco de dados.".into(),
                )
            }
        }
    }
}

impl From<crate::error::ApiError> for PageError {
    fn from(err: crate::error::ApiError) -> Self {
        PageError::Status(err.status, err.message)
    }
}

/// The staff member of a screen request (session cookie only). Without a session: the login
/// page for documents, a bare 401 for fragments.
pub(crate) struct PageStaff(pub Staff);

impl FromRequestParts<DeskState> for PageStaff {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DeskState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(staff) = parts.extensions.get::<Staff>() {
            return Ok(PageStaff(staff.clone()));
        }
        match session::staff_from_cookie(
            state.app.store.as_ref(),
            &parts.headers,
            state.app.clock.now(),
        )
        .await
        {
            Ok(Some(staff)) => Ok(PageStaff(staff)),
            Ok(None) if parts.uri.path().starts_with("/app/f/") => Err(PageError::Status(
                StatusCode::UNAUTHORIZED,
                "Sessão expirada.".into(),
            )),
            Ok(None) => Err(PageError::Login(parts.uri.clone())),
            Err(e) => Err(e.into()),
        }
    }
}

impl PageStaff {
    pub(crate) fn require_supervisor(&self) -> Result<(), PageError> {
        self.0.require_supervisor().map_err(PageError::from)
    }
    pub(crate) fn require_admin(&self) -> Result<(), PageError> {
        self.0.require_admin().map_err(PageError::from)
    }
}

/// The parts every full page shares: who is logged in, their CSRF token, presence, section.
pub(crate) struct Chrome {
    pub csrf: String,
    pub asset_version: &'static str,
    pub user_id: i64,
    pub user_name: String,
    pub role_label: &'static str,
    pub supervises: bool,
    pub administers: bool,
    pub presence: &'static str,
    pub section: &'static str,
    /// The page follows the live stream and sends presence heartbeats.
    pub live: bool,
}

impl Chrome {
    pub(crate) fn new(staff: &Staff, section: &'static str, now: Millis) -> Chrome {
        Chrome {
            csrf: staff.csrf().to_owned(),
            asset_version: ASSET_VERSION,
            user_id: staff.user.id.0,
            user_name: staff.user.name.clone(),
            role_label: session::role_label(staff.user.role),
            supervises: session::supervises(staff.user.role),
            administers: session::administers(staff.user.role),
            presence: presence_of(&staff.user, now),
            section,
            live: true,
        }
    }
}

/// "online", "away" or "offline".
pub(crate) fn presence_of(user: &User, now: Millis) -> &'static str {
    if user.away {
        "away"
    } else if user.is_online(balcao_engine::desk::online_since(now)) {
        "online"
    } else {
        "offline"
    }
}

pub(crate) fn role_options(current: Role) -> Vec<(&'static str, &'static str, bool)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str(), session::role_label(*r), *r == current))
        .collect()
}

// ---- login and logout --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/login.html")]
struct LoginPage<'a> {
    asset_version: &'a str,
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> &str {
    match next {
        // Only our own screens: never an open redirect.
        Some(n) if n.starts_with("/app") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/app",
    }
}

fn login_response(
    state: &DeskState,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let csrf = session::new_secret();
    let mut response = render(&LoginPage {
        asset_version: ASSET_VERSION,
        csrf: &csrf,
        next,
        email,
        error,
    });
    *response.status_mut() = status;
    if let Ok(value) =
        session::set_cookie(LOGIN_COOKIE, &csrf, 3600, state.config.secure_cookies).parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login_page(
    State(state): State<DeskState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Ok(Some(_)) =
        session::staff_from_cookie(state.app.store.as_ref(), &headers, state.app.clock.now()).await
    {
        return Redirect::to(next).into_response();
    }
    login_response(&state, StatusCode::OK, next, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<DeskState>,
    parts: axum::http::request::Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    let cookie = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie_value(h, LOGIN_COOKIE))
        .unwrap_or_default();
    if !session::same_secret(&form.csrf, cookie) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            &form.email,
            Some("O formulário expirou. Tente entrar novamente."),
        );
    }
    let client = session::client_address(
        &parts.headers,
        session::peer(&parts.extensions),
        state.config.trust_proxy,
    );
    let now = state.app.clock.now();
    match session::login(
        state.app.store.as_ref(),
        &form.email,
        &form.password,
        client.as_deref(),
        now,
    )
    .await
    {
        Ok(opened) => {
            let max_age = (opened.expires_at - now) / 1000;
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            for cookie in [
                session::set_cookie(
                    SESSION_COOKIE,
                    &opened.token,
                    max_age,
                    state.config.secure_cookies,
                ),
                session::set_cookie(LOGIN_COOKIE, "", 0, state.config.secure_cookies),
            ] {
                if let Ok(value) = cookie.parse() {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(session::LoginError::Rejected) => login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some("E-mail ou senha incorretos."),
        ),
        Err(session::LoginError::Locked(wait)) => login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &form.email,
            Some(&session::locked_message(wait)),
        ),
        Err(session::LoginError::Store(e)) => {
            tracing::error!(error = %e, "login failed on the store");
            login_response(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                &next,
                &form.email,
                Some("Erro interno. Tente novamente em instantes."),
            )
        }
    }
}

async fn logout(State(state): State<DeskState>, PageStaff(staff): PageStaff) -> Response {
    if let session::Credential::Session { token_sha256, .. } = &staff.credential
        && let Err(e) = state.app.store.delete_user_session(token_sha256).await
    {
        tracing::error!(error = %e, "logout could not delete the session");
    }
    let mut response = Redirect::to("/app/login").into_response();
    if let Ok(value) =
        session::set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies).parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

// ---- formatting --------------------------------------------------------------------------------

/// Times shown in the workspace's time zone.
#[derive(Clone)]
pub(crate) struct Clockface {
    pub tz: jiff::tz::TimeZone,
    pub now: Millis,
}

impl Clockface {
    pub(crate) async fn of(state: &DeskState, staff: &Staff) -> Clockface {
        let tz = match state.app.store.workspace(staff.workspace()).await {
            Ok(Some(ws)) => {
                jiff::tz::TimeZone::get(&ws.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
            }
            _ => jiff::tz::TimeZone::UTC,
        };
        Clockface {
            tz,
            now: state.app.clock.now(),
        }
    }

    fn zoned(&self, ms: Millis) -> Option<jiff::Zoned> {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned(self.tz.clone()))
    }

    /// "14:05" today, "ontem 14:05", or "03/11 14:05".
    pub(crate) fn short(&self, ms: Millis) -> String {
        let (Some(at), Some(now)) = (self.zoned(ms), self.zoned(self.now)) else {
            return String::new();
        };
        let time = at.strftime("%H:%M").to_string();
        if at.date() == now.date() {
            time
        } else if now.date().yesterday().ok() == Some(at.date()) {
            format!("ontem {time}")
        } else {
            format!("{} {time}", at.strftime("%d/%m"))
        }
    }

    /// "03/11/2026 14:05".
    pub(crate) fn full(&self, ms: Millis) -> String {
        self.zoned(ms)
            .map(|z| z.strftime("%d/%m/%Y %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// "agora", "5 min", "2 h 10 min", "3 d".
pub(crate) fn duration_label(ms: Millis) -> String {
    let minutes = ms.max(0) / 60_000;
    if minutes < 1 {
        "agora".into()
    } else if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 24 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else {
        format!("{} d", minutes / (24 * 60))
    }
}

/// Formats integer cents as "R$ 1.234,56".
pub(crate) fn brl(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let reais = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in reais.chars().enumerate() {
        if i > 0 && (reais.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}R$ {grouped},{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_our_own_screens() {
        assert_eq!(safe_next(Some("/app/board")), "/app/board");
        assert_eq!(safe_next(Some("https://evil.example")), "/app");
        assert_eq!(safe_next(Some("//evil.example")), "/app");
        assert_eq!(safe_next(None), "/app");
    }

    #[test]
    fn durations_in_portuguese() {
        assert_eq!(duration_label(10_000), "agora");
        assert_eq!(duration_label(5 * 60_000), "5 min");
        assert_eq!(duration_label(130 * 60_000), "2 h 10 min");
        assert_eq!(duration_label(120 * 60_000), "2 h");
        assert_eq!(duration_label(3 * 24 * 3_600_000), "3 d");
    }

    #[test]
    fn money_in_reais() {
        assert_eq!(brl(123_456), "R$ 1.234,56");
        assert_eq!(brl(5), "R$ 0,05");
        assert_eq!(brl(-100_000_000), "-R$ 1.000.000,00");
    }

    #[test]
    fn times_in_the_workspace_zone() {
        let face = Clockface {
            tz: jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap(),
            // 2026-11-21 15:00 UTC = 12:00 in São Paulo.
            now: 1_795_273_200_000,
        };
        assert_eq!(face.short(face.now), "12:00");
        assert_eq!(face.short(face.now - 24 * 3_600_000), "ontem 12:00");
        assert_eq!(face.full(face.now), "21/11/2026 12:00");
    }

    #[test]
    fn url_encoding_keeps_paths() {
        assert_eq!(
            url_encode("/app?view=queue:1&c=2"),
            "/app%3Fview%3Dqueue%3A1%26c%3D2"
        );
    }
}
