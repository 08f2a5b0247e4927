//! The desk's web layer over real HTTP (SQLite store, the real router on a loopback port): login
//! with its lockout, CSRF on forms and on fetch() calls, roles on every kind of route, per-user
//! bearer tokens, the automatic-messages form refusing an empty required text, and the SSE
//! stream forwarding an event and asking for a resync after a reconnect.

use balcao_domain::{Millis, WorkspaceId};
use balcao_engine::Clock;
use balcao_engine::bus::EventBus;
use balcao_engine::erp::ErpDirectory;
use balcao_engine::ingest::{IngestConfig, Ingestor};
use balcao_engine::outbox::Outbox;
use balcao_engine::secrets::MasterKey;
use balcao_store::{DeskEntry, NewNumber, NewWorkspace, QueueId, Role, Store};
use balcao_store_sqlite::SqliteStore;
use balcao_web::session::{NewStaff, create_staff};
use balcao_web::{AppState, DeskState, DeskWebConfig};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const APP_SECRET: &str = "segredo-do-app";
const PHONE_NUMBER_ID: &str = "1099";
const PASSWORD: &str = "senha-forte-1";

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

struct App {
    base: String,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    api_token: String,
    http: reqwest::Client,
}

/// A browser-like session: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn start() -> App {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().await.unwrap());
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(balcao_domain::now_millis())));
    let ws = store
        .create_workspace(NewWorkspace {
            slug: "prov".into(),
            name: "Provedor".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .unwrap()
        .id;
    store
        .create_number(
            ws,
            NewNumber {
                phone_number_id: PHONE_NUMBER_ID.into(),
                display_phone_number: "5511900000000".into(),
                waba_id: "waba".into(),
                throughput_mps: 80,
            },
        )
        .await
        .unwrap();
    let api_token = "tok-workspace".to_owned();
    store
        .create_api_token(ws, "t", &balcao_web::auth::token_sha256(&api_token))
        .await
        .unwrap();
    let shared_clock: balcao_engine::SharedClock = clock.clone();
    let bus = EventBus::default();
    let key = MasterKey::from_hex(&"11".repeat(32)).unwrap();
    let app = AppState {
        store: store.clone(),
        clock: shared_clock.clone(),
        bus: bus.clone(),
        ingestor: Ingestor::spawn(
            store.clone(),
            shared_clock.clone(),
            bus.clone(),
            IngestConfig::default(),
        ),
        outbox: Outbox::new(store.clone(), shared_clock.clone(), bus.clone()),
        graph: balcao_whatsapp::client::GraphClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9",
            "v23.0",
        ),
        access_tokens: Default::default(),
        app_secret: Arc::new(APP_SECRET.as_bytes().to_vec()),
        verify_token: Arc::new("v".into()),
        metrics: None,
        auth_cache: Default::default(),
        erp: ErpDirectory::new(store.clone(), Arc::new(key), shared_clock),
    };
    let desk = balcao_engine::desk::Desk::new(
        store.clone(),
        app.outbox.clone(),
        app.clock.clone(),
        bus.clone(),
    );
    let router = balcao_web::router(app.clone()).merge(balcao_web::desk_router(DeskState {
        app,
        desk,
        config: DeskWebConfig::default(),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    App {
        base: format!("http://{addr}"),
        store,
        clock,
        ws,
        api_token,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn advance(&self, ms: Millis) {
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }

    async fn user(&self, email: &str, name: &str, role: Role) -> balcao_store::User {
        create_staff(
            self.store.as_ref(),
            self.ws,
            NewStaff {
                email: email.into(),
                name: name.into(),
                role,
                password: PASSWORD.into(),
                max_chats: None,
            },
            self.clock.now(),
        )
        .await
        .unwrap()
    }

    /// GET the login page: its double-submit cookie and hidden field.
    async fn login_form(&self) -> (String, String) {
        let r = self.http.get(self.url("/app/login")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = set_cookie(r.headers(), "balcao_login").expect("login cookie");
        let html = r.text().await.unwrap();
        let csrf = between(&html, "name=\"_csrf\" value=\"", "\"").expect("csrf field");
        assert_eq!(cookie, csrf);
        (cookie, csrf)
    }

    async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        let (cookie, csrf) = self.login_form().await;
        self.http
            .post(self.url("/app/login"))
            .header("cookie", format!("balcao_login={cookie}"))
            .form_body(&[
                ("email", email),
                ("password", password),
                ("_csrf", &csrf),
                ("next", "/app"),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, email: &str) -> Session {
        let r = self.post_login(email, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {email}");
        let header = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("balcao_session="))
            .expect("session cookie");
        assert!(
            header.contains("HttpOnly") && header.contains("SameSite=Lax"),
            "{header}"
        );
        let cookie = set_cookie(r.headers(), "balcao_session").unwrap();
        let page = self
            .http
            .get(self.url("/app"))
            .header("cookie", format!("balcao_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let csrf = between(&html, "name=\"csrf-token\" content=\"", "\"").unwrap();
        Session { cookie, csrf }
    }

    fn get(&self, s: &Session, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .header("cookie", format!("balcao_session={}", s.cookie))
    }

    /// A fetch() call of the inbox: cookie plus the CSRF header.
    fn call(&self, s: &Session, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("cookie", format!("balcao_session={}", s.cookie))
            .header("x-csrf-token", &s.csrf)
    }

    /// An inbound text from a subscriber, through the signed webhook; returns the conversation.
    async fn inbound(&self, from: &str, text: &str) -> balcao_domain::ConversationId {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511900000000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Márcia"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.{from}.{}", rand_suffix()), "timestamp": (self.clock.now() / 1000).to_string(), "type": "text", "text": {"body": text}}]
        }}]}]})
        .to_string();
        let r = self
            .http
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                balcao_whatsapp::signature::sign(APP_SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = self
            .http
            .get(self.url(&format!("/api/v1/conversations?wa_id={from}")))
            .bearer_auth(&self.api_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        balcao_domain::ConversationId(v["conversations"][0]["id"].as_i64().unwrap())
    }
}

/// reqwest's `form` feature is off in the workspace: encode the body ourselves.
trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| value.to_owned())
    })
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn login_is_throttled_per_email_and_address() {
    let app = start().await;
    app.user("ana@prov.com.br", "Ana", Role::Admin).await;
    app.user("bia@prov.com.br", "Bia", Role::Agent).await;

    // Without a session every screen goes to the login page, coming back afterwards.
    let r = app.http.get(app.url("/app/board")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/app/login?next=/app/board");

    // A login form without its double-submit cookie is refused.
    let (_, csrf) = app.login_form().await;
    let r = app
        .http
        .post(app.url("/app/login"))
        .form_body(&[
            ("email", "ana@prov.com.br"),
            ("password", PASSWORD),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    for _ in 0..4 {
        let r = app.post_login("ANA@prov.com.br", "errada-123").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("E-mail ou senha incorretos.")
        );
    }
    let r = app.post_login("ana@prov.com.br", "errada-123").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Muitas tentativas de login sem sucesso. Aguarde 15 minutos")
    );
    // Locked: even the right password waits…
    assert_eq!(
        app.post_login("ana@prov.com.br", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // …and so does another account from the same address.
    assert_eq!(
        app.post_login("bia@prov.com.br", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.advance(15 * 60 * 1000);
    let session = app.login("ana@prov.com.br").await;
    let r = app.get(&session, "/app").send().await.unwrap();
    assert!(r.text().await.unwrap().contains("Ana"));

    // Logout ends the session on the server, not only in the browser.
    let r = app
        .http
        .post(app.url("/app/logout"))
        .header("cookie", format!("balcao_session={}", session.cookie))
        .form_body(&[("_csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get(&session, "/app").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn csrf_roles_and_bearer_tokens() {
    let app = start().await;
    app.user("ana@prov.com.br", "Ana", Role::Admin).await;
    let bia = app.user("bia@prov.com.br", "Bia", Role::Agent).await;
    let admin = app.login("ana@prov.com.br").await;
    let agent = app.login("bia@prov.com.br").await;

    // fetch() calls need the session's CSRF header; forms need the field.
    let body = json!({"option_number": 1, "name": "Financeiro"});
    let r = app
        .http
        .post(app.url("/api/v1/desk/queues"))
        .header("cookie", format!("balcao_session={}", admin.cookie))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "csrf");
    let r = app
        .http
        .post(app.url("/api/v1/desk/queues"))
        .header("cookie", format!("balcao_session={}", admin.cookie))
        .header("x-csrf-token", "outro")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (status, financeiro) = json_of(
        app.call(&admin, reqwest::Method::POST, "/api/v1/desk/queues")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{financeiro}");
    let r = app
        .http
        .post(app.url("/app/admin/queues"))
        .header("cookie", format!("balcao_session={}", admin.cookie))
        .form_body(&[("option_number", "2"), ("name", "Suporte"), ("active", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(app.url("/app/admin/queues"))
        .header("cookie", format!("balcao_session={}", admin.cookie))
        .form_body(&[
            ("option_number", "2"),
            ("name", "Suporte"),
            ("active", "1"),
            ("_csrf", admin.csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Roles: the agent reaches neither the board nor the configuration.
    assert_eq!(
        app.get(&agent, "/app/board").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&admin, "/app/board").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&agent, "/app/admin/queues")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&agent, "/api/v1/desk/users")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = app
        .call(&agent, reqwest::Method::POST, "/api/v1/desk/queues")
        .json(&json!({"option_number": 3, "name": "Vendas"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The automatic-messages form refuses a required message left empty, saying which.
    let mut form: Vec<(&str, &str)> = balcao_desk::AutoMessage::ALL
        .iter()
        .map(|m| (m.key(), m.default_text()))
        .collect();
    form.retain(|(k, _)| *k != "welcome");
    form.extend([
        ("welcome", "  "),
        ("grace_min", "10"),
        ("_csrf", admin.csrf.as_str()),
    ]);
    let r = app
        .http
        .post(app.url("/app/admin/messages"))
        .header("cookie", format!("balcao_session={}", admin.cookie))
        .form_body(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("A mensagem &#34;Boas-vindas&#34; é obrigatória."),
        "{html}"
    );
    assert_eq!(
        html.matches("é obrigatória").count(),
        2,
        "one in the summary, one by the field"
    );
    assert_eq!(app.store.desk_settings(app.ws).await.unwrap(), None);

    // An agent sees a conversation only in their queues (or assigned to them).
    let queue = QueueId(financeiro["id"].as_i64().unwrap());
    let conversation = app
        .inbound("5511987654321", "quero falar com o financeiro")
        .await;
    app.store
        .enter_desk(
            app.ws,
            conversation,
            DeskEntry {
                queue: Some(queue),
                summary: Some("Cliente pediu a segunda via".into()),
                handled_up_to: None,
                welcome: false,
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let path = format!("/api/v1/desk/conversations/{}", conversation.0);
    assert_eq!(
        app.get(&agent, &path).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let fragment = format!("/app/f/conversation/{}", conversation.0);
    assert_eq!(
        app.get(&agent, &fragment).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (status, v) = json_of(app.get(&admin, &path).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["conversation"]["summary"], "Cliente pediu a segunda via");
    assert_eq!(v["messages"][0]["text"], "quero falar com o financeiro");

    let r = app
        .call(
            &admin,
            reqwest::Method::PUT,
            &format!("/api/v1/desk/queues/{}/members", queue.0),
        )
        .json(&json!({"user_ids": [bia.id.0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A user token works without a session or CSRF, acts as its user, and dies when revoked.
    let (status, created) = json_of(
        app.call(&agent, reqwest::Method::POST, "/api/v1/desk/tokens")
            .json(&json!({"name": "integração"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap().to_owned();
    let bearer = |method: reqwest::Method, path: &str| {
        app.http.request(method, app.url(path)).bearer_auth(&token)
    };
    let (status, me) = json_of(
        bearer(reqwest::Method::GET, "/api/v1/desk/me")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["name"], "Bia");
    assert_eq!(me["user"]["queue_ids"], json!([queue.0]));
    let (status, v) = json_of(
        bearer(reqwest::Method::POST, "/api/v1/desk/presence/heartbeat")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "online");
    let (status, waiting) = json_of(
        bearer(
            reqwest::Method::GET,
            "/api/v1/desk/conversations?view=waiting",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        waiting["conversations"][0]["conversation_id"],
        conversation.0
    );
    assert_eq!(waiting["conversations"][0]["queue_name"], "Financeiro");
    // Replying before taking the conversation is refused; after claiming it works.
    let reply_path = format!("{path}/reply");
    let r = bearer(reqwest::Method::POST, &reply_path)
        .json(&json!({"text": "Olá!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (status, claimed) = json_of(
        bearer(reqwest::Method::POST, &format!("{path}/claim"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["state"], "assigned");
    assert_eq!(claimed["agent_name"], "Bia");
    let (status, sent) = json_of(
        bearer(reqwest::Method::POST, &reply_path)
            .json(&json!({"text": "Olá! Vou verificar sua fatura."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["text"], "Olá! Vou verificar sua fatura.");
    let (status, mine) = json_of(
        bearer(reqwest::Method::GET, "/api/v1/desk/conversations?view=mine")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        mine["conversations"][0]["first_response_at"].is_string(),
        "{mine}"
    );
    // Lists render for links with an empty conversation parameter too.
    let r = app
        .get(&agent, "/app/f/list?view=mine&c=")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Márcia"));
    // The agent's own conversation pane renders, with the bot summary and the reply.
    let html = app
        .get(&agent, &fragment)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Cliente pediu a segunda via") && html.contains("Vou verificar sua fatura"),
        "{html}"
    );
    // Agents cannot administer through a token either.
    assert_eq!(
        bearer(reqwest::Method::GET, "/api/v1/desk/users")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = bearer(
        reqwest::Method::DELETE,
        &format!("/api/v1/desk/tokens/{}", created["id"]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bearer(reqwest::Method::GET, "/api/v1/desk/me")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // The desk API is in the OpenAPI document.
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/desk/conversations/{id}/transfer"]["post"].is_object());
}

/// Reads the stream until an event named `name` arrives (or fails after 10 s).
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String, name: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(at) = buffer.find(&format!("event: {name}\n")) {
            let rest = &buffer[at..];
            if let Some(end) = rest.find("\n\n") {
                let event = rest[..end].to_owned();
                buffer.drain(..at + end + 2);
                return event;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {name} event; got {buffer:?}"))
            .unwrap()
            .expect("stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_stream_forwards_events_and_asks_for_a_resync() {
    let app = start().await;
    app.user("bia@prov.com.br", "Bia", Role::Agent).await;
    let agent = app.login("bia@prov.com.br").await;
    assert_eq!(
        app.http
            .get(app.url("/app/events"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER,
        "no stream without a session"
    );
    let mut stream = app.get(&agent, "/app/events").send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let conversation = app.inbound("5511912345678", "oi").await;
    let r = app
        .http
        .post(app.url(&format!(
            "/api/v1/conversations/{}/messages",
            conversation.0
        )))
        .bearer_auth(&app.api_token)
        .json(&json!({"content": {"type": "text", "body": "Olá"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut buffer = String::new();
    let event = next_event(&mut stream, &mut buffer, "message_out").await;
    let data: serde_json::Value = event
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_else(|| panic!("no JSON data in {event}"));
    assert_eq!(data["conversation_id"], json!(conversation.0), "{event}");
    // The bus's sequence and publication time ride along (freshness, `bench desk`).
    assert!(data["seq"].as_u64().is_some(), "{event}");
    assert!(data["at"].as_i64().is_some_and(|at| at > 0), "{event}");
    assert!(event.lines().any(|l| l.starts_with("id: ")), "{event}");

    // A reconnecting browser sends Last-Event-ID: nothing can be replayed, so "resync" first.
    let mut again = app
        .get(&agent, "/app/events")
        .header("last-event-id", "41")
        .send()
        .await
        .unwrap();
    let mut buffer = String::new();
    next_event(&mut again, &mut buffer, "resync").await;
}
