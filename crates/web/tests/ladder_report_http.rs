//! The billing ladder's report over real HTTP (SQLite store, the real routers on a loopback
//! port): the JSON endpoint with its roles and period checks, the configured prices reaching the
//! cost, the A/B verdict, the pt-BR page, and the route in the OpenAPI document.

use balcao_domain::outbound::OutboundContent;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{Pricing, StatusUpdate, WebhookBatch};
use balcao_domain::{Millis, NumberId, WaId, WorkspaceId};
use balcao_engine::Clock;
use balcao_engine::bus::EventBus;
use balcao_engine::erp::ErpDirectory;
use balcao_engine::ingest::{IngestConfig, Ingestor};
use balcao_engine::outbox::Outbox;
use balcao_engine::secrets::MasterKey;
use balcao_ladder::report::CategoryPrices;
use balcao_store::{
    LadderRecorded, LadderSendStatus, NewLadderSend, NewNumber, NewOutbound, NewReceivable,
    NewWorkspace, Role, SendOutcome, Store,
};
use balcao_store_sqlite::SqliteStore;
use balcao_web::ladder_report::LadderReportConfig;
use balcao_web::session::{NewStaff, create_api_token, create_staff};
use balcao_web::{AppState, DeskState, DeskWebConfig};
use jiff::civil::date;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::Arc;

const PHONE_NUMBER_ID: &str = "2099";
const PASSWORD: &str = "senha-forte-1";
/// 2026-11-23 12:00 UTC (09:00 in São Paulo), when the reminders were recorded.
const SENT_AT: Millis = 1_795_435_200_000;
const HOUR: Millis = 3_600_000;

struct FixedClock(Millis);

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        self.0
    }
}

struct App {
    base: String,
    http: reqwest::Client,
    supervisor_token: String,
    agent_token: String,
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Logs in through the form and returns the session cookie.
    async fn login(&self, email: &str) -> String {
        let r = self.http.get(self.url("/app/login")).send().await.unwrap();
        let login_cookie = cookie(r.headers(), "balcao_login").expect("login cookie");
        let body = serde_urlencoded::to_string([
            ("email", email),
            ("password", PASSWORD),
            ("_csrf", login_cookie.as_str()),
            ("next", "/app"),
        ])
        .unwrap();
        let r = self
            .http
            .post(self.url("/app/login"))
            .header("cookie", format!("balcao_login={login_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {email}");
        cookie(r.headers(), "balcao_session").expect("session cookie")
    }

    async fn page(&self, session: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", format!("balcao_session={session}"))
            .send()
            .await
            .unwrap()
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| value.to_owned())
    })
}

fn phone(i: usize) -> String {
    format!("55119{i:08}")
}

async fn seed(store: &dyn Store, ws: WorkspaceId, number: NumberId) {
    // Step d-2 in two arms of 40: 30 "curto" and 5 "longo" paid two hours after the reminder.
    let mut receivables = Vec::new();
    for i in 0..80 {
        receivables.push(NewReceivable {
            invoice_id: format!("inv-{i}"),
            customer_id: format!("c-{i}"),
            customer_name: format!("Cliente {i}"),
            contract_id: None,
            due: date(2026, 11, 25),
            amount_cents: 9990,
            person: None,
            plan_value_cents: None,
            city: None,
            region: None,
            // One late payment: a regular payer by default, a repeat defaulter by the
            // workspace's saved threshold of 1 (see `start`).
            late_payments_last_12m: u32::from(i == 1),
            suspended: false,
            wa_id: Some(WaId::parse(&phone(i)).unwrap()),
            time_zone: None,
        });
    }
    store
        .upsert_receivables(ws, &receivables, SENT_AT - 24 * HOUR)
        .await
        .unwrap();
    let mut first_message = None;
    for i in 0..80 {
        let variant = if i % 2 == 0 { "curto" } else { "longo" };
        let send = NewLadderSend {
            invoice_id: format!("inv-{i}"),
            customer_id: format!("c-{i}"),
            step_key: "d-2".into(),
            status: LadderSendStatus::Sent,
            variant: Some(variant.into()),
            local_date: date(2026, 11, 23),
            detail: None,
        };
        let outbound = NewOutbound {
            number_id: number,
            to: WaId::parse(&phone(i)).unwrap(),
            content: OutboundContent::Text {
                body: "Sua fatura vence em 2 dias".into(),
                preview_url: false,
            },
            idempotency_key: Some(format!("ladder:d-2:inv-{i}")),
            author: "ladder".into(),
        };
        let recorded = store
            .record_ladder_send(ws, &send, Some(outbound), SENT_AT)
            .await
            .unwrap();
        let LadderRecorded::Recorded { send, .. } = recorded else {
            panic!("recorded twice")
        };
        first_message.get_or_insert(send.message_id.unwrap());
        let paid = if variant == "curto" { i < 60 } else { i < 10 };
        if paid {
            assert!(
                store
                    .record_ladder_payment_time(ws, &format!("inv-{i}"), SENT_AT + 2 * HOUR)
                    .await
                    .unwrap()
            );
        }
    }
    store
        .record_ladder_send(
            ws,
            &NewLadderSend {
                invoice_id: "inv-0".into(),
                customer_id: "c-0".into(),
                step_key: "d0".into(),
                status: LadderSendStatus::Failed,
                variant: None,
                local_date: date(2026, 11, 25),
                detail: Some("modelo recusado".into()),
            },
            None,
            SENT_AT + 48 * HOUR,
        )
        .await
        .unwrap();
    // One reminder delivered and billed as utility.
    let message = first_message.unwrap();
    store
        .claim_outbound(number, SENT_AT, 1, 60_000)
        .await
        .unwrap();
    store
        .record_send_outcomes(
            &[SendOutcome::Accepted {
                message_id: message,
                wamid: "wamid.regua-0".into(),
                wa_id: None,
            }],
            SENT_AT,
        )
        .await
        .unwrap();
    let delivered = StatusUpdate {
        phone_number_id: PHONE_NUMBER_ID.into(),
        wamid: "wamid.regua-0".into(),
        status: DeliveryStatus::Delivered,
        timestamp: SENT_AT + 1000,
        recipient_id: Some(phone(0)),
        biz_opaque_callback_data: None,
        pricing: Some(Pricing {
            billable: Some(true),
            pricing_model: Some("PMP".into()),
            pricing_type: Some("regular".into()),
            category: Some("utility".into()),
        }),
        errors: vec![],
        raw: json!({}),
    };
    store
        .ingest(
            &[WebhookBatch {
                messages: vec![],
                statuses: vec![delivered],
                other: vec![],
            }],
            SENT_AT + 1000,
        )
        .await
        .unwrap();
}

async fn start() -> App {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().await.unwrap());
    store.migrate().await.unwrap();
    let ws = store
        .create_workspace(NewWorkspace {
            slug: "prov".into(),
            name: "Provedor".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .unwrap()
        .id;
    let number = store
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
        .unwrap()
        .id;
    seed(store.as_ref(), ws, number).await;
    balcao_engine::ladder_settings::save_plan_config(
        store.as_ref(),
        ws,
        &balcao_ladder::PlanConfig {
            repeat_defaulter_min_late: 1,
            ..balcao_ladder::PlanConfig::default()
        },
        None,
        SENT_AT,
    )
    .await
    .unwrap();
    let now = SENT_AT + 10 * 24 * HOUR;
    let mut tokens = Vec::new();
    for (email, role) in [
        ("sup@prov.com.br", Role::Supervisor),
        ("agente@prov.com.br", Role::Agent),
    ] {
        let user = create_staff(
            store.as_ref(),
            ws,
            NewStaff {
                email: email.into(),
                name: email.into(),
                role,
                password: PASSWORD.into(),
                max_chats: None,
            },
            now,
        )
        .await
        .unwrap();
        let (_, token) = create_api_token(store.as_ref(), ws, user.id, "relatório", now)
            .await
            .unwrap();
        tokens.push(token);
    }
    let clock: balcao_engine::SharedClock = Arc::new(FixedClock(now));
    let bus = EventBus::default();
    let key = MasterKey::from_hex(&"11".repeat(32)).unwrap();
    let app = AppState {
        store: store.clone(),
        clock: clock.clone(),
        bus: bus.clone(),
        ingestor: Ingestor::spawn(
            store.clone(),
            clock.clone(),
            bus.clone(),
            IngestConfig::default(),
        ),
        outbox: Outbox::new(store.clone(), clock.clone(), bus.clone()),
        graph: balcao_whatsapp::client::GraphClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9",
            "v23.0",
        ),
        access_tokens: Default::default(),
        app_secret: Arc::new(b"segredo".to_vec()),
        verify_token: Arc::new("v".into()),
        metrics: None,
        auth_cache: Default::default(),
        erp: ErpDirectory::new(store.clone(), Arc::new(key), clock.clone()),
    };
    let desk = balcao_engine::desk::Desk::new(
        store.clone(),
        app.outbox.clone(),
        app.clock.clone(),
        bus.clone(),
    );
    let mut prices = CategoryPrices::default();
    prices.0.insert("utility".into(), 10.0);
    let router = balcao_web::router(app.clone())
        .merge(balcao_web::desk_router(DeskState {
            app,
            desk,
            config: DeskWebConfig::default(),
        }))
        .layer(axum::Extension(Arc::new(LadderReportConfig {
            prices,
            ..LadderReportConfig::default()
        })));
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
    let agent_token = tokens.pop().unwrap();
    let supervisor_token = tokens.pop().unwrap();
    App {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        supervisor_token,
        agent_token,
    }
}

const PERIOD: &str = "/api/v1/ladder/report?from=2026-11-20&to=2026-11-30";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_endpoint_counts_compares_and_prices() {
    let app = start().await;
    let r = app.get(Some(&app.supervisor_token), PERIOD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("2026-11-20"), Some("2026-11-30"))
    );
    let steps = body["steps"].as_array().unwrap();
    let arm = |variant: &str| {
        steps
            .iter()
            .find(|s| s["step_key"] == "d-2" && s["variant"] == variant)
            .unwrap_or_else(|| panic!("arm {variant}: {steps:?}"))
    };
    assert_eq!(arm("curto")["sent"], 40);
    assert_eq!(arm("curto")["paid_24h"], 30);
    assert_eq!(arm("curto")["rates"]["paid_24h"], 0.75);
    assert_eq!(arm("longo")["paid_7d"], 5);
    assert_eq!(arm("curto")["delivered"], 1);
    let d0 = steps.iter().find(|s| s["step_key"] == "d0").unwrap();
    assert_eq!(d0["sent"], 0);
    assert_eq!(d0["failures"][0]["kind"], "not_queued");
    assert_eq!(d0["failures"][0]["reason"], "modelo recusado");
    // Steps in ladder order.
    assert_eq!(steps.last().unwrap()["step_key"], "d0");

    let ab = body["ab_tests"].as_array().unwrap();
    assert_eq!(ab.len(), 3, "one step with arms, three horizons");
    assert_eq!(ab[0]["winner"], "curto");
    assert_eq!(ab[0]["significant"], true);
    assert!(ab[0]["confidence"].as_f64().unwrap() > 0.99);

    // The configured price: one delivered utility message at 10 cents.
    assert_eq!(
        body["costs"],
        json!([{"category": "utility", "messages": 1, "unit_cents": 10.0, "cost_cents": 10}])
    );
    assert_eq!(body["total_cost_cents"], 10);
    // Segments come from the snapshot (due in 2 days; late payments against the workspace's
    // own repeat-defaulter threshold).
    let segments: Vec<(Value, Value, Value)> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step_key"] == "d-2")
        .map(|s| {
            (
                s["segment"].clone(),
                s["variant"].clone(),
                s["sent"].clone(),
            )
        })
        .collect();
    let due_soon = |behaviour: &str| json!({"timing": "due_soon", "behaviour": behaviour});
    assert_eq!(
        segments,
        vec![
            (due_soon("good_payer"), json!("curto"), json!(40)),
            (due_soon("good_payer"), json!("longo"), json!(39)),
            (due_soon("repeat_defaulter"), json!("longo"), json!(1)),
        ]
    );

    // A period without sends is an empty report, not an error.
    let r = app
        .get(
            Some(&app.supervisor_token),
            "/api/v1/ladder/report?from=2026-01-01&to=2026-01-31",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let empty: Value = r.json().await.unwrap();
    assert_eq!(empty["steps"], json!([]));
    assert_eq!(empty["total"]["records"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_for_supervisors_with_a_valid_period() {
    let app = start().await;
    assert_eq!(
        app.get(None, PERIOD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app.get(Some(&app.agent_token), PERIOD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let r = app
        .get(
            Some(&app.supervisor_token),
            "/api/v1/ladder/report?from=2026-11-30&to=2026-11-01",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_period");
    // Without a period: the last 30 days up to today (the clock is 10 days after the sends).
    let r = app
        .get(Some(&app.supervisor_token), "/api/v1/ladder/report")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["to"], "2026-12-03");
    assert_eq!(body["from"], "2026-11-04");
    assert_eq!(body["total"]["records"], 81);

    let doc: Value = app
        .get(None, "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/api/v1/ladder/report"]["get"].is_object(),
        "the route is documented"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_report_in_portuguese() {
    let app = start().await;
    let supervisor = app.login("sup@prov.com.br").await;
    let r = app
        .page(
            &supervisor,
            "/app/admin/ladder/report?from=2026-11-20&to=2026-11-30",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Relatório da régua"), "{html}");
    assert!(html.contains("75,0 %"), "curto paid within 24 h");
    assert!(html.contains("12,5 %"), "longo paid within 24 h");
    assert!(html.contains("Vencedora: curto (confiança"), "{html}");
    assert!(html.contains("modelo recusado"));
    assert!(
        html.contains("R$ 0,10"),
        "cost of the delivered utility message"
    );

    let r = app
        .page(
            &supervisor,
            "/app/admin/ladder/report?from=2026-11-30&to=2026-11-01",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("from deve ser anterior"));

    let agent = app.login("agente@prov.com.br").await;
    let r = app.page(&agent, "/app/admin/ladder/report").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
