//! Test harness: the app and the simulator on one loopback listener, as in `balcao demo`, with a
//! fresh SQLite database (or PostgreSQL schema) per test.
#![allow(dead_code)]

pub mod webdriver;

use balcao::app::{self, Options, RunningApp};
use balcao::bench::TempDir;
use balcao::demo::{self, DemoSetup};
use balcao_simulator::Simulator;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Harness {
    pub addr: std::net::SocketAddr,
    pub api_token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub app: Option<RunningApp>,
    pub sim: Arc<Simulator>,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

impl Harness {
    /// The channel alone: no bot answers, so tests see exactly what they send.
    /// The channel alone: no bot, no desk.
    pub async fn start() -> Harness {
        let options = Options {
            bot: balcao_engine::bot::BotConfig {
                enabled: false,
                ..Default::default()
            },
            desk: false,
            ..Options::default()
        };
        Self::start_with(None, |_| {}, options).await
    }

    /// The channel and the service desk, without the bot: conversations enter the menu.
    pub async fn start_desk() -> Harness {
        let options = Options {
            bot: balcao_engine::bot::BotConfig {
                enabled: false,
                ..Default::default()
            },
            ..Options::default()
        };
        Self::start_with(None, |_| {}, options).await
    }

    pub async fn start_with(
        database_url: Option<String>,
        tweak: impl FnOnce(&mut DemoSetup),
        options: Options,
    ) -> Harness {
        let dir = TempDir::new("balcao-e2e");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut setup = demo::demo_setup(addr, dir.0.join("data"), database_url, None, 80);
        tweak(&mut setup);
        let store = app::open_store(setup.config.database_url.as_deref(), &setup.config.data_dir)
            .await
            .unwrap();
        let sim = Simulator::new(setup.simulator.clone());
        sim.spawn_workers();
        let extra = match options.extra_routes {
            Some(routes) => sim.router().merge(routes),
            None => sim.router(),
        };
        let options = Options {
            extra_routes: Some(extra),
            ..options
        };
        let running = app::start(&setup.config, store, listener, options)
            .await
            .unwrap();
        Harness {
            addr,
            api_token: setup.api_token.clone(),
            app_secret: setup.config.whatsapp.app_secret.clone(),
            verify_token: setup.config.whatsapp.verify_token.clone(),
            app: Some(running),
            sim,
            http: app::http_client(),
            dir,
        }
    }

    /// A harness whose workspace uses a fake management system of `system` over HTTP.
    pub async fn start_with_erp(
        system: &str,
        subscribers: usize,
    ) -> (Harness, balcao_erp_fake::RunningFake) {
        let fake = demo::start_fake_erp(system, subscribers, 7).await.unwrap();
        let options = Options {
            extra_routes: Some(demo::subscribers_route(fake.control.clone())),
            ..Options::default()
        };
        let h = Self::start_with(None, |setup| demo::attach_fake_erp(setup, &fake), options).await;
        (h, fake)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn store(&self) -> Arc<dyn balcao_store::Store> {
        self.app.as_ref().unwrap().store.clone()
    }

    pub async fn workspace(&self) -> balcao_domain::WorkspaceId {
        self.store()
            .workspace_by_slug("demo")
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// The subscriber types on the simulated phone; returns the wamid once the app answered 200.
    pub async fn phone_sends(&self, body: Value) -> String {
        let r = self
            .http
            .post(self.url("/simulator/api/messages"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::ACCEPTED, "simulator answered {v}");
        v["id"].as_str().expect("wamid").to_string()
    }

    pub async fn phone_says(&self, from: &str, name: &str, text: &str) -> String {
        self.phone_sends(json!({"from": from, "name": name, "text": text}))
            .await
    }

    pub async fn api_get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.api_token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(self.url(path))
            .bearer_auth(&self.api_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.api_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a raw webhook body, signed with the app secret unless `signature` is given.
    pub async fn post_webhook(&self, body: &[u8], signature: Option<Option<String>>) -> StatusCode {
        let mut req = self
            .http
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json");
        let sig = match signature {
            None => Some(balcao_whatsapp::signature::sign(
                self.app_secret.as_bytes(),
                body,
            )),
            Some(explicit) => explicit,
        };
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        req.body(body.to_vec()).send().await.unwrap().status()
    }

    pub async fn conversation_of(&self, wa_id: &str) -> Value {
        let (status, v) = self
            .api_get(&format!("/api/v1/conversations?wa_id={wa_id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let list = v["conversations"].as_array().unwrap();
        assert_eq!(
            list.len(),
            1,
            "expected exactly one conversation for {wa_id}: {v}"
        );
        list[0].clone()
    }

    pub async fn messages_of(&self, conversation_id: i64) -> Vec<Value> {
        let (status, v) = self
            .api_get(&format!("/api/v1/conversations/{conversation_id}/messages"))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["messages"].as_array().unwrap().clone()
    }

    pub async fn phone_chat(&self, wa_id: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.url(&format!("/simulator/api/chats/{wa_id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["messages"].as_array().cloned().unwrap_or_default()
    }
}

/// Polls `check` until it returns `Some`, or panics after `secs` seconds with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook envelope as Meta sends it, for a message or status value.
pub fn envelope(phone_number_id: &str, value_extra: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": demo::DEMO_DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    });
    for (k, v) in value_extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": demo::DEMO_WABA_ID, "changes": [{"field": "messages", "value": value}]}]})
}

pub fn text_message(from: &str, wamid: &str, body: &str) -> Value {
    json!({
        "contacts": [{"profile": {"name": "Teste"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": now_secs(), "type": "text", "text": {"body": body}}]
    })
}

pub fn now_secs() -> String {
    (balcao_domain::now_millis() / 1000).to_string()
}

/// The wall clock moved forward by an offset a test controls: lets a test step over the bot's
/// inactivity limits without sleeping (inject it with `Options::clock`).
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

impl balcao_engine::Clock for ShiftedClock {
    fn now(&self) -> balcao_domain::Millis {
        balcao_domain::now_millis() + self.offset_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Harness {
    /// [`Harness::start_with_erp`] with the given options (the subscribers route is added).
    pub async fn start_with_erp_options(
        system: &str,
        subscribers: usize,
        options: Options,
    ) -> (Harness, balcao_erp_fake::RunningFake) {
        let fake = demo::start_fake_erp(system, subscribers, 7).await.unwrap();
        let routes = demo::subscribers_route(fake.control.clone());
        let options = Options {
            extra_routes: Some(match options.extra_routes {
                Some(extra) => extra.merge(routes),
                None => routes,
            }),
            ..options
        };
        let h = Self::start_with(None, |setup| demo::attach_fake_erp(setup, &fake), options).await;
        (h, fake)
    }
}

/// The desk's cast for the desk tests: queues "Financeiro" (1) and "Suporte" (2), agents Ana
/// (Financeiro) and Bruno (Suporte), all with password [`DESK_PASSWORD`], and a quick reply
/// `/boleto` for every queue.
pub struct DeskCast {
    pub financeiro: balcao_store::QueueId,
    pub suporte: balcao_store::QueueId,
    pub ana: balcao_store::User,
    pub bruno: balcao_store::User,
}

pub const DESK_PASSWORD: &str = "senha-do-balcao";

impl Harness {
    pub async fn desk_cast(&self) -> DeskCast {
        use balcao_store::{
            Distribution, NewQuickReply, OptionNumber, OutOfHoursMode, QueueSettings, Role,
        };
        let store = self.store();
        let ws = self.workspace().await;
        let now = balcao_domain::now_millis();
        let agent = |email: &str, name: &str| balcao_web::session::NewStaff {
            email: email.into(),
            name: name.into(),
            role: Role::Agent,
            password: DESK_PASSWORD.into(),
            max_chats: None,
        };
        let ana = balcao_web::session::create_staff(
            store.as_ref(),
            ws,
            agent("ana@provedor.com.br", "Ana Souza"),
            now,
        )
        .await
        .unwrap();
        let bruno = balcao_web::session::create_staff(
            store.as_ref(),
            ws,
            agent("bruno@provedor.com.br", "Bruno Lima"),
            now,
        )
        .await
        .unwrap();
        let queue = |n: u32, name: &str| QueueSettings {
            option_number: OptionNumber::new(n).unwrap(),
            name: name.into(),
            active: true,
            distribution: Distribution::RoundRobin,
            hours: None,
            out_of_hours: OutOfHoursMode::Wait,
            fallback_queue_id: None,
            accept_timeout_secs: None,
        };
        let financeiro = store
            .create_queue(ws, &queue(1, "Financeiro"), now)
            .await
            .unwrap()
            .id;
        let suporte = store
            .create_queue(ws, &queue(2, "Suporte"), now)
            .await
            .unwrap()
            .id;
        store
            .set_queue_members(ws, financeiro, &[ana.id])
            .await
            .unwrap();
        store
            .set_queue_members(ws, suporte, &[bruno.id])
            .await
            .unwrap();
        store
            .create_quick_reply(
                ws,
                &NewQuickReply {
                    shortcut: "boleto".into(),
                    body: "Olá, {{primeiro_nome}}! Sua segunda via já está a caminho.".into(),
                    queue_id: None,
                    attachment_url: None,
                },
            )
            .await
            .unwrap();
        DeskCast {
            financeiro,
            suporte,
            ana,
            bruno,
        }
    }
}

/// Runs a future, turning a panic inside it into `None`: the WebDriver client panics on a
/// "stale element" error, which live pages (fragments swapped by the SSE stream) make a normal
/// event between finding an element and reading it.
async fn survive<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
    struct CatchUnwind<F>(std::pin::Pin<Box<F>>);
    impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
        type Output = Option<F::Output>;
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Self::Output> {
            let inner = self.0.as_mut();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
                Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Some(v)),
                Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
                Err(_) => std::task::Poll::Ready(None),
            }
        }
    }
    CatchUnwind(Box::pin(future)).await
}

/// Like `Browser::wait_for_text`, for live pages: an element replaced while being read is
/// looked up again (up to `secs` seconds).
pub async fn wait_for_live_text(
    b: &webdriver::Browser,
    css: &str,
    needle: &str,
    secs: u64,
) -> webdriver::Element {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        for e in b.find_all(css).await {
            if let Some(text) = survive(b.text(&e)).await
                && text.contains(needle)
            {
                return e;
            }
        }
        assert!(Instant::now() < deadline, "no {css} containing {needle:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks an element of a live page, finding it again if it was replaced meanwhile.
pub async fn click_live(b: &webdriver::Browser, css: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let e = wait_for_live_text(b, css, needle, 15).await;
        if survive(b.click(&e)).await.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "could not click {css} {needle:?}"
        );
    }
}
