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
    pub async fn start() -> Harness {
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
