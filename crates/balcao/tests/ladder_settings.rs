//! Per-workspace ladder settings and the customer list, over the whole app (real SQLite, the
//! real router): an invalid ladder is refused with its reason, a region is paused and resumed
//! from the admin page (and the planner then holds its reminders), a CSV with a bad CPF is
//! reported line by line and nothing is imported, agents are refused. Then the customer list
//! against the MK-Auth and Voalle fakes: `sync_customers` resolves the list and the receivables
//! listing, empty without it, returns the listed subscribers' open invoices.

mod common;

use balcao_domain::WorkspaceId;
use balcao_domain::br::{Document, DocumentKind};
use balcao_engine::ladder_settings::{self, PlanConfig, Planner};
use balcao_erp::{ConnectOptions, ErpAdapter, RateLimit, ResiliencePolicy, System, connect_with};
use balcao_erp_fake::{DataSet, FakeSystem, Faults};
use balcao_ladder::{InvoiceFacts, Param, StepKind};
use balcao_store::{LadderCustomerSource, LadderSettingsStore, Role, Store};
use balcao_web::session::{NewStaff, create_api_token, create_staff};
use common::{DESK_PASSWORD, Harness};
use jiff::ToSpan;
use jiff::civil::Date;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A harness with the desk, an admin and an agent, each with a bearer token.
struct App {
    h: Harness,
    ws: WorkspaceId,
    admin_token: String,
    agent_token: String,
    /// Never follows redirects: forms answer 303.
    http: reqwest::Client,
}

async fn start() -> App {
    let h = Harness::start_desk().await;
    let store = h.store();
    let ws = h.workspace().await;
    let now = balcao_domain::now_millis();
    let mut tokens = Vec::new();
    for (email, name, role) in [
        ("admin@provedor.com.br", "Ana Admin", Role::Admin),
        ("bruno@provedor.com.br", "Bruno Agente", Role::Agent),
    ] {
        let user = create_staff(
            store.as_ref(),
            ws,
            NewStaff {
                email: email.into(),
                name: name.into(),
                role,
                password: DESK_PASSWORD.into(),
                max_chats: None,
            },
            now,
        )
        .await
        .unwrap();
        let (_, token) = create_api_token(store.as_ref(), ws, user.id, "testes", now)
            .await
            .unwrap();
        tokens.push(token);
    }
    let agent_token = tokens.pop().unwrap();
    let admin_token = tokens.pop().unwrap();
    App {
        h,
        ws,
        admin_token,
        agent_token,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl App {
    fn call(&self, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.h.url(path))
            .bearer_auth(token)
    }

    async fn json(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = request.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Logs the admin in through the login form; returns (session cookie, CSRF token).
    async fn login_admin(&self) -> (String, String) {
        let page = self
            .http
            .get(self.h.url("/app/login"))
            .send()
            .await
            .unwrap();
        let login_cookie = set_cookie(&page, "balcao_login").expect("login cookie");
        let html = page.text().await.unwrap();
        let csrf = between(&html, "name=\"_csrf\" value=\"", "\"").expect("csrf field");
        let r = self
            .http
            .post(self.h.url("/app/login"))
            .header("cookie", format!("balcao_login={login_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("email", "admin@provedor.com.br"),
                ("password", DESK_PASSWORD),
                ("_csrf", &csrf),
                ("next", "/app"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "admin login");
        let cookie = set_cookie(&r, "balcao_session").expect("session cookie");
        let html = self.page(&cookie, "/app/admin/ladder").await.1;
        let csrf = between(&html, "name=\"csrf-token\" content=\"", "\"").unwrap();
        (cookie, csrf)
    }

    async fn page(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(self.h.url(path))
            .header("cookie", format!("balcao_session={cookie}"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn post_form(
        &self,
        cookie: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let r = self
            .http
            .post(self.h.url(path))
            .header("cookie", format!("balcao_session={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (r.status(), location, r.text().await.unwrap())
    }

    async fn stored(&self) -> Option<PlanConfig> {
        self.h
            .store()
            .ladder_settings(self.ws)
            .await
            .unwrap()
            .map(|s| serde_json::from_value(s.settings).unwrap())
    }
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let pair = v.to_str().ok()?.split(';').next()?;
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| value.to_owned())
    })
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

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

/// The default config with the suspension notice missing RGC art. 71's restoration time.
fn without_restoration_time() -> Value {
    let mut config = PlanConfig::default();
    for ladder in config.ladders.values_mut() {
        for step in &mut ladder.steps {
            if step.kind == StepKind::SuspensionNotice {
                step.template
                    .params
                    .retain(|p| *p != Param::RestorationTime);
            }
        }
    }
    serde_json::to_value(config).unwrap()
}

#[tokio::test]
async fn an_invalid_ladder_is_refused_with_its_reason_and_nothing_is_saved() {
    use reqwest::Method;
    let app = start().await;
    let (status, body) = app
        .json(app.call(&app.admin_token, Method::GET, "/api/v1/ladder/settings"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_value::<PlanConfig>(body).unwrap(),
        PlanConfig::default(),
        "the default ladder until the workspace saves its own"
    );

    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::PUT, "/api/v1/ladder/settings")
                .json(&without_restoration_time()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_ladder");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("não traz o que a Anatel exige (RGC art. 71)")
            && message.contains("prazo de religação após o pagamento"),
        "{message}"
    );
    assert_eq!(app.stored().await, None, "nothing saved");

    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::PUT, "/api/v1/ladder/settings")
                .header("content-type", "application/json")
                .body("{\"ladders\": "),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("JSON inválido")
    );

    let own = PlanConfig {
        repeat_defaulter_min_late: 2,
        ..PlanConfig::default()
    };
    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::PUT, "/api/v1/ladder/settings")
                .json(&own),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_value::<PlanConfig>(body).unwrap(), own);
    assert_eq!(app.stored().await, Some(own.clone()));
    let stored = app
        .h
        .store()
        .ladder_settings(app.ws)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.updated_by.as_deref(),
        Some("Ana Admin <admin@provedor.com.br>")
    );
    // What the runner will plan with.
    let effective =
        ladder_settings::plan_config_for(app.h.store().as_ref(), app.ws, &PlanConfig::default())
            .await
            .unwrap();
    assert_eq!(effective, own);

    // The admin page's editor refuses the same way, keeping what was typed.
    let (cookie, csrf) = app.login_admin().await;
    let typed = serde_json::to_string_pretty(&without_restoration_time()).unwrap();
    let (status, _, html) = app
        .post_form(
            &cookie,
            "/app/admin/ladder/json",
            &[("_csrf", &csrf), ("settings", &typed)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("RGC art. 71"), "the reason is shown");
    assert_eq!(app.stored().await, Some(own));

    let (status, doc) = app.h.api_get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/api/v1/ladder/settings", "/api/v1/ladder/customers"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test]
async fn agents_are_refused_and_strangers_must_authenticate() {
    use reqwest::Method;
    let app = start().await;
    for (method, path) in [
        (Method::GET, "/api/v1/ladder/settings"),
        (Method::PUT, "/api/v1/ladder/settings"),
        (Method::GET, "/api/v1/ladder/customers"),
        (Method::POST, "/api/v1/ladder/customers"),
        (Method::DELETE, "/api/v1/ladder/customers"),
    ] {
        let body = json!({"all": true}).to_string();
        let (status, answer) = app
            .json(
                app.call(&app.agent_token, method.clone(), path)
                    .header("content-type", "application/json")
                    .body(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(answer["error"]["code"], "forbidden");
        let r = app
            .http
            .request(method.clone(), app.h.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_eq!(app.stored().await, None);
    // The admin's session without the CSRF header is refused too.
    let (cookie, _) = app.login_admin().await;
    let r = app
        .http
        .put(app.h.url("/api/v1/ladder/settings"))
        .header("cookie", format!("balcao_session={cookie}"))
        .json(&PlanConfig::default())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

fn invoice_in(city: &str, due: Date) -> InvoiceFacts {
    InvoiceFacts {
        invoice_id: "inv-1".into(),
        customer_id: "c-1".into(),
        contract_id: None,
        due,
        amount_cents: 9_990,
        person: DocumentKind::Cpf,
        plan_value_cents: None,
        city: Some(city.into()),
        region: None,
        late_payments_last_12m: 1,
        paid: false,
        suspended: false,
        opted_out: false,
        has_wa_id: true,
        time_zone: None,
    }
}

/// The skip reasons the planner gives an invoice in `city` due today, with the workspace's
/// settings.
async fn skips_for(app: &App, city: &str) -> Vec<&'static str> {
    let config =
        ladder_settings::plan_config_for(app.h.store().as_ref(), app.ws, &PlanConfig::default())
            .await
            .unwrap();
    let planner = Planner::new(&config).unwrap();
    let now = jiff::Timestamp::now();
    let today = now.in_tz("America/Sao_Paulo").unwrap().date();
    let invoice = invoice_in(city, today);
    let plan = planner.plan(
        now,
        [&invoice],
        &|_: &str, _: &str| false,
        &|_: &str, _: Date| false,
    );
    plan.skips.iter().map(|s| s.reason.code()).collect()
}

#[tokio::test]
async fn a_region_is_paused_and_resumed_from_the_admin_page() {
    let app = start().await;
    let store = app.h.store();
    let now = balcao_domain::now_millis();
    let row = |invoice: &str, city: &str| balcao_store::NewReceivable {
        invoice_id: invoice.into(),
        customer_id: format!("c-{invoice}"),
        customer_name: "Cliente".into(),
        contract_id: None,
        due: jiff::civil::date(2026, 11, 28),
        amount_cents: 100,
        person: None,
        plan_value_cents: None,
        city: Some(city.into()),
        region: None,
        late_payments_last_12m: 0,
        suspended: false,
        wa_id: None,
        time_zone: None,
    };
    store
        .upsert_receivables(
            app.ws,
            &[row("1", "Franca"), row("2", "Franca"), row("3", "Batatais")],
            now,
        )
        .await
        .unwrap();
    let (cookie, csrf) = app.login_admin().await;
    let (status, html) = app.page(&cookie, "/app/admin/ladder").await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Régua de cobrança",
        "cobranca_aviso_suspensao",
        "Bom pagador",
        "Nenhuma região pausada.",
        "Franca",
    ] {
        assert!(html.contains(text), "the page shows {text:?}");
    }
    assert!(!skips_for(&app, "Franca").await.contains(&"paused_region"));

    // Without the form's CSRF token nothing happens.
    let (status, _, _) = app
        .post_form(
            &cookie,
            "/app/admin/ladder/pause",
            &[("kind", "city"), ("name", "Franca")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.stored().await, None);

    // The outage: one click on the city's "Pausar".
    let (status, location, _) = app
        .post_form(
            &cookie,
            "/app/admin/ladder/pause",
            &[("_csrf", &csrf), ("kind", "city"), ("name", "Franca")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/app/admin/ladder?ok=paused"));
    assert_eq!(app.stored().await.unwrap().paused.cities, ["Franca"]);
    assert_eq!(skips_for(&app, "Franca").await, ["paused_region"]);
    assert!(!skips_for(&app, "Batatais").await.contains(&"paused_region"));
    let (_, html) = app.page(&cookie, "/app/admin/ladder?ok=paused").await;
    assert!(html.contains("Cobrança pausada nesse local"));
    let paused_table = between(&html, "<table id=\"paused\">", "</table>").unwrap();
    assert!(paused_table.contains("Franca") && paused_table.contains("Retomar"));

    // Resumed, whatever the spelling.
    let (status, _, _) = app
        .post_form(
            &cookie,
            "/app/admin/ladder/resume",
            &[("_csrf", &csrf), ("kind", "city"), ("name", "FRANCA")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.stored().await.unwrap().paused.cities.is_empty());
    assert!(!skips_for(&app, "Franca").await.contains(&"paused_region"));

    // Legal hours from the form: Saturday mornings too, a provider holiday.
    let weekday = "08:00-12:00, 13:00-18:00";
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("day_mon", weekday),
        ("day_tue", weekday),
        ("day_wed", weekday),
        ("day_thu", weekday),
        ("day_fri", weekday),
        ("day_sat", "09:00-12:00"),
        ("day_sun", ""),
        ("time_zone", "America/Manaus"),
        ("holidays", "2026-12-08 Nossa Senhora da Conceição"),
    ];
    let (status, _, _) = app
        .post_form(&cookie, "/app/admin/ladder/legal", &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let legal = app.stored().await.unwrap().legal;
    assert_eq!(legal.time_zone().name(), "America/Manaus");
    assert_eq!(legal.config().intervals.len(), 11);
    assert_eq!(legal.holidays().custom.len(), 1);
    fields.retain(|(k, _)| *k != "time_zone");
    fields.push(("time_zone", "America/Atlantida"));
    let (status, _, html) = app
        .post_form(&cookie, "/app/admin/ladder/legal", &fields)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("fuso horário desconhecido"));
    assert!(
        html.contains("America/Atlantida"),
        "what was typed comes back"
    );
}

#[tokio::test]
async fn a_csv_with_a_bad_cpf_is_reported_by_line_and_nothing_is_imported() {
    use reqwest::Method;
    let app = start().await;
    let store = app.h.store();
    let csv = "cpf;nome\n529.982.247-25;Maria\n390.533.447-06;João\n11.222.333/0001-81;Empresa\njoao.login;Zé\n";
    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::POST, "/api/v1/ladder/customers")
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_lines");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nada foi importado")
    );
    let lines = body["invalid_lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["text"], "390.533.447-06");
    assert_eq!(
        lines[0]["error"],
        "CPF inválido: dígito verificador não confere"
    );
    assert_eq!(
        store.ladder_customer_counts(app.ws).await.unwrap().total,
        0,
        "never half imported"
    );

    // The page's import form reports the same way.
    let (cookie, csrf) = app.login_admin().await;
    let (status, _, html) = app
        .post_form(
            &cookie,
            "/app/admin/ladder/customers",
            &[("_csrf", &csrf), ("csv", csv)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Linha 3: <code>390.533.447-06</code>"),
        "{html}"
    );

    // Fixed: imported (no system connected yet, so logins are accepted).
    let fixed = csv.replace("390.533.447-06", "390.533.447-05");
    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::POST, "/api/v1/ladder/customers")
                .header("content-type", "text/csv")
                .body(fixed),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"added": 4, "already_listed": 0, "repeated": 0, "total": 4})
    );
    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::POST, "/api/v1/ladder/customers")
                .json(&["52998224725", "111.444.777-35"]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"added": 1, "already_listed": 1, "repeated": 0, "total": 5})
    );
    let (_, list) = app
        .json(app.call(
            &app.admin_token,
            Method::GET,
            "/api/v1/ladder/customers?limit=2",
        ))
        .await;
    assert_eq!(list["counts"]["total"], 5);
    assert_eq!(list["counts"]["pending"], 5);
    assert_eq!(list["needs_list"], true);
    let entries: Vec<&str> = list["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["entry"].as_str().unwrap())
        .collect();
    assert_eq!(entries, ["11144477735", "11222333000181"]);
    assert_eq!(list["customers"][0]["source"], "api");
    assert_eq!(list["customers"][1]["source"], "import");
    assert_eq!(list["next_after"], "11222333000181");

    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::DELETE, "/api/v1/ladder/customers")
                .json(&json!({"entries": ["529.982.247-25"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"removed": 1, "total": 4}));

    // With Voalle connected, logins are refused: Voalle finds customers only by CPF/CNPJ.
    store
        .set_erp_connection(
            app.ws,
            "voalle",
            "http://127.0.0.1:9",
            "selado",
            balcao_domain::now_millis(),
        )
        .await
        .unwrap();
    let (status, body) = app
        .json(
            app.call(&app.admin_token, Method::POST, "/api/v1/ladder/customers")
                .json(&["maria.login"]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["invalid_lines"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Voalle não busca clientes por login")
    );
    let (status, html) = app.page(&cookie, "/app/admin/ladder").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<div class=\"big\" id=\"customers-total\">4</div>"));
    assert!(html.contains("Voalle"));
}

/// Larger than axum's default 2 MB body limit: a whole provider base in one upload.
#[tokio::test]
async fn a_large_csv_file_is_imported_whole() {
    let app = start().await;
    let lines = 200_000u32;
    let csv: String = (0..lines)
        .map(|i| {
            format!(
                "{}\n",
                balcao_domain::br::Cpf::from_base(1_000_000 + i).masked()
            )
        })
        .collect();
    assert!(csv.len() > 2 * 1024 * 1024);
    let (status, body) = app
        .json(
            app.call(
                &app.admin_token,
                reqwest::Method::POST,
                "/api/v1/ladder/customers",
            )
            .header("content-type", "text/csv")
            .body(csv),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], lines);
    assert_eq!(
        app.h
            .store()
            .ladder_customer_counts(app.ws)
            .await
            .unwrap()
            .total,
        u64::from(lines)
    );
}

// ---- the customer list against the MK-Auth and Voalle fakes ------------------------------------

const NO_LIMIT: RateLimit = RateLimit {
    per_minute: 1_000_000,
    burst: 100_000,
};

fn brazil_today() -> Date {
    jiff::Zoned::now()
        .in_tz("America/Sao_Paulo")
        .unwrap()
        .date()
}

async fn sync_yields_receivables(system: System, fake_system: FakeSystem) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let today = brazil_today();
    let data = DataSet::generate(40, 7, today);
    let fake = balcao_erp_fake::start(
        fake_system,
        data.clone(),
        Faults {
            rate_limit_per_minute: Some(0),
            ..Faults::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let adapter: Arc<dyn ErpAdapter> = connect_with(
        system,
        &fake.base_url,
        &fake.auth,
        &ConnectOptions {
            policy: ResiliencePolicy::default(),
            request_timeout: Duration::from_secs(10),
            rate_limit: Some(NO_LIMIT),
        },
    )
    .unwrap();
    assert!(!adapter.lists_receivables_in_bulk());
    let (from, until) = (today - 30.days(), today + 7.days());
    let owed = |s: &balcao_erp_fake::Subscriber| {
        s.invoices
            .iter()
            .filter(|i| i.status.is_unpaid() && from <= i.due_date && i.due_date <= until)
            .map(|i| i.id.to_string())
            .collect::<Vec<_>>()
    };
    // Subscribers with titles in the window; the last one is listed by login on MK-Auth.
    let followed: Vec<&balcao_erp_fake::Subscriber> = data
        .subscribers
        .iter()
        .filter(|s| Document::parse(&s.document).is_ok() && !owed(s).is_empty())
        .filter(|s| s.contracts.len() == 1)
        .take(4)
        .collect();
    assert_eq!(followed.len(), 4, "the data set has subscribers who owe");
    let mut lines: Vec<String> = followed[..3]
        .iter()
        .map(|s| Document::parse(&s.document).unwrap().masked())
        .collect();
    if system == System::MkAuth {
        lines.push(followed[3].contracts[0].login.clone());
    } else {
        lines.push(followed[3].document.clone());
    }
    // A valid CPF nobody has.
    lines.push("00000000191".into());
    let parsed = ladder_settings::parse_customer_csv(&lines.join("\n"), Some(system));
    assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);

    let store = balcao_store_sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let ws = store
        .create_workspace(balcao_store::NewWorkspace {
            slug: "prov".into(),
            name: "Provedor".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .unwrap()
        .id;
    let now = balcao_domain::now_millis();
    ladder_settings::add_customers(
        &store,
        ws,
        &parsed.entries,
        LadderCustomerSource::Import,
        now,
    )
    .await
    .unwrap();

    // What the runner passes today: nothing, so nothing is synced.
    assert!(
        adapter
            .receivables(from, until, &[])
            .await
            .unwrap()
            .is_empty()
    );

    let budget = ladder_settings::lookup_budget(system, Duration::from_secs(15 * 60));
    let customers = ladder_settings::sync_customers(&store, adapter.as_ref(), ws, now, budget)
        .await
        .unwrap();
    assert_eq!(
        customers.len(),
        4,
        "{system}: every listed subscriber found"
    );
    let rows = adapter.receivables(from, until, &customers).await.unwrap();
    let got: BTreeSet<String> = rows.iter().map(|r| r.invoice.erp_id.clone()).collect();
    let expected: BTreeSet<String> = followed.iter().flat_map(|s| owed(s)).collect();
    assert_eq!(
        got, expected,
        "{system}: the listed subscribers' open titles"
    );
    let counts = store.ladder_customer_counts(ws).await.unwrap();
    assert_eq!((counts.resolved, counts.with_error), (4, 1), "{system}");

    // The next run serves the list from the cache: no lookups, the same customers.
    let before = fake.control.request_count();
    let again = ladder_settings::sync_customers(&store, adapter.as_ref(), ws, now + 60_000, budget)
        .await
        .unwrap();
    assert_eq!(fake.control.request_count(), before, "{system}: cached");
    assert_eq!(again, customers);
}

#[tokio::test]
async fn sync_customers_feeds_receivables_on_mkauth() {
    sync_yields_receivables(System::MkAuth, FakeSystem::MkAuth).await;
}

#[tokio::test]
async fn sync_customers_feeds_receivables_on_voalle() {
    sync_yields_receivables(System::Voalle, FakeSystem::Voalle).await;
}
