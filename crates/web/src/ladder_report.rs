//! The billing ladder's report: `GET /api/v1/ladder/report?from=YYYY-MM-DD&to=YYYY-MM-DD`
//! (JSON, in the OpenAPI) and the page `/app/admin/ladder/report` ("Relatório da régua"), both for
//! supervisors and admins. Per step, segment and A/B arm: sent, delivered, read, replied, paid
//! within 24 h / 72 h / 7 days of the send, opt-outs, failures by reason and the estimated cost by
//! pricing category, with the A/B winner and its confidence.
//!
//! The store pages through the records ([`balcao_store::LadderMetricsStore`]); the maths is
//! `balcao_ladder::report`'s (pure). Prices (and the repeat-defaulter threshold of workspaces
//! without saved ladder settings) come from a [`LadderReportConfig`] layered as an `Extension`
//! (defaults without one).

use crate::DeskState;
use crate::error::{ApiError, ErrorBody};
use crate::session::Staff;
use crate::ui::{Chrome, PageError, PageStaff, brl, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::{Millis, WorkspaceId};
use balcao_engine::ladder_settings::LadderSettingsError;
use balcao_ladder::report::{
    self, CategoryPrices, Delivery, LadderReport, RecordFacts, RecordStatus, ReportBuilder,
};
use balcao_store::{
    LADDER_FOLLOW_UP_MILLIS, LadderFactsQuery, LadderSendFacts, LadderSendStatus, Store, StoreError,
};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// Records read per store page while building a report.
const PAGE_SIZE: u32 = 5000;
/// The longest period one report covers.
const MAX_DAYS: i32 = 366;
/// The period without `from`/`to`: the last 30 days, today included.
const DEFAULT_DAYS: i32 = 30;

/// What the report needs besides the data.
#[derive(Clone, Debug, PartialEq)]
pub struct LadderReportConfig {
    /// Price of a delivered billable message per pricing category, in BRL cents.
    pub prices: CategoryPrices,
    /// Late payments in 12 months from which a subscriber is a repeat defaulter, for workspaces
    /// without saved ladder settings (theirs is used otherwise, so segments read as the
    /// planner's).
    pub repeat_defaulter_min_late: u32,
}

impl Default for LadderReportConfig {
    fn default() -> Self {
        LadderReportConfig {
            prices: CategoryPrices::default(),
            repeat_defaulter_min_late: balcao_ladder::PlanConfig::default()
                .repeat_defaulter_min_late,
        }
    }
}

/// The API route and the page. Give them a config with
/// `.layer(Extension(Arc::new(LadderReportConfig { .. })))`; without one the defaults apply.
pub fn router() -> Router<DeskState> {
    Router::new()
        .route("/api/v1/ladder/report", get(api_report))
        .route("/app/admin/ladder/report", get(page))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_report),
    components(schemas(LadderReportDto)),
    tags((name = "ladder", description = "Régua de cobrança: relatório por etapa, segmento e variante"))
)]
pub struct LadderReportApiDoc;

type SharedConfig = Option<Extension<Arc<LadderReportConfig>>>;

fn config_of(config: &SharedConfig) -> Arc<LadderReportConfig> {
    config
        .as_ref()
        .map(|Extension(c)| c.clone())
        .unwrap_or_default()
}

// ---- building the report ----------------------------------------------------------------------

/// The report of the records whose subscriber-local day is in `from..=to`, read page by page.
pub async fn build_report(
    store: &dyn Store,
    workspace: WorkspaceId,
    from: Date,
    to: Date,
    config: &LadderReportConfig,
) -> Result<LadderReport, StoreError> {
    let query = LadderFactsQuery {
        from,
        to,
        follow_up_millis: LADDER_FOLLOW_UP_MILLIS,
    };
    let repeat_defaulter_min_late = repeat_defaulter_threshold(store, workspace, config).await?;
    let mut builder = ReportBuilder::new();
    let mut after = None;
    loop {
        let page = store
            .ladder_send_facts(workspace, &query, after, PAGE_SIZE)
            .await?;
        for facts in &page {
            builder.add(&record_facts(facts, repeat_defaulter_min_late));
        }
        match page.last() {
            Some(last) if page.len() == PAGE_SIZE as usize => {
                after = Some((last.local_date, last.id));
            }
            _ => break,
        }
    }
    Ok(builder.finish(&config.prices))
}

/// The workspace's own threshold when it saved ladder settings (segments then read as its
/// planner's), else the configured one. Saved settings that no longer validate fall back too:
/// the report still shows, with the default segmentation.
async fn repeat_defaulter_threshold(
    store: &dyn Store,
    workspace: WorkspaceId,
    config: &LadderReportConfig,
) -> Result<u32, StoreError> {
    let fallback = balcao_ladder::PlanConfig {
        repeat_defaulter_min_late: config.repeat_defaulter_min_late,
        ..balcao_ladder::PlanConfig::default()
    };
    match balcao_engine::ladder_settings::plan_config_for(store, workspace, &fallback).await {
        Ok(plan) => Ok(plan.repeat_defaulter_min_late),
        Err(LadderSettingsError::Store(err)) => Err(err),
        Err(LadderSettingsError::Invalid(reason)) => {
            tracing::warn!(%reason, "ladder report: saved settings invalid; default segments");
            Ok(config.repeat_defaulter_min_late)
        }
    }
}

fn timestamp(ms: Millis) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The store's row as the pure report reads it.
fn record_facts(facts: &LadderSendFacts, repeat_defaulter_min_late: u32) -> RecordFacts<'_> {
    let status = match facts.status {
        LadderSendStatus::Sent => RecordStatus::Sent,
        LadderSendStatus::Obsolete => RecordStatus::Obsolete,
        LadderSendStatus::SkippedPaid => RecordStatus::SkippedPaid,
        LadderSendStatus::Cancelled => RecordStatus::Cancelled,
        LadderSendStatus::Failed => RecordStatus::Failed,
    };
    let delivery = facts.delivery.map(|d| match d {
        DeliveryStatus::Delivered => Delivery::Delivered,
        DeliveryStatus::Read => Delivery::Read,
        DeliveryStatus::Failed => Delivery::Failed {
            code: facts.error_code,
            title: facts.error_title.as_deref(),
        },
        DeliveryStatus::Queued
        | DeliveryStatus::Sending
        | DeliveryStatus::Accepted
        | DeliveryStatus::Sent => Delivery::Pending,
    });
    let learned_at = match (facts.ladder_paid_at, facts.payment_recorded_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    RecordFacts {
        step_key: &facts.step_key,
        variant: facts.variant.as_deref(),
        segment: facts
            .due
            .zip(facts.late_payments_last_12m)
            .map(|(due, late)| {
                report::segment_of(facts.local_date, due, late, repeat_defaulter_min_late)
            }),
        status,
        detail: facts.detail.as_deref(),
        sent_at: timestamp(facts.recorded_at),
        delivery,
        billed_category: facts.pricing_category.as_deref().filter(|_| facts.billable),
        replied: facts.replied,
        opted_out: facts.opted_out,
        paid_at: report::payment_moment(
            facts.payment_paid_at.map(timestamp),
            learned_at.map(timestamp),
        ),
    }
}

// ---- the period -------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// First day (the subscriber's local date of the sends), `YYYY-MM-DD`; default 29 days
    /// before `to`.
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD`; default today (workspace time zone).
    pub to: Option<String>,
}

/// The period asked for, or why it cannot be (pt-BR).
fn period(query: &PeriodQuery, today: Date) -> Result<(Date, Date), String> {
    let parse = |field: &str, text: &Option<String>| -> Result<Option<Date>, String> {
        match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => t
                .parse::<Date>()
                .map(Some)
                .map_err(|_| format!("{field} deve ser uma data no formato AAAA-MM-DD")),
        }
    };
    let to = parse("to", &query.to)?.unwrap_or(today);
    let from = match parse("from", &query.from)? {
        Some(from) => from,
        None => to
            .checked_sub((DEFAULT_DAYS - 1).days())
            .map_err(|_| "data fora do intervalo".to_owned())?,
    };
    if from > to {
        return Err("from deve ser anterior ou igual a to".into());
    }
    let days = (to - from).get_days() + 1;
    if days > MAX_DAYS {
        return Err(format!(
            "o período pode ter no máximo {MAX_DAYS} dias (pedido: {days})"
        ));
    }
    Ok((from, to))
}

/// Today in the workspace's time zone.
async fn today(state: &DeskState, workspace: WorkspaceId) -> Result<Date, StoreError> {
    let tz = state
        .app
        .store
        .workspace(workspace)
        .await?
        .and_then(|ws| jiff::tz::TimeZone::get(&ws.time_zone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    Ok(timestamp(state.app.clock.now()).to_zoned(tz).date())
}

// ---- the API ----------------------------------------------------------------------------------

/// The report over a period.
#[derive(Serialize, ToSchema)]
pub struct LadderReportDto {
    pub from: String,
    pub to: String,
    /// How long after a send a reply or an opt-out counts for it.
    pub follow_up_days: i64,
    /// Per step and A/B arm, all segments together, in ladder order. Each entry: `step_key`,
    /// `variant` (null: the step's template), `records`, `sent`, `delivered`, `read`, `replied`,
    /// `paid_24h`, `paid_72h`, `paid_7d`, `opted_out`, `obsolete`, `cancelled`, `failures`
    /// (`kind` = not_queued | skipped_paid | delivery_failed, `reason`, `count`), `billable`
    /// (delivered billable messages by pricing category), `cost_cents`, and `rates` (each
    /// count ÷ sent, null before any send).
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<report::StepMetrics>,
    /// The same per step, segment (`{"timing": due_soon | overdue1_to3 | overdue4_to10 |
    /// overdue11_plus, "behaviour": good_payer | regular | repeat_defaulter}`) and arm.
    #[schema(value_type = Vec<Object>)]
    pub segments: Vec<report::StepMetrics>,
    /// Every record of the period together.
    #[schema(value_type = Object)]
    pub total: report::StepMetrics,
    /// For each step with two or more arms and each horizon (hours24, hours72, days7): the arms
    /// best first, `winner`, `z_score`, `confidence` (0–1) and `significant` (95 % and at least
    /// 30 sends per arm; until then there is not enough data).
    #[schema(value_type = Vec<Object>)]
    pub ab_tests: Vec<report::AbResult>,
    /// Delivered billable messages per pricing category, the unit price used (BRL cents) and
    /// the cost (an estimate: the invoice from Meta is authoritative).
    #[schema(value_type = Vec<Object>)]
    pub costs: Vec<report::CategoryCost>,
    pub total_cost_cents: i64,
}

#[utoipa::path(get, path = "/api/v1/ladder/report", tag = "ladder", params(PeriodQuery),
    description = "Billing ladder report over the sends whose subscriber-local day is in `from..=to` (at most 366 days). Supervisors and admins. A payment counts for a send when it came at or after it and within the horizon; its moment is the earlier of when Balcão learned it and the end of the day the management system names. Replies and opt-outs count within 7 days of the send.",
    responses((status = 200, body = LadderReportDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_report(
    State(state): State<DeskState>,
    config: SharedConfig,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<LadderReportDto>, ApiError> {
    staff.require_supervisor()?;
    let ws = staff.workspace();
    let (from, to) = period(&query, today(&state, ws).await?)
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_period", m))?;
    let report = build_report(state.app.store.as_ref(), ws, from, to, &config_of(&config)).await?;
    Ok(Json(LadderReportDto {
        from: from.to_string(),
        to: to.to_string(),
        follow_up_days: LADDER_FOLLOW_UP_MILLIS / 86_400_000,
        steps: report.steps,
        segments: report.segments,
        total: report.total,
        ab_tests: report.ab_tests,
        costs: report.costs,
        total_cost_cents: report.total_cost_cents,
    }))
}

// ---- the page ---------------------------------------------------------------------------------

/// "12,5 %", or "—" before anything was sent.
fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1} %", r * 100.0).replace('.', ","),
        None => "—".into(),
    }
}

/// "R$ 0,04" from fractional cents.
fn unit_price(cents: f64) -> String {
    format!("R$ {:.4}", cents / 100.0).replace('.', ",")
}

fn variant_label(variant: &Option<String>) -> String {
    variant.clone().unwrap_or_else(|| "padrão".into())
}

struct StepLine {
    step: String,
    segment: String,
    variant: String,
    records: u64,
    sent: u64,
    delivered: String,
    read: String,
    replied: String,
    paid_24h: String,
    paid_72h: String,
    paid_7d: String,
    opted_out: String,
    failures: u64,
    cost: String,
}

fn step_line(m: &report::StepMetrics) -> StepLine {
    StepLine {
        step: m.step_key.clone(),
        segment: m
            .segment
            .map(|s| s.to_string())
            .unwrap_or_else(|| "sem cadastro".into()),
        variant: variant_label(&m.variant),
        records: m.records,
        sent: m.sent,
        delivered: percent(m.rates.delivered),
        read: percent(m.rates.read),
        replied: percent(m.rates.replied),
        paid_24h: percent(m.rates.paid_24h),
        paid_72h: percent(m.rates.paid_72h),
        paid_7d: percent(m.rates.paid_7d),
        opted_out: percent(m.rates.opted_out),
        failures: m.failures.iter().map(|f| f.count).sum(),
        cost: brl(m.cost_cents),
    }
}

struct AbLine {
    step: String,
    horizon: &'static str,
    arms: String,
    verdict: String,
    decided: bool,
}

fn ab_line(result: &report::AbResult) -> AbLine {
    let arms = result
        .arms
        .iter()
        .map(|a| {
            format!(
                "{}: {} de {} ({})",
                a.variant,
                a.paid,
                a.sent,
                percent(Some(a.rate))
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let confidence = percent(Some(result.confidence));
    let verdict = match (&result.winner, result.significant) {
        (Some(winner), true) => format!("Vencedora: {winner} (confiança {confidence})"),
        (Some(winner), false) => {
            format!("Ainda sem dados suficientes — {winner} à frente, confiança {confidence}")
        }
        (None, _) => "Ainda sem dados suficientes — empate".into(),
    };
    AbLine {
        step: result.step_key.clone(),
        horizon: result.horizon.label(),
        arms,
        verdict,
        decided: result.significant,
    }
}

struct FailureLine {
    kind: &'static str,
    reason: String,
    count: u64,
}

struct CostLine {
    category: String,
    messages: u64,
    unit: String,
    cost: String,
}

#[derive(Template)]
#[template(path = "desk/ladder_report.html")]
struct ReportPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    from: String,
    to: String,
    error: String,
    steps: Vec<StepLine>,
    segments: Vec<StepLine>,
    total: Option<StepLine>,
    ab: Vec<AbLine>,
    failures: Vec<FailureLine>,
    costs: Vec<CostLine>,
    total_cost: String,
}

async fn page(
    State(state): State<DeskState>,
    config: SharedConfig,
    staff: PageStaff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    staff.require_supervisor()?;
    let staff = staff.0;
    let ws = staff.workspace();
    let today = today(&state, ws).await?;
    let mut page = ReportPage {
        chrome: Chrome::new(&staff, "admin", state.app.clock.now()),
        tab: "ladder_report",
        flash: String::new(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        error: String::new(),
        steps: Vec::new(),
        segments: Vec::new(),
        total: None,
        ab: Vec::new(),
        failures: Vec::new(),
        costs: Vec::new(),
        total_cost: brl(0),
    };
    let (from, to) = match period(&query, today) {
        Ok(period) => period,
        Err(message) => {
            page.error = message;
            let mut response = render(&page);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    let report = build_report(state.app.store.as_ref(), ws, from, to, &config_of(&config)).await?;
    page.from = from.to_string();
    page.to = to.to_string();
    page.steps = report.steps.iter().map(step_line).collect();
    page.segments = report.segments.iter().map(step_line).collect();
    page.total = (report.total.records > 0).then(|| step_line(&report.total));
    page.ab = report.ab_tests.iter().map(ab_line).collect();
    page.failures = report
        .total
        .failures
        .iter()
        .map(|f| FailureLine {
            kind: f.kind.label(),
            reason: f.reason.clone(),
            count: f.count,
        })
        .collect();
    page.costs = report
        .costs
        .iter()
        .map(|c| CostLine {
            category: c.category.clone(),
            messages: c.messages,
            unit: unit_price(c.unit_cents),
            cost: brl(c.cost_cents),
        })
        .collect();
    page.total_cost = brl(report.total_cost_cents);
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn query(from: Option<&str>, to: Option<&str>) -> PeriodQuery {
        PeriodQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    #[test]
    fn the_period_defaults_to_the_last_30_days_and_is_checked() {
        let today = date(2026, 11, 23);
        assert_eq!(
            period(&query(None, None), today),
            Ok((date(2026, 10, 25), today))
        );
        assert_eq!(
            period(&query(Some("2026-11-01"), Some("2026-11-10")), today),
            Ok((date(2026, 11, 1), date(2026, 11, 10)))
        );
        assert!(
            period(&query(Some("2026-11-10"), Some("2026-11-01")), today)
                .unwrap_err()
                .contains("anterior")
        );
        assert!(
            period(&query(Some("10/11/2026"), None), today)
                .unwrap_err()
                .contains("AAAA-MM-DD")
        );
        assert!(
            period(&query(Some("2025-01-01"), Some("2026-11-01")), today)
                .unwrap_err()
                .contains("366")
        );
    }

    #[test]
    fn rates_and_prices_in_portuguese() {
        assert_eq!(percent(Some(0.125)), "12,5 %");
        assert_eq!(percent(None), "—");
        assert_eq!(unit_price(3.74), "R$ 0,0374");
    }
}
