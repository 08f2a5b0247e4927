//! Two nodes on one PostgreSQL schema: what happens on node A reaches the live inbox (SSE) of a
//! staff member logged in on node B, through the event-bus bridge (LISTEN/NOTIFY); when B's
//! listening connection is killed, B's streams get `resync` once it listens again, and events
//! flow again. Needs `BALCAO_TEST_POSTGRES_URL` (a fresh schema per test); skipped without it
//! unless `BALCAO_REQUIRE_POSTGRES=1`.

mod common;

use balcao::app::Options;
use balcao_store::Role;
use balcao_store_postgres::{LISTENER_APPLICATION_NAME, PgStore, channel_for_schema};
use balcao_web::session::{NewStaff, create_api_token, create_staff};
use common::{DESK_PASSWORD, Harness};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails (never a latency assertion).
const PATIENCE: Duration = Duration::from_secs(30);

struct SharedSchema {
    /// The database URL confining every connection to the schema.
    url: String,
    channel: String,
    store: PgStore,
}

async fn shared_schema() -> Option<SharedSchema> {
    let Ok(url) = std::env::var("BALCAO_TEST_POSTGRES_URL") else {
        if std::env::var("BALCAO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("BALCAO_REQUIRE_POSTGRES=1 but BALCAO_TEST_POSTGRES_URL is not set");
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: set BALCAO_TEST_POSTGRES_URL to run the cross-node tests"
        );
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "x_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let store = PgStore::connect_in_schema(&url, &schema)
        .await
        .expect("connect to the test PostgreSQL");
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(SharedSchema {
        url: format!("{url}{sep}options=-c%20search_path%3D{schema}"),
        channel: channel_for_schema(Some(&schema)),
        store,
    })
}

fn node_options() -> Options {
    Options {
        bot: balcao_engine::bot::BotConfig {
            enabled: false,
            ..Default::default()
        },
        ..Options::default()
    }
}

/// The backends LISTENing on the schema's channel, once there are `count` of them.
async fn listeners(admin: &sqlx::PgPool, channel: &str, count: usize) -> Vec<i32> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2",
        )
        .bind(LISTENER_APPLICATION_NAME)
        .bind(format!("LISTEN \"{channel}\""))
        .fetch_all(admin)
        .await
        .unwrap();
        if pids.len() == count {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} listeners on {channel}, found {pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Logs in through node `h`'s login form, as a browser does; returns the session cookie.
async fn browser_login(h: &Harness, http: &reqwest::Client, email: &str) -> String {
    let page = http.get(h.url("/app/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let login_cookie = set_cookie(&page, "balcao_login").expect("login cookie");
    let html = page.text().await.unwrap();
    let csrf = between(&html, "name=\"_csrf\" value=\"", "\"").expect("csrf field");
    let body = form(&[
        ("email", email),
        ("password", DESK_PASSWORD),
        ("_csrf", &csrf),
        ("next", "/app"),
    ]);
    let r = http
        .post(h.url("/app/login"))
        .header("cookie", format!("balcao_login={login_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login on node B");
    set_cookie(&r, "balcao_session").expect("session cookie")
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| value.to_owned())
    })
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

fn form(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An open `/app/events` stream, read event by event.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(h: &Harness, http: &reqwest::Client, cookie: &str) -> EventStream {
        let response = http
            .get(h.url("/app/events"))
            .header("cookie", format!("balcao_session={cookie}"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data (keep-alive comments skipped).
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if let Some(name) = name {
                    return (name, serde_json::from_str(&data).unwrap_or(Value::Null));
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("the event stream said nothing for 30 s")
                .expect("event stream failed")
                .expect("event stream ended");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads until an event called `name`; returns its data.
    async fn until(&mut self, name: &str) -> Value {
        loop {
            let (event, data) = self.next().await;
            if event == name {
                return data;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_reaches_the_live_inbox_of_another_and_a_lost_listener_resyncs() {
    let Some(schema) = shared_schema().await else {
        return;
    };
    let admin = sqlx::PgPool::connect(&schema.url).await.unwrap();

    let mut node_a = Harness::start_with(Some(schema.url.clone()), |_| {}, node_options()).await;
    let listener_a = listeners(&admin, &schema.channel, 1).await[0];
    let mut node_b = Harness::start_with(Some(schema.url.clone()), |_| {}, node_options()).await;
    let listener_b = listeners(&admin, &schema.channel, 2)
        .await
        .into_iter()
        .find(|pid| *pid != listener_a)
        .unwrap();

    // A supervisor (who also sees presence) uses the inbox on node B, and the API on node A.
    let store = node_a.store();
    let ws = node_a.workspace().await;
    let now = balcao_domain::now_millis();
    let email = "carla@provedor.com.br";
    let carla = create_staff(
        store.as_ref(),
        ws,
        NewStaff {
            email: email.into(),
            name: "Carla Dias".into(),
            role: Role::Supervisor,
            password: DESK_PASSWORD.into(),
            max_chats: None,
        },
        now,
    )
    .await
    .unwrap();
    let (_, token) = create_api_token(store.as_ref(), ws, carla.id, "teste", now)
        .await
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = browser_login(&node_b, &browser, email).await;
    let mut inbox_b = EventStream::open(&node_b, &browser, &cookie).await;

    let r = node_a
        .http
        .post(node_a.url("/api/v1/desk/team-messages"))
        .bearer_auth(&token)
        .json(&json!({"body": "Alguém cobre o Financeiro às 14h?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    inbox_b.until("team").await;

    // B's listening connection dies (a failover, a proxy's idle timeout): notifications sent
    // meanwhile are lost, so once B listens again its pages refetch everything.
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(listener_b)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(killed);
    inbox_b.until("resync").await;

    // And live updates flow again on the new connection.
    let r = node_a
        .http
        .put(node_a.url("/api/v1/desk/presence"))
        .bearer_auth(&token)
        .json(&json!({"away": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let presence = inbox_b.until("presence").await;
    assert_eq!(presence["user_id"], json!(carla.id.0));

    drop(inbox_b);
    node_b.app.take().unwrap().stop().await;
    node_a.app.take().unwrap().stop().await;
    admin.close().await;
    schema.store.drop_schema().await.unwrap();
}
