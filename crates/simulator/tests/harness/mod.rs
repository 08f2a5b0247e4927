//! A real-HTTP test bench: the simulator on 127.0.0.1:0 and a small axum "app" that records every
//! webhook it receives (raw bytes and headers) and checks signatures independently.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use balcao_simulator::{
    Behaviour, SimNumber, SimTemplate, Simulator, SimulatorConfig, TemplateButton, TemplateHeader,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET: &str = "segredo-do-app";
pub const TOKEN: &str = "token-de-acesso";
pub const VERIFY_TOKEN: &str = "verifica-123";
pub const PNID: &str = "100000000000001";
pub const DISPLAY: &str = "551140040000";
pub const WABA: &str = "200000000000001";

#[derive(Debug, Clone)]
pub struct Received {
    pub body: Vec<u8>,
    pub signature: String,
    pub json: Value,
}

#[derive(Default)]
pub struct AppState {
    pub received: Mutex<Vec<Received>>,
    /// Answer 500 to this many webhook POSTs before accepting again.
    pub fail_next: AtomicUsize,
    pub attempts: AtomicUsize,
}

pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn webhook(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    app.attempts.fetch_add(1, Ordering::SeqCst);
    if app
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "banco indisponível").into_response();
    }
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if signature != format!("sha256={}", hmac_hex(SECRET, &body)) {
        return (StatusCode::FORBIDDEN, "assinatura inválida").into_response();
    }
    let json: Value = serde_json::from_slice(&body).expect("webhook body is JSON");
    app.received.lock().unwrap().push(Received {
        body: body.to_vec(),
        signature,
        json,
    });
    StatusCode::OK.into_response()
}

async fn verify(Query(query): Query<HashMap<String, String>>) -> impl IntoResponse {
    let ok = query.get("hub.mode").map(String::as_str) == Some("subscribe")
        && query.get("hub.verify_token").map(String::as_str) == Some(VERIFY_TOKEN);
    match (ok, query.get("hub.challenge")) {
        (true, Some(challenge)) => (StatusCode::OK, challenge.clone()).into_response(),
        _ => StatusCode::FORBIDDEN.into_response(),
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{address}")
}

pub fn templates() -> Vec<SimTemplate> {
    let template = |name: &str, category: &str, status: &str, body: &str| SimTemplate {
        name: name.into(),
        language: "pt_BR".into(),
        category: category.into(),
        status: status.into(),
        header: None,
        body: body.into(),
        footer: None,
        buttons: vec![],
    };
    vec![
        SimTemplate {
            header: Some(TemplateHeader::Document),
            footer: Some("Provedor Teste".into()),
            buttons: vec![
                TemplateButton::QuickReply {
                    text: "Já paguei".into(),
                },
                TemplateButton::Url {
                    text: "Ver fatura".into(),
                    url: "https://provedor.example/f/{{1}}".into(),
                },
            ],
            ..template(
                "boleto_vencimento",
                "UTILITY",
                "APPROVED",
                "Olá {{1}}, sua fatura de {{2}} vence amanhã.",
            )
        },
        SimTemplate {
            header: Some(TemplateHeader::Text("Olá {{1}}".into())),
            ..template("boas_vindas", "UTILITY", "APPROVED", "Bem-vindo ao {{1}}!")
        },
        template(
            "promo",
            "MARKETING",
            "APPROVED",
            "Plano novo com 1 Gb por R$ 99,90.",
        ),
        template(
            "codigo",
            "AUTHENTICATION",
            "APPROVED",
            "Seu código é {{1}}.",
        ),
        template("pausado", "MARKETING", "PAUSED", "Pausado."),
        template("pendente", "UTILITY", "PENDING", "Ainda em análise."),
    ]
}

pub fn test_behaviour() -> Behaviour {
    Behaviour {
        status_delay_ms: 0,
        retry_base_delay_ms: 20,
        retry_max_attempts: 4,
        ..Behaviour::default()
    }
}

pub struct Harness {
    pub sim: Arc<Simulator>,
    pub sim_url: String,
    pub app: Arc<AppState>,
    pub app_url: String,
    pub http: reqwest::Client,
}

pub struct Options {
    pub throughput_mps: u32,
    pub behaviour: Behaviour,
    pub spawn_workers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            throughput_mps: 1000,
            behaviour: test_behaviour(),
            spawn_workers: true,
        }
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Harness {
        let app = Arc::new(AppState::default());
        let files = Router::new()
            .route(
                "/files/boleto.pdf",
                get(|| async { ([("content-type", "application/pdf")], "%PDF-1.4 boleto") }),
            )
            .route(
                "/files/missing.pdf",
                get(|| async { StatusCode::NOT_FOUND }),
            );
        let app_router = Router::new()
            .route("/webhooks/whatsapp", get(verify).post(webhook))
            .with_state(Arc::clone(&app))
            .merge(files);
        let app_url = serve(app_router).await;
        let sim = Simulator::new(SimulatorConfig {
            app_secret: SECRET.into(),
            access_token: TOKEN.into(),
            webhook_url: format!("{app_url}/webhooks/whatsapp"),
            numbers: vec![
                SimNumber {
                    phone_number_id: PNID.into(),
                    display_phone_number: DISPLAY.into(),
                    waba_id: WABA.into(),
                    throughput_mps: options.throughput_mps,
                },
                SimNumber {
                    phone_number_id: "100000000000002".into(),
                    display_phone_number: "551140040001".into(),
                    waba_id: "200000000000002".into(),
                    throughput_mps: options.throughput_mps,
                },
            ],
            templates: templates(),
            behaviour: options.behaviour,
            people: vec![balcao_simulator::DemoPerson {
                name: "Ana Demonstração".into(),
                wa_id: "5511987650099".into(),
                note: "fatura vencida".into(),
            }],
        });
        if options.spawn_workers {
            sim.spawn_workers();
        }
        let sim_url = serve(sim.router()).await;
        Harness {
            sim,
            sim_url,
            app,
            app_url,
            http: reqwest::Client::new(),
        }
    }

    pub async fn graph(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/graph/v23.0/{path}", self.sim_url))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A send to the default number with the right token.
    pub async fn send(&self, body: Value) -> (u16, Value) {
        self.graph(&format!("{PNID}/messages"), Some(TOKEN), &body)
            .await
    }

    pub async fn send_ok(&self, body: Value) -> String {
        let (status, response) = self.send(body).await;
        assert_eq!(status, 200, "send refused: {response}");
        response["messages"][0]["id"].as_str().unwrap().to_string()
    }

    pub async fn send_text(&self, to: &str, text: &str) -> String {
        self.send_ok(json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text","text":{"body":text}}))
            .await
    }

    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/simulator/api/{path}", self.sim_url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/simulator/api/{path}", self.sim_url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The subscriber writes; returns the inbound wamid.
    pub async fn inbound(&self, body: Value) -> String {
        let (status, response) = self.api_post("messages", &body).await;
        assert_eq!(status, 202, "inbound refused: {response}");
        response["id"].as_str().unwrap().to_string()
    }

    pub fn received(&self) -> Vec<Received> {
        self.app.received.lock().unwrap().clone()
    }

    /// Every status in every received envelope, in arrival order.
    pub fn statuses(&self) -> Vec<Value> {
        self.received()
            .iter()
            .flat_map(|r| values(&r.json, "statuses"))
            .collect()
    }

    pub fn statuses_of(&self, wamid: &str) -> Vec<Value> {
        self.statuses()
            .into_iter()
            .filter(|s| s["id"] == wamid)
            .collect()
    }

    pub fn status_names_of(&self, wamid: &str) -> Vec<String> {
        self.statuses_of(wamid)
            .iter()
            .map(|s| s["status"].as_str().unwrap().to_string())
            .collect()
    }

    /// Waits (bounded) until `wamid` has at least `count` statuses at the app.
    pub async fn wait_statuses(&self, wamid: &str, count: usize) -> Vec<Value> {
        wait_until(|| self.statuses_of(wamid).len() >= count).await;
        self.statuses_of(wamid)
    }

    pub async fn chat(&self, wa_id: &str) -> Value {
        let (status, chat) = self.api_get(&format!("chats/{wa_id}")).await;
        assert_eq!(status, 200, "chat {wa_id}: {chat}");
        chat
    }
}

/// Every item under `key` in every change of every entry.
pub fn values(envelope: &Value, key: &str) -> Vec<Value> {
    envelope["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["changes"].as_array().cloned().unwrap_or_default())
        .flat_map(|change| change["value"][key].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Polls a condition; fails the test if it stays false for 10 s (a bound, not a timing assertion).
pub async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached within 10 s");
}
