//! The billing ladder's admin screens in headless Chromium: an admin signs in through the login
//! form, reads the default ladder's steps, pauses a city with one click during an outage and
//! resumes it (the stored settings follow), is refused an invalid ladder in the JSON editor
//! (the pt-BR reason shown, nothing saved), imports the customer list from a CSV file through
//! the page's script, and reads the ladder report. An agent is refused both pages.

mod common;

use balcao_domain::WorkspaceId;
use balcao_ladder::{Param, PlanConfig, StepKind};
use balcao_store::{LadderSendStatus, NewLadderSend, NewReceivable, Role};
use balcao_web::session::{NewStaff, create_api_token, create_staff};
use common::webdriver::{Browser, browser_available};
use common::*;
use jiff::ToSpan;
use jiff::civil::Date;
use reqwest::StatusCode;
use serde_json::Value;

const ADMIN: &str = "admin@provedor.com.br";
const AGENT: &str = "bruno@provedor.com.br";

async fn see(b: &Browser, css: &str, needle: &str) -> String {
    let e = wait_for_live_text(b, css, needle, 20).await;
    b.text(&e).await
}

/// Opens `path`, which sends a visitor to the login form, and signs in there.
async fn log_in_to(b: &Browser, h: &Harness, email: &str, path: &str) {
    b.goto(&h.url(path)).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, DESK_PASSWORD).await;
    b.click(&b.find("#login").await).await;
}

async fn click(b: &Browser, css: &str) {
    b.click(&b.find(css).await).await;
}

/// The page's own label for a step's day: "D-5", "D0", "D+3".
fn day_label(offset: i32) -> String {
    match offset {
        0 => "D0".into(),
        n if n > 0 => format!("D+{n}"),
        n => format!("D{n}"),
    }
}

fn brazil_today() -> Date {
    jiff::Timestamp::now()
        .in_tz("America/Sao_Paulo")
        .unwrap()
        .date()
}

fn receivable(invoice: &str, city: &str) -> NewReceivable {
    NewReceivable {
        invoice_id: invoice.into(),
        customer_id: format!("c-{invoice}"),
        customer_name: "Cliente Teste".into(),
        contract_id: None,
        due: brazil_today(),
        amount_cents: 9_990,
        person: None,
        plan_value_cents: None,
        city: Some(city.into()),
        region: None,
        late_payments_last_12m: 0,
        suspended: false,
        wa_id: None,
        time_zone: None,
    }
}

/// An admin (with a bearer token, returned) and an agent.
async fn staff(h: &Harness, ws: WorkspaceId) -> String {
    let store = h.store();
    let now = balcao_domain::now_millis();
    let mut admin = None;
    for (email, name, role) in [
        (ADMIN, "Ana Admin", Role::Admin),
        (AGENT, "Bruno Agente", Role::Agent),
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
        if role == Role::Admin {
            admin = Some(user);
        }
    }
    create_api_token(store.as_ref(), ws, admin.unwrap().id, "testes", now)
        .await
        .unwrap()
        .1
}

/// The settings as `GET /api/v1/ladder/settings` answers the admin.
async fn api_settings(h: &Harness, token: &str) -> PlanConfig {
    let r = h
        .http
        .get(h.url("/api/v1/ladder/settings"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    serde_json::from_value(r.json::<Value>().await.unwrap()).unwrap()
}

async fn stored_settings(h: &Harness, ws: WorkspaceId) -> Option<Value> {
    h.store()
        .ladder_settings(ws)
        .await
        .unwrap()
        .map(|s| s.settings)
}

/// A short ladder for the JSON editor (typing into a page costs one key event a character):
/// the default ladder's suspension notice alone, with or without the restoration time RGC
/// art. 71 requires, and Batatais paused — a refused save must not pause it.
fn suspension_only(with_restoration_time: bool) -> PlanConfig {
    let default = PlanConfig::default();
    let mut ladder = default.ladders[&default.default_ladder].clone();
    ladder
        .steps
        .retain(|s| s.kind == StepKind::SuspensionNotice);
    assert_eq!(ladder.steps.len(), 1);
    let template = &mut ladder.steps[0].template;
    template.buttons.clear();
    if !with_restoration_time {
        template.params.retain(|p| *p != Param::RestorationTime);
    }
    let mut config = PlanConfig {
        ladders: [(default.default_ladder.clone(), ladder)].into(),
        rules: Vec::new(),
        ..default
    };
    config.paused.cities.push("Batatais".into());
    config
}

/// The config as typed into the editor: what has a default (legal hours...) left out.
fn typed(config: &PlanConfig) -> String {
    let mut value = serde_json::to_value(config).unwrap();
    let object = value.as_object_mut().unwrap();
    object.retain(|key, _| ["ladders", "default_ladder", "paused"].contains(&key.as_str()));
    value.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_ladder_screens_and_an_agent_is_refused() {
    if !browser_available() {
        return;
    }
    let h = Harness::start_desk().await;
    let ws = h.workspace().await;
    let token = staff(&h, ws).await;
    let store = h.store();
    let now = balcao_domain::now_millis();
    // The snapshot: open invoices in two cities, so the page offers them for one-click pausing.
    store
        .upsert_receivables(
            ws,
            &[
                receivable("1", "Franca"),
                receivable("2", "Franca"),
                receivable("3", "Batatais"),
            ],
            now,
        )
        .await
        .unwrap();
    // Yesterday's D-5 could not go out: the report shows it.
    store
        .record_ladder_send(
            ws,
            &NewLadderSend {
                invoice_id: "3".into(),
                customer_id: "c-3".into(),
                step_key: "d-5".into(),
                status: LadderSendStatus::Failed,
                variant: None,
                local_date: brazil_today().checked_sub(1.day()).unwrap(),
                detail: Some("modelo cobranca_lembrete_d5 não aprovado".into()),
            },
            None,
            now,
        )
        .await
        .unwrap();

    let admin = Browser::start().await;
    log_in_to(&admin, &h, ADMIN, "/app/admin/ladder").await;
    see(&admin, "#reguas h2", "Régua de cobrança").await;
    see(&admin, "#ladder-source", "Régua padrão do Balcão").await;

    // The default ladder comes first, its steps in day order with their templates.
    let default = PlanConfig::default();
    let steps = &default.ladders[&default.default_ladder].steps;
    assert!(steps.len() >= 6, "the default ladder has its steps");
    let rows = admin.find_all(".ladder-steps tbody tr").await;
    assert!(rows.len() >= steps.len());
    for (row, step) in rows.iter().zip(steps) {
        let text = admin.text(row).await;
        let day = day_label(step.offset_days);
        assert!(
            text.starts_with(&format!("{day} ")) && text.contains(&step.template.name),
            "step {} shows {day} and {}: {text:?}",
            step.key,
            step.template.name
        );
    }
    let first = admin.text(&rows[0]).await;
    assert!(first.contains("D-5") && first.contains("cobranca_lembrete_d5"));
    see(&admin, ".ladder-steps td", "cobranca_aviso_suspensao").await;
    see(&admin, "#segmentos td", "bom pagador").await;
    see(&admin, "#paused td", "Nenhuma região pausada.").await;

    // The outage: one click on Franca's "Pausar".
    let franca = see(&admin, "#places tbody tr", "Franca").await;
    assert!(
        franca.contains("Franca 2") && !franca.contains("pausada"),
        "{franca}"
    );
    click(
        &admin,
        "#places form:has(input[name=\"name\"][value=\"Franca\"]) button",
    )
    .await;
    see(&admin, "#flash", "Cobrança pausada nesse local").await;
    see(&admin, "#paused td", "Franca").await;
    let franca = see(&admin, "#places tbody tr", "Franca").await;
    assert!(franca.contains("pausada"), "{franca}");
    let batatais = see(&admin, "#places tbody tr", "Batatais").await;
    assert!(!batatais.contains("pausada"), "{batatais}");
    let settings = api_settings(&h, &token).await;
    assert_eq!(settings.paused.cities, ["Franca"]);
    assert!(settings.paused.regions.is_empty());

    // The network is back: "Retomar" in the paused list.
    click(
        &admin,
        "#paused form:has(input[name=\"name\"][value=\"Franca\"]) button",
    )
    .await;
    see(&admin, "#flash", "Cobrança retomada nesse local").await;
    see(&admin, "#paused td", "Nenhuma região pausada.").await;
    assert!(api_settings(&h, &token).await.paused.cities.is_empty());

    // The JSON editor refuses a suspension notice without RGC art. 71's content.
    let before = stored_settings(&h, ws).await;
    assert!(before.is_some(), "the pause and resume saved the settings");
    let editor = admin.find("#json textarea[name=\"settings\"]").await;
    assert!(
        admin
            .text(&editor)
            .await
            .contains("cobranca_aviso_suspensao")
    );
    admin.clear(&editor).await;
    admin
        .type_into(&editor, &typed(&suspension_only(false)))
        .await;
    click(&admin, "#json button[type=\"submit\"]").await;
    let error = see(&admin, "#json #form-error", "RGC art. 71").await;
    assert!(
        error.contains("não traz o que a Anatel exige")
            && error.contains("prazo de religação após o pagamento"),
        "{error}"
    );
    // The editor is at the bottom of a long page: the error takes the focus, so it is on
    // screen (and read out) instead of above the fold.
    admin.find("#json #form-error:focus").await;
    let editor = admin.find("#json textarea[name=\"settings\"]").await;
    assert!(
        admin.text(&editor).await.contains("Batatais"),
        "what was typed comes back to be fixed"
    );
    see(&admin, "#paused td", "Nenhuma região pausada.").await;
    assert_eq!(stored_settings(&h, ws).await, before, "nothing saved");
    assert!(api_settings(&h, &token).await.paused.cities.is_empty());

    // Fixed, it is saved (Batatais paused with it).
    let fixed = suspension_only(true);
    admin.clear(&editor).await;
    admin.type_into(&editor, &typed(&fixed)).await;
    click(&admin, "#json button[type=\"submit\"]").await;
    see(&admin, "#flash", "Régua salva.").await;
    see(&admin, "#paused td", "Batatais").await;
    assert_eq!(api_settings(&h, &token).await, fixed);
    let saved = stored_settings(&h, ws).await;

    // The customer list from a CSV file, through the page's script: a bad CPF is reported by
    // line and nothing is imported; the fixed file is.
    let bad = h.dir.0.join("clientes-erro.csv");
    std::fs::write(
        &bad,
        "cpf;nome\n529.982.247-25;Maria\n390.533.447-06;João\n",
    )
    .unwrap();
    admin
        .type_into(&admin.find("#csv-file").await, bad.to_str().unwrap())
        .await;
    let result = see(&admin, "#csv-result", "Linha 3: 390.533.447-06").await;
    assert!(
        result.contains("nada foi importado")
            && result.contains("CPF inválido: dígito verificador não confere"),
        "{result}"
    );
    assert_eq!(store.ladder_customer_counts(ws).await.unwrap().total, 0);
    let good = h.dir.0.join("clientes.csv");
    std::fs::write(
        &good,
        "cpf;nome\n529.982.247-25;Maria\n390.533.447-05;João\n",
    )
    .unwrap();
    admin
        .type_into(&admin.find("#csv-file").await, good.to_str().unwrap())
        .await;
    see(
        &admin,
        "#flash",
        "Lista importada: 2 novo(s), 0 já estava(m) na lista.",
    )
    .await;
    see(&admin, "#customers-total", "2").await;
    see(&admin, "#customers td", "52998224725").await;
    assert_eq!(store.ladder_customer_counts(ws).await.unwrap().total, 2);

    // The report, from the admin menu.
    click(&admin, "nav.subnav a[href=\"/app/admin/ladder/report\"]").await;
    see(&admin, ".panel h2", "Relatório da régua de cobrança").await;
    for heading in [
        "Por etapa e variante",
        "Teste A/B",
        "Por segmento",
        "Falhas por motivo",
        "Custo por categoria",
    ] {
        see(&admin, ".panel h2", heading).await;
    }
    let step = see(&admin, "#ladder-steps tbody tr", "d-5").await;
    assert!(step.starts_with("d-5 padrão 1 0 "), "{step}");
    let failure = see(&admin, "#ladder-failures tbody tr", "Não enviada").await;
    assert!(
        failure.contains("modelo cobranca_lembrete_d5 não aprovado") && failure.ends_with('1'),
        "{failure}"
    );
    see(
        &admin,
        "#ladder-ab td",
        "Nenhuma etapa com variantes no período.",
    )
    .await;
    if let Ok(path) = std::env::var("BALCAO_SCREENSHOT") {
        std::fs::write(path, admin.screenshot_png().await).unwrap();
    }
    // Its "JSON" link opens the API's report with the same session.
    click(&admin, ".panel a.btn[href^=\"/api/v1/ladder/report\"]").await;
    let json = see(&admin, "body", "\"step_key\":\"d-5\"").await;
    assert!(json.contains("\"from\":"), "{json}");

    // An agent is refused both screens.
    let agent = Browser::start().await;
    log_in_to(&agent, &h, AGENT, "/app/admin/ladder").await;
    see(&agent, "main h1", "Acesso negado").await;
    see(&agent, "main p", "apenas administradores").await;
    assert!(agent.find_all("#json textarea").await.is_empty());
    agent.goto(&h.url("/app/admin/ladder/report")).await;
    see(&agent, "main h1", "Acesso negado").await;
    assert!(agent.find_all("#ladder-steps").await.is_empty());
    assert_eq!(stored_settings(&h, ws).await, saved);
}
