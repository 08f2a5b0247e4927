//! The demo's billing ladder: its approved templates (in the app's configuration and in the
//! simulator's registry), the demo provider's identity, and time travel — `balcao demo --clock
//! TIME` and `POST /api/v1/demo/clock` (`{"advance":"PT24H"}` or `{"to":"2026-11-23T09:00:00-03:00"}`),
//! which moves the clock and runs the ladder at once, so days of reminders play out in minutes.
//! Mounted by `demo.rs` only: a production server has no way to move its clock.

use crate::config::TemplateConfig;
use axum::Json;
use axum::http::StatusCode;
use balcao_domain::Millis;
use balcao_engine::OffsetClock;
use balcao_engine::ladder::{BusinessIdentity, LadderConfig, LadderRunner};
use balcao_ladder::PlanConfig;
use balcao_simulator::{SimTemplate, Simulator, TemplateButton};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// The demo provider as every ladder message identifies it (CDC art. 42-A).
pub fn demo_business() -> BusinessIdentity {
    BusinessIdentity {
        name: "Provedor Demonstração".into(),
        cnpj: "11.222.333/0001-81".into(),
        address: "Rua das Fibras, 100, Centro, São Paulo/SP".into(),
    }
}

/// The ladder settings of the demo (default ladders, the demo's identity).
pub fn demo_ladder_config() -> LadderConfig {
    LadderConfig {
        business: demo_business(),
        ..LadderConfig::default()
    }
}

/// Readable bodies for the default ladders' templates; `{{n}}` follow each step's parameters.
fn ladder_body(name: &str) -> Option<&'static str> {
    Some(match name {
        "cobranca_lembrete_d5" => {
            "Olá {{1}}! Lembrete: sua fatura de {{2}} vence em {{3}}. Se já pagou, desconsidere. {{4}} · CNPJ {{5}} · {{6}}"
        }
        "cobranca_pagamento_d2" | "cobranca_bom_pagador_d2" => {
            "Olá {{1}}, sua fatura de {{2}} vence em {{3}}. Pix copia e cola: {{4}} Linha digitável: {{5}} {{6}} · CNPJ {{7}} · {{8}}"
        }
        "cobranca_vence_hoje" => {
            "{{1}}, sua fatura de {{2}} vence hoje. Pix copia e cola: {{3}} Linha digitável: {{4}} {{5}} · CNPJ {{6}} · {{7}}"
        }
        "cobranca_atraso_d1" | "cobranca_bom_pagador_d1" => {
            "{{1}}, não identificamos o pagamento da fatura de {{2}} com vencimento em {{3}}. Pix copia e cola: {{4}} {{5}} · CNPJ {{6}} · {{7}}"
        }
        "cobranca_negociacao_d3" => {
            "{{1}}, sua fatura de {{2}} está em atraso há {{3}} dias. Podemos negociar: toque em Negociar. {{4}} · CNPJ {{5}} · {{6}}"
        }
        "cobranca_ultimo_aviso_d7" | "cobranca_bom_pagador_d7" => {
            "Último aviso, {{1}}: a fatura de {{2}} com vencimento em {{3}} está em atraso há {{4}} dias. Pix copia e cola: {{5}} {{6}} · CNPJ {{7}} · {{8}}"
        }
        "cobranca_aviso_suspensao" => {
            "Aviso de suspensão, {{1}}. Motivo: {{2}}. Valor devido: {{3}} (vencimento {{4}}). Sem pagamento, o serviço será suspenso a partir de {{5}}. Após o pagamento, o serviço volta {{6}}. Pix copia e cola: {{7}} {{8}} · CNPJ {{9}} · {{10}}"
        }
        "cobranca_pagamento_confirmado" => {
            "Olá {{1}}! Recebemos o pagamento de {{2}}. Obrigado! Provedor Demonstração."
        }
        "cobranca_conexao_restabelecida" => {
            "{{1}}, sua conexão foi restabelecida. Se ainda estiver sem internet, desligue e ligue o roteador. Provedor Demonstração."
        }
        _ => return None,
    })
}

fn generic_body(params: usize) -> String {
    let values: Vec<String> = (1..=params).map(|i| format!("{{{{{i}}}}}")).collect();
    format!("Aviso de cobrança: {}", values.join(" · "))
}

/// The approved templates the ladders of `plan` use (step templates and their A/B variants),
/// plus the thank-you template: (app configuration, simulator registry) pairs, UTILITY.
pub fn ladder_templates(
    plan: &PlanConfig,
    config: &LadderConfig,
) -> Vec<(TemplateConfig, SimTemplate)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |name: &str, params: usize, buttons: Vec<TemplateButton>| {
        if !seen.insert(name.to_owned()) {
            return;
        }
        let body = ladder_body(name)
            .filter(|b| crate::app::count_placeholders(b) as usize == params)
            .map(str::to_owned)
            .unwrap_or_else(|| generic_body(params));
        out.push((
            TemplateConfig {
                name: name.into(),
                language: "pt_BR".into(),
                category: "UTILITY".into(),
                status: "APPROVED".into(),
                body: body.clone(),
            },
            SimTemplate {
                name: name.into(),
                language: "pt_BR".into(),
                category: "UTILITY".into(),
                status: "APPROVED".into(),
                header: None,
                body,
                footer: Some("Provedor Demonstração".into()),
                buttons,
            },
        ));
    };
    for ladder in plan.ladders.values() {
        for step in &ladder.steps {
            let buttons: Vec<TemplateButton> = step
                .template
                .buttons
                .iter()
                .map(|b| TemplateButton::QuickReply {
                    text: b.title.clone(),
                })
                .collect();
            let params = step.template.params.len();
            push(&step.template.name, params, buttons.clone());
            for variant in &step.variants {
                push(&variant.template, params, buttons.clone());
            }
        }
    }
    push(&config.thanks_template, 2, Vec::new());
    push(&config.restored_template, 1, Vec::new());
    out
}

/// What the clock endpoint needs: the clock, the simulator (whose timestamps and 24-hour
/// windows must move with it) and the ladder once the app has started (the route is mounted
/// before the runner exists).
#[derive(Clone, Default)]
pub struct DemoClock {
    pub clock: Arc<OffsetClock>,
    pub simulator: Option<Arc<Simulator>>,
    pub ladder: Arc<OnceLock<LadderRunner>>,
}

impl DemoClock {
    /// Moves the simulator's clock to this one's (so a subscriber's message sent "now" opens the
    /// 24-hour window at the demo's now, not at the real one).
    pub fn with_simulator(mut self, simulator: Arc<Simulator>) -> Self {
        let ahead = self.clock.offset();
        if ahead > 0 {
            simulator.advance_clock(std::time::Duration::from_millis(ahead as u64));
        }
        self.simulator = Some(simulator);
        self
    }

    /// Sets the clock to `target`. The simulator's clock only moves forward: moving back leaves it
    /// ahead (its messages then look newer than the app's now, which the demo tolerates).
    pub fn move_to(&self, target: Millis) {
        use balcao_engine::Clock;
        let delta = target - self.clock.now();
        self.clock.set(target);
        if let Some(simulator) = &self.simulator
            && delta > 0
        {
            simulator.advance_clock(std::time::Duration::from_millis(delta as u64));
        }
    }
}

/// Parses `--clock`: an RFC 3339 instant with its offset, "2026-11-23T09:00:00-03:00".
pub fn parse_instant(text: &str) -> Result<Millis, String> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| format!("horário inválido {text:?} (use 2026-11-23T09:00:00-03:00)"))
}

/// The clock's time in the demo's zone, "2026-11-24T09:00:00-03:00".
pub fn show(now: Millis) -> String {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = jiff::Timestamp::from_millisecond(now)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(tz);
    zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The clock after moving `now` by an ISO 8601 duration ("PT24H", "P1D", "-PT1H"); calendar
/// units are applied in the demo's zone.
pub fn advanced(now: Millis, duration: &str) -> Result<Millis, String> {
    let span: jiff::Span = duration
        .trim()
        .parse()
        .map_err(|_| format!("duração inválida {duration:?} (use ISO 8601, ex.: PT24H)"))?;
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = jiff::Timestamp::from_millisecond(now)
        .map_err(|_| "relógio fora do intervalo".to_string())?
        .to_zoned(tz);
    zoned
        .checked_add(span)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| "duração fora do intervalo".to_string())
}

async fn move_clock(demo: DemoClock, body: Value) -> (StatusCode, Json<Value>) {
    let bad = |message: String| (StatusCode::BAD_REQUEST, Json(json!({ "error": message })));
    use balcao_engine::Clock;
    let target = match (
        body.get("advance").and_then(Value::as_str),
        body.get("to").and_then(Value::as_str),
    ) {
        (Some(duration), None) => advanced(demo.clock.now(), duration),
        (None, Some(at)) => parse_instant(at),
        _ => Err(
            "informe \"advance\" (ex.: \"PT24H\") ou \"to\" (ex.: \"2026-11-23T09:00:00-03:00\")"
                .into(),
        ),
    };
    let target = match target {
        Ok(t) => t,
        Err(message) => return bad(message),
    };
    demo.move_to(target);
    // The ladder runs at once at the new time (its unique keys make a run racing the periodic
    // one harmless).
    let ran = match demo.ladder.get() {
        Some(ladder) => {
            ladder.run_all().await;
            true
        }
        None => false,
    };
    (
        StatusCode::OK,
        Json(json!({ "now": show(demo.clock.now()), "ladder_ran": ran })),
    )
}

/// `GET|POST /api/v1/demo/clock`: reads or moves the demo clock (demo mode only).
pub fn clock_route(demo: DemoClock) -> axum::Router {
    let read = demo.clone();
    axum::Router::new().route(
        "/api/v1/demo/clock",
        axum::routing::get(move || {
            let demo = read.clone();
            async move {
                use balcao_engine::Clock;
                Json(json!({ "now": show(demo.clock.now()) }))
            }
        })
        .post(move |Json(body): Json<Value>| {
            let demo = demo.clone();
            async move { move_clock(demo, body).await }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_ladder_template_is_approved_utility_with_the_step_parameter_count() {
        let plan = PlanConfig::default();
        let config = demo_ladder_config();
        let templates = ladder_templates(&plan, &config);
        for ladder in plan.ladders.values() {
            for step in &ladder.steps {
                let (app, sim) = templates
                    .iter()
                    .find(|(t, _)| t.name == step.template.name)
                    .unwrap_or_else(|| panic!("{} missing", step.template.name));
                assert_eq!(app.category, "UTILITY");
                assert_eq!(app.status, "APPROVED");
                assert_eq!(
                    crate::app::count_placeholders(&app.body) as usize,
                    step.template.params.len(),
                    "{}",
                    app.name
                );
                assert_eq!(sim.buttons.len(), step.template.buttons.len());
                assert!(
                    ladder_body(&app.name).is_some(),
                    "{} has a readable body",
                    app.name
                );
            }
        }
        let thanks = templates
            .iter()
            .find(|(t, _)| t.name == config.thanks_template)
            .expect("thank-you template");
        assert_eq!(crate::app::count_placeholders(&thanks.0.body), 2);
        let restored = templates
            .iter()
            .find(|(t, _)| t.name == config.restored_template)
            .expect("restoration template");
        assert_eq!(crate::app::count_placeholders(&restored.0.body), 1);
    }

    #[test]
    fn advancing_a_day_crosses_midnight_in_sao_paulo() {
        let start = parse_instant("2026-11-23T09:00:00-03:00").unwrap();
        assert_eq!(show(start), "2026-11-23T09:00:00-03:00");
        assert_eq!(
            show(advanced(start, "PT24H").unwrap()),
            "2026-11-24T09:00:00-03:00"
        );
        assert_eq!(
            show(advanced(start, "P2D").unwrap()),
            "2026-11-25T09:00:00-03:00"
        );
        assert!(advanced(start, "amanhã").is_err());
        assert!(parse_instant("23/11/2026").is_err());
    }

    proptest! {
        #[test]
        fn advancing_by_hours_moves_exactly_that_many_milliseconds(hours in -1000i64..1000) {
            let start = parse_instant("2026-11-23T09:00:00-03:00").unwrap();
            let sign = if hours < 0 { "-" } else { "" };
            let moved = advanced(start, &format!("{sign}PT{}H", hours.abs())).unwrap();
            prop_assert_eq!(moved - start, hours * 3_600_000);
        }
    }
}
