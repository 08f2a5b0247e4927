//! The billing ladder's settings, for admins: the REST API (`/api/v1/ladder/settings`, the
//! workspace's `PlanConfig` as JSON; `/api/v1/ladder/customers`, the list of CPF/CNPJ and
//! logins the ladder follows on systems that cannot list receivables in bulk), documented in the
//! OpenAPI, and the page `/app/admin/ladder` ("Régua de cobrança"): each ladder's steps, the
//! segment rules, paused regions (pause or resume with one click), legal hours, an advanced JSON
//! editor for everything, and the customer list with its CSV import.
//!
//! Everything is admin-only. REST calls authenticate as the desk API does (a user's bearer
//! token, or the session cookie plus `X-CSRF-Token`); the page's forms carry the session's CSRF
//! token. Settings are validated by the planner's own rules before they are saved; a refused
//! change answers 422 with the reason in pt-BR, and nothing is saved.

use crate::DeskState;
use crate::error::{ApiError, ErrorBody};
use crate::session::Staff;
use crate::ui::{Chrome, Clockface, PageError, PageStaff, render};
use askama::Template;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use balcao_domain::br::holidays::HolidayCalendar;
use balcao_domain::{Millis, WorkspaceId};
use balcao_engine::ladder_settings::rules::legal::{LegalHours, WeeklyInterval, Zone};
use balcao_engine::ladder_settings::rules::{ClockTime, Ladder, SegmentFilter};
use balcao_engine::ladder_settings::{self as engine, InvalidLine, ParsedCustomerList, PlanConfig};
use balcao_erp::System;
use balcao_store::{
    LadderCustomer, LadderCustomerCounts, LadderCustomerKind, LadderCustomerSource,
    LadderPlaceKind, Store, StoreError,
};
use jiff::civil::Weekday;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// A customer list upload: ~16 bytes a line, so about a million lines.
pub const CUSTOMERS_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Entries shown on the page (the API pages through all).
const PAGE_PREVIEW: u32 = 50;
/// Places offered for one-click pausing, per kind.
const PLACES_SHOWN: u32 = 30;

/// The REST routes (merge into the desk router: they use the desk's authentication).
pub fn router() -> Router<DeskState> {
    Router::new()
        .route(
            "/api/v1/ladder/settings",
            get(get_settings).put(put_settings),
        )
        .route(
            "/api/v1/ladder/customers",
            get(list_customers)
                .post(add_customers)
                .delete(remove_customers)
                .layer(DefaultBodyLimit::max(CUSTOMERS_BODY_LIMIT)),
        )
}

/// The admin page and its forms (merge into the screens' router, under its CSRF check).
pub(crate) fn ui_routes() -> Router<DeskState> {
    Router::new()
        .route("/app/admin/ladder", get(page))
        .route("/app/admin/ladder/pause", post(pause))
        .route("/app/admin/ladder/resume", post(resume))
        .route("/app/admin/ladder/legal", post(save_legal))
        .route("/app/admin/ladder/json", post(save_json))
        .route("/app/admin/ladder/customers", post(import_customers))
        .route("/app/admin/ladder/customers/clear", post(clear_customers))
}

#[derive(OpenApi)]
#[openapi(
    paths(get_settings, put_settings, list_customers, add_customers, remove_customers),
    components(schemas(CustomerDto, CountsDto, CustomerListDto, AddedDto, InvalidLineDto,
        InvalidListBody, RemoveBody, RemovedDto)),
    tags((name = "ladder", description = "Régua de cobrança: configuração por workspace e lista de clientes acompanhados"))
)]
pub struct LadderApiDoc;

// ---- shared helpers ---------------------------------------------------------------------------

fn who(staff: &Staff) -> String {
    format!("{} <{}>", staff.user.name, staff.user.email)
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// The workspace's management system, when one is connected.
async fn system_of(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> Result<Option<System>, StoreError> {
    Ok(store
        .erp_connection(workspace)
        .await?
        .and_then(|c| c.system.parse().ok()))
}

/// Whether the system needs the customer list: unknown systems are assumed to.
fn needs_list(system: Option<System>) -> bool {
    !matches!(system, Some(System::Sgp | System::Ixc | System::Hubsoft))
}

/// The settings as stored (even when they stopped validating, so they can be fixed), else the
/// default ladder.
async fn current_json(store: &dyn Store, workspace: WorkspaceId) -> Result<Value, StoreError> {
    Ok(match store.ladder_settings(workspace).await? {
        Some(stored) => stored.settings,
        None => serde_json::to_value(PlanConfig::default()).expect("a PlanConfig serialises"),
    })
}

/// The settings to change with a form: the stored ones (which must still be valid) or the
/// default ladder.
async fn current_config(store: &dyn Store, workspace: WorkspaceId) -> Result<PlanConfig, String> {
    match store.ladder_settings(workspace).await {
        Ok(Some(stored)) => engine::parse_plan_config(&stored.settings).map_err(|e| {
            format!("A régua salva está inválida; corrija-a no editor avançado antes: {e}")
        }),
        Ok(None) => Ok(PlanConfig::default()),
        Err(e) => Err(crate::error::ApiError::from(e).message),
    }
}

// ---- REST: settings ----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/ladder/settings", tag = "ladder",
    description = "The workspace's ladder settings (a PlanConfig: `ladders` by name with their `steps` — `key`, `offset_days`, `kind`, `template` {`name`, `language`, `params`, `buttons`}, `variants` [{`template`, `weight`}] —, `default_ladder`, segment `rules` [{`name`, `when`, `ladder`, `skip_steps`}], `paused` {`cities`, `regions`}, `legal` {`intervals`, `holidays`, `time_zone`}, `repeat_defaulter_min_late`). The default ladder until the workspace saves its own. Admins only.",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(state): State<DeskState>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require_admin()?;
    Ok(Json(
        current_json(state.app.store.as_ref(), staff.workspace()).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/ladder/settings", tag = "ladder", request_body = Object,
    description = "Replaces the workspace's ladder settings (the same document GET returns). Validated by the planner's rules — every step identifies the business (CDC art. 42-A), a suspension notice carries what Anatel's RGC art. 71 requires and comes 15 days before the suspension, steps in day order, known ladders and steps in rules, valid legal hours —; a refusal is 422 with the reason in pt-BR and nothing is saved. Admins only.",
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<DeskState>,
    staff: Staff,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    staff.require_admin()?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("JSON inválido: {e}")))?;
    let config = engine::parse_plan_config(&value)
        .map_err(|message| unprocessable("invalid_ladder", message))?;
    save(&state, &staff, &config).await?;
    Ok(Json(
        serde_json::to_value(&config).expect("a PlanConfig serialises"),
    ))
}

async fn save(state: &DeskState, staff: &Staff, config: &PlanConfig) -> Result<(), ApiError> {
    engine::save_plan_config(
        state.app.store.as_ref(),
        staff.workspace(),
        config,
        Some(&who(staff)),
        state.app.clock.now(),
    )
    .await
    .map_err(|e| match e {
        engine::LadderSettingsError::Invalid(message) => unprocessable("invalid_ladder", message),
        engine::LadderSettingsError::Store(e) => e.into(),
    })
}

// ---- REST: customer list -----------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    /// CPF/CNPJ (bare characters) or login.
    pub entry: String,
    /// `document` or `login`.
    pub kind: String,
    /// `import`, `bot` or `api`.
    pub source: String,
    pub added_at: String,
    /// The customer's name in the management system, once found.
    pub name: Option<String>,
    /// The customer's id in the management system, once found.
    pub erp_id: Option<String>,
    pub resolved_at: Option<String>,
    pub attempted_at: Option<String>,
    /// Why the last lookup did not find the customer (pt-BR).
    pub last_error: Option<String>,
}

fn customer_dto(c: LadderCustomer) -> CustomerDto {
    let field = |key: &str| {
        c.customer
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    CustomerDto {
        name: field("name"),
        erp_id: field("erp_id"),
        kind: c.kind.as_str().into(),
        source: c.source.as_str().into(),
        added_at: crate::api_time(c.added_at),
        resolved_at: c.resolved_at.map(crate::api_time),
        attempted_at: c.attempted_at.map(crate::api_time),
        last_error: c.last_error,
        entry: c.entry,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CountsDto {
    pub total: u64,
    /// Found in the management system.
    pub resolved: u64,
    /// Last lookup failed or found nobody.
    pub with_error: u64,
    /// Not looked up yet (the ladder does it on its runs, a few at a time).
    pub pending: u64,
}

fn counts_dto(c: LadderCustomerCounts) -> CountsDto {
    CountsDto {
        total: c.total,
        resolved: c.resolved,
        with_error: c.with_error,
        pending: c.pending,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomerListDto {
    pub counts: CountsDto,
    /// The connected management system (`mkauth`, `voalle`...), if any.
    pub system: Option<String>,
    /// False for systems that list every receivable by themselves (SGP, IXC, Hubsoft): the list
    /// is not used there.
    pub needs_list: bool,
    pub customers: Vec<CustomerDto>,
    /// Pass as `after` for the next page; null on the last one.
    pub next_after: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct CustomerQuery {
    /// The last `entry` of the previous page.
    pub after: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/ladder/customers", tag = "ladder", params(CustomerQuery),
    description = "The CPF/CNPJ and logins the ladder follows (needed with MK-Auth, Voalle and RadiusNet, which list titles only per customer), in entry order, with what the management system answered about each. Admins only.",
    responses((status = 200, body = CustomerListDto), (status = 403, body = ErrorBody)))]
async fn list_customers(
    State(state): State<DeskState>,
    staff: Staff,
    Query(q): Query<CustomerQuery>,
) -> Result<Json<CustomerListDto>, ApiError> {
    staff.require_admin()?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let page = store
        .ladder_customers_page(ws, q.after.as_deref(), limit)
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|c| c.entry.clone()))
        .flatten();
    let system = system_of(store, ws).await?;
    Ok(Json(CustomerListDto {
        counts: counts_dto(store.ladder_customer_counts(ws).await?),
        system: system.map(|s| s.as_str().to_owned()),
        needs_list: needs_list(system),
        customers: page.into_iter().map(customer_dto).collect(),
        next_after,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AddedDto {
    /// New entries.
    pub added: u64,
    /// Entries that were already listed (left as they were).
    pub already_listed: u64,
    /// Entries repeated inside the upload.
    pub repeated: u64,
    /// Entries listed now.
    pub total: u64,
}

#[derive(Serialize, ToSchema)]
pub struct InvalidLineDto {
    /// The file's line (CSV) or the item's position (JSON), from 1.
    pub line: usize,
    pub text: String,
    /// pt-BR.
    pub error: String,
}

/// 422 for a list with lines that cannot be read: nothing was imported.
#[derive(Serialize, ToSchema)]
pub struct InvalidListBody {
    pub error: crate::error::ErrorDetail,
    pub invalid_lines: Vec<InvalidLineDto>,
}

fn invalid_list_message(invalid: &[InvalidLine]) -> String {
    match invalid.len() {
        1 => "1 linha inválida: nada foi importado. Corrija e envie a lista de novo.".to_owned(),
        n => format!("{n} linhas inválidas: nada foi importado. Corrija e envie a lista de novo."),
    }
}

fn invalid_list_response(invalid: Vec<InvalidLine>) -> Response {
    let body = InvalidListBody {
        error: crate::error::ErrorDetail {
            code: "invalid_lines".into(),
            message: invalid_list_message(&invalid),
        },
        invalid_lines: invalid
            .into_iter()
            .map(|l| InvalidLineDto {
                line: l.line,
                text: l.text,
                error: l.error,
            })
            .collect(),
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// What an upload brought: refused as a whole when any line is invalid or nothing was listed.
enum Import {
    Added(AddedDto),
    Invalid(Vec<InvalidLine>),
}

async fn import(
    state: &DeskState,
    workspace: WorkspaceId,
    parsed: ParsedCustomerList,
    source: LadderCustomerSource,
) -> Result<Import, ApiError> {
    if !parsed.invalid.is_empty() {
        return Ok(Import::Invalid(parsed.invalid));
    }
    if parsed.entries.is_empty() {
        return Err(unprocessable(
            "empty_list",
            "a lista não tem nenhum CPF/CNPJ ou login",
        ));
    }
    let store = state.app.store.as_ref();
    let added = engine::add_customers(
        store,
        workspace,
        &parsed.entries,
        source,
        state.app.clock.now(),
    )
    .await?;
    Ok(Import::Added(AddedDto {
        added,
        already_listed: parsed.entries.len() as u64 - added,
        repeated: parsed.repeated as u64,
        total: store.ladder_customer_counts(workspace).await?.total,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct SourceQuery {
    /// `import`, `bot` or `api`; default `import` for CSV, `api` for JSON.
    pub source: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/ladder/customers", tag = "ladder", params(SourceQuery),
    request_body(content = Vec<String>, description = "A JSON list of CPF/CNPJ (masked or not) or logins, or `text/csv` (or `text/plain`) with one per line in the first column (`,` `;` or tab separate columns; a header line and blank lines are skipped)."),
    description = "Adds to the customer list. CPF/CNPJ check digits are verified; logins are refused when the connected system cannot look customers up by login (only MK-Auth can). If any line is invalid nothing is imported: 422 lists every bad line with its number. Entries already listed are kept as they are. Admins only.",
    responses((status = 200, body = AddedDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, description = "Larger than 16 MB"), (status = 422, body = InvalidListBody)))]
async fn add_customers(
    State(state): State<DeskState>,
    staff: Staff,
    Query(q): Query<SourceQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    staff.require_admin()?;
    let ws = staff.workspace();
    let system = system_of(state.app.store.as_ref(), ws).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let (parsed, default_source) = if is_json {
        let items: Vec<String> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "envie uma lista JSON de textos (CPF/CNPJ ou login): {e}"
            ))
        })?;
        (
            engine::parse_customer_list(&items, system),
            LadderCustomerSource::Api,
        )
    } else {
        // Spreadsheets often save in Windows-1252: the entries are ASCII anyway, and a damaged
        // one is reported with its line.
        let text = String::from_utf8_lossy(&body);
        (
            engine::parse_customer_csv(&text, system),
            LadderCustomerSource::Import,
        )
    };
    let source = match q.source.as_deref() {
        None => default_source,
        Some(s) => LadderCustomerSource::parse(s)
            .ok_or_else(|| ApiError::bad_request("origem inválida: use import, bot ou api"))?,
    };
    Ok(match import(&state, ws, parsed, source).await? {
        Import::Added(added) => Json(added).into_response(),
        Import::Invalid(invalid) => invalid_list_response(invalid),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct RemoveBody {
    /// CPF/CNPJ (masked or not) or logins to remove.
    #[serde(default)]
    pub entries: Vec<String>,
    /// Empties the whole list (then `entries` is ignored).
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RemovedDto {
    pub removed: u64,
    /// Entries still listed.
    pub total: u64,
}

#[utoipa::path(delete, path = "/api/v1/ladder/customers", tag = "ladder", request_body = RemoveBody,
    description = "Removes entries from the customer list (`entries`), or all of them (`all: true`). Unknown entries are ignored. Admins only.",
    responses((status = 200, body = RemovedDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn remove_customers(
    State(state): State<DeskState>,
    staff: Staff,
    body: Bytes,
) -> Result<Json<RemovedDto>, ApiError> {
    staff.require_admin()?;
    let body: RemoveBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "envie {{\"entries\": [...]}} ou {{\"all\": true}}: {e}"
        ))
    })?;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let removed = if body.all {
        store.clear_ladder_customers(ws).await?
    } else {
        // The same normalisation as an import, so a masked CPF removes its entry.
        let entries: Vec<String> = body
            .entries
            .iter()
            .filter_map(|e| match engine::parse_customer_entry(e, None) {
                Ok(Some(parsed)) => Some(parsed.entry),
                Ok(None) => None,
                Err(_) => Some(e.trim().to_owned()),
            })
            .collect();
        store.remove_ladder_customers(ws, &entries).await?
    };
    Ok(Json(RemovedDto {
        removed,
        total: store.ladder_customer_counts(ws).await?.total,
    }))
}

// ---- the page: what it shows -------------------------------------------------------------------

struct StepView {
    key: String,
    day: String,
    kind: &'static str,
    template: String,
    language: String,
    params: String,
    buttons: String,
    /// (template, share "70%").
    variants: Vec<(String, String)>,
}

struct LadderView {
    name: String,
    is_default: bool,
    steps: Vec<StepView>,
    grace_days: u32,
    suspension: String,
}

struct RuleView {
    name: String,
    ladder: String,
    filter: String,
    skips: String,
}

struct PlaceView {
    kind: &'static str,
    kind_label: &'static str,
    name: String,
    open_invoices: u64,
    paused: bool,
}

struct DayLine {
    key: &'static str,
    label: &'static str,
    value: String,
}

struct CustomerRow {
    entry: String,
    kind: &'static str,
    source: &'static str,
    status: String,
    error: bool,
}

#[derive(Template)]
#[template(path = "desk/admin_ladder.html")]
struct LadderPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    /// Problems of the last form (pt-BR).
    errors: Vec<String>,
    /// Which form they belong to: "json", "legal", "pause", "customers".
    error_form: &'static str,
    source_label: String,
    stored_invalid: String,
    ladders: Vec<LadderView>,
    rules: Vec<RuleView>,
    paused: Vec<PlaceView>,
    places: Vec<PlaceView>,
    days: Vec<DayLine>,
    time_zone: String,
    holidays: String,
    include_optional: bool,
    repeat_defaulter_min_late: u32,
    json: String,
    counts: LadderCustomerCounts,
    system_label: String,
    /// A management system is connected.
    system_known: bool,
    needs_list: bool,
    customers: Vec<CustomerRow>,
    /// The list has more entries than shown.
    customers_more: bool,
    invalid_lines: Vec<InvalidLine>,
    csv: String,
}

const DAYS: [(&str, &str, Weekday); 7] = [
    ("mon", "Segunda", Weekday::Monday),
    ("tue", "Terça", Weekday::Tuesday),
    ("wed", "Quarta", Weekday::Wednesday),
    ("thu", "Quinta", Weekday::Thursday),
    ("fri", "Sexta", Weekday::Friday),
    ("sat", "Sábado", Weekday::Saturday),
    ("sun", "Domingo", Weekday::Sunday),
];

/// "D-5", "D0", "D+3".
fn day_label(offset: i32) -> String {
    match offset {
        0 => "D0".into(),
        n if n > 0 => format!("D+{n}"),
        n => format!("D{n}"),
    }
}

fn steps_of(ladder: &Ladder) -> Vec<StepView> {
    ladder
        .steps
        .iter()
        .map(|s| {
            let total: u64 = s.variants.iter().map(|v| u64::from(v.weight)).sum();
            StepView {
                key: s.key.clone(),
                day: day_label(s.offset_days),
                kind: s.kind.label(),
                template: s.template.name.clone(),
                language: s.template.language.clone(),
                params: s
                    .template
                    .params
                    .iter()
                    .map(|p| p.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                buttons: s
                    .template
                    .buttons
                    .iter()
                    .map(|b| b.title.clone())
                    .collect::<Vec<_>>()
                    .join(" · "),
                variants: s
                    .variants
                    .iter()
                    .map(|v| {
                        let share = (u64::from(v.weight) * 100 + total / 2)
                            .checked_div(total)
                            .unwrap_or(0);
                        (v.template.clone(), format!("{share}%"))
                    })
                    .collect(),
            }
        })
        .collect()
}

fn cents(value: i64) -> String {
    balcao_domain::br::Brl::from_cents(value).to_string()
}

/// A rule's filter in words: "A vencer; bom pagador; cidades: Franca".
fn describe_filter(when: &SegmentFilter) -> String {
    let mut parts = Vec::new();
    if !when.timing.is_empty() {
        parts.push(
            when.timing
                .iter()
                .map(|t| t.label())
                .collect::<Vec<_>>()
                .join(" ou "),
        );
    }
    if !when.behaviour.is_empty() {
        parts.push(
            when.behaviour
                .iter()
                .map(|b| b.label())
                .collect::<Vec<_>>()
                .join(" ou "),
        );
    }
    if let Some(range) = when.plan_value_cents {
        parts.push(match (range.min, range.max) {
            (Some(min), Some(max)) => format!("plano de {} a {}", cents(min), cents(max)),
            (Some(min), None) => format!("plano a partir de {}", cents(min)),
            (None, Some(max)) => format!("plano até {}", cents(max)),
            (None, None) => "qualquer plano".into(),
        });
    }
    if let Some(person) = when.person {
        parts.push(format!("{person}"));
    }
    if !when.cities.is_empty() {
        parts.push(format!("cidades: {}", when.cities.join(", ")));
    }
    if !when.regions.is_empty() {
        parts.push(format!("regiões: {}", when.regions.join(", ")));
    }
    if parts.is_empty() {
        "todas as faturas".into()
    } else {
        parts.join("; ")
    }
}

/// A weekday's intervals as the form shows them: "08:00-12:00, 13:00-18:00".
fn day_text(legal: &LegalHours, day: Weekday) -> String {
    legal
        .config()
        .intervals
        .iter()
        .filter(|i| i.weekday == day)
        .map(|i| format!("{}-{}", i.start, i.end))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a weekday's line of the legal-hours form.
fn parse_day_text(label: &str, text: &str, day: Weekday) -> Result<Vec<WeeklyInterval>, String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (start, end) = part
                .split_once(['-', '–'])
                .ok_or_else(|| format!("{label}: use HH:MM-HH:MM (recebido {part:?})"))?;
            let start = ClockTime::parse(start).map_err(|e| format!("{label}: {e}"))?;
            let end = ClockTime::parse(end).map_err(|e| format!("{label}: {e}"))?;
            Ok(WeeklyInterval {
                weekday: day,
                start,
                end,
            })
        })
        .collect()
}

/// The provider's holidays as the form shows them: one "AAAA-MM-DD Nome" a line.
fn holidays_text(calendar: &HolidayCalendar) -> String {
    calendar
        .custom
        .iter()
        .map(|(date, name)| format!("{date} {name}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_holidays(text: &str) -> Result<Vec<(jiff::civil::Date, String)>, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (date, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let date: jiff::civil::Date = date
                .parse()
                .map_err(|_| format!("feriado {line:?}: use AAAA-MM-DD e o nome"))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("feriado {line:?}: falta o nome"));
            }
            Ok((date, name.to_owned()))
        })
        .collect()
}

fn kind_label(kind: LadderPlaceKind) -> &'static str {
    match kind {
        LadderPlaceKind::City => "Cidade",
        LadderPlaceKind::Region => "Região",
    }
}

fn kind_key(kind: LadderPlaceKind) -> &'static str {
    match kind {
        LadderPlaceKind::City => "city",
        LadderPlaceKind::Region => "region",
    }
}

fn parse_kind(text: &str) -> Option<LadderPlaceKind> {
    match text {
        "city" => Some(LadderPlaceKind::City),
        "region" => Some(LadderPlaceKind::Region),
        _ => None,
    }
}

fn br_time(face: &Clockface, ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(face.tz.clone())
                .strftime("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// What the page's forms left behind: a refused form's problems and what was typed.
#[derive(Default)]
struct Leftover {
    errors: Vec<String>,
    error_form: &'static str,
    json: Option<String>,
    /// The legal-hours form as typed: per-day lines, time zone, holidays, optional holidays.
    legal: Option<(Vec<String>, String, String, bool)>,
    invalid_lines: Vec<InvalidLine>,
    csv: String,
}

async fn render_page(
    state: &DeskState,
    staff: &Staff,
    flash: String,
    leftover: Leftover,
) -> Result<Response, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let face = Clockface::of(state, staff).await;
    let stored = store.ladder_settings(ws).await?;
    let (config, stored_invalid, source_label, raw) = match &stored {
        None => (
            PlanConfig::default(),
            String::new(),
            "Régua padrão do Balcão (nenhuma alteração salva neste workspace).".to_owned(),
            serde_json::to_value(PlanConfig::default()).expect("a PlanConfig serialises"),
        ),
        Some(s) => {
            let label = format!(
                "Régua própria deste workspace, salva em {}{}.",
                br_time(&face, s.updated_at),
                s.updated_by
                    .as_deref()
                    .map(|w| format!(" por {w}"))
                    .unwrap_or_default()
            );
            match engine::parse_plan_config(&s.settings) {
                Ok(config) => (config, String::new(), label, s.settings.clone()),
                Err(e) => (PlanConfig::default(), e, label, s.settings.clone()),
            }
        }
    };
    let show = stored_invalid.is_empty();
    let ladders = if show {
        // The default ladder first, then the others by name.
        let mut named: Vec<(&String, &Ladder)> = config.ladders.iter().collect();
        named.sort_by_key(|(name, _)| (**name != config.default_ladder, (*name).clone()));
        named
            .into_iter()
            .map(|(name, ladder)| LadderView {
                name: name.clone(),
                is_default: *name == config.default_ladder,
                steps: steps_of(ladder),
                grace_days: ladder.last_step_grace_days,
                suspension: ladder
                    .suspension_after_days
                    .map(|d| format!("suspensão em D+{d}"))
                    .unwrap_or_else(|| "dia da suspensão não informado".into()),
            })
            .collect()
    } else {
        Vec::new()
    };
    let rules = if show {
        config
            .rules
            .iter()
            .map(|r| RuleView {
                name: r.name.clone(),
                ladder: r
                    .ladder
                    .clone()
                    .unwrap_or_else(|| format!("{} (padrão)", config.default_ladder)),
                filter: describe_filter(&r.when),
                skips: r
                    .skip_steps
                    .iter()
                    .map(|k| k.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect()
    } else {
        Vec::new()
    };
    let paused_names: Vec<(LadderPlaceKind, &String)> = config
        .paused
        .cities
        .iter()
        .map(|c| (LadderPlaceKind::City, c))
        .chain(
            config
                .paused
                .regions
                .iter()
                .map(|r| (LadderPlaceKind::Region, r)),
        )
        .collect();
    let is_paused = |kind: LadderPlaceKind, name: &str| {
        paused_names
            .iter()
            .any(|(k, p)| *k == kind && engine::rules::segment::same_place(p, name))
    };
    let places = store
        .ladder_places(ws, PLACES_SHOWN)
        .await?
        .into_iter()
        .map(|p| PlaceView {
            kind: kind_key(p.kind),
            kind_label: kind_label(p.kind),
            paused: is_paused(p.kind, &p.name),
            name: p.name,
            open_invoices: p.open_invoices,
        })
        .collect();
    let paused = if show {
        paused_names
            .iter()
            .map(|(kind, name)| PlaceView {
                kind: kind_key(*kind),
                kind_label: kind_label(*kind),
                name: (*name).clone(),
                open_invoices: 0,
                paused: true,
            })
            .collect()
    } else {
        Vec::new()
    };
    let (day_values, time_zone, holidays, include_optional) = match leftover.legal {
        Some(typed) => typed,
        None => (
            DAYS.iter()
                .map(|(_, _, day)| day_text(&config.legal, *day))
                .collect(),
            config.legal.time_zone().name().to_owned(),
            holidays_text(config.legal.holidays()),
            config.legal.holidays().include_optional,
        ),
    };
    let days = DAYS
        .iter()
        .zip(day_values)
        .map(|((key, label, _), value)| DayLine { key, label, value })
        .collect();
    let system = system_of(store, ws).await?;
    let customers: Vec<CustomerRow> = store
        .ladder_customers_page(ws, None, PAGE_PREVIEW)
        .await?
        .into_iter()
        .map(|c| {
            let name = c
                .customer
                .as_ref()
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let (status, error) = match (&c.last_error, name, c.attempted_at) {
                (Some(e), _, _) => (e.clone(), true),
                (None, Some(name), _) => (format!("encontrado: {name}"), false),
                (None, None, None) => ("aguardando a próxima execução da régua".into(), false),
                (None, None, Some(_)) => ("consultado".into(), false),
            };
            CustomerRow {
                kind: match c.kind {
                    LadderCustomerKind::Document => "CPF/CNPJ",
                    LadderCustomerKind::Login => "login",
                },
                source: match c.source {
                    LadderCustomerSource::Import => "importação",
                    LadderCustomerSource::Bot => "robô",
                    LadderCustomerSource::Api => "API",
                },
                entry: c.entry,
                status,
                error,
            }
        })
        .collect();
    let counts = store.ladder_customer_counts(ws).await?;
    let customers_more = counts.total > customers.len() as u64;
    // The struct's own field order reads better than the stored map's (sorted) keys.
    let json = leftover.json.unwrap_or_else(|| {
        if show {
            serde_json::to_string_pretty(&config)
        } else {
            serde_json::to_string_pretty(&raw)
        }
        .unwrap_or_default()
    });
    Ok(render(&LadderPage {
        chrome: Chrome::new(staff, "admin", face.now),
        tab: "ladder",
        flash,
        errors: leftover.errors,
        error_form: leftover.error_form,
        source_label,
        stored_invalid,
        ladders,
        rules,
        paused,
        places,
        days,
        time_zone,
        holidays,
        include_optional,
        repeat_defaulter_min_late: config.repeat_defaulter_min_late,
        json,
        counts,
        system_label: system
            .map(|s| s.display_name().to_owned())
            .unwrap_or_else(|| "nenhum sistema de gestão conectado".into()),
        system_known: system.is_some(),
        needs_list: needs_list(system),
        customers,
        customers_more,
        invalid_lines: leftover.invalid_lines,
        csv: leftover.csv,
    }))
}

fn refused(mut page: Response) -> Response {
    if page.status() == StatusCode::OK {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

#[derive(Deserialize, Default)]
struct FlashQuery {
    ok: Option<String>,
    added: Option<u64>,
    known: Option<u64>,
}

fn flash_text(q: &FlashQuery) -> String {
    match q.ok.as_deref() {
        Some("saved") => "Régua salva.".into(),
        Some("paused") => {
            "Cobrança pausada nesse local: ninguém de lá recebe lembretes até retomar.".into()
        }
        Some("resumed") => "Cobrança retomada nesse local.".into(),
        Some("imported") => format!(
            "Lista importada: {} novo(s), {} já estava(m) na lista.",
            q.added.unwrap_or(0),
            q.known.unwrap_or(0)
        ),
        Some("cleared") => "Lista de clientes esvaziada.".into(),
        _ => String::new(),
    }
}

async fn page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    render_page(&state, &staff.0, flash_text(&q), Leftover::default()).await
}

// ---- the page: forms ---------------------------------------------------------------------------

/// A url-encoded form as pairs.
type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn refuse(
    state: &DeskState,
    staff: &Staff,
    form: &'static str,
    error: String,
    mut leftover: Leftover,
) -> Result<Response, PageError> {
    leftover.errors = vec![error];
    leftover.error_form = form;
    Ok(refused(
        render_page(state, staff, String::new(), leftover).await?,
    ))
}

/// Saves a change made by a form; a refusal comes back on the page.
async fn save_from_form(
    state: &DeskState,
    staff: &Staff,
    form: &'static str,
    config: &PlanConfig,
    done: &str,
    leftover: Leftover,
) -> Result<Response, PageError> {
    match save(state, staff, config).await {
        Ok(()) => Ok(Redirect::to(&format!("/app/admin/ladder?ok={done}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            refuse(state, staff, form, e.message, leftover).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn pause_or_resume(
    state: DeskState,
    staff: PageStaff,
    pairs: Pairs,
    pause: bool,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let Some(kind) = parse_kind(field(&pairs, "kind")) else {
        return refuse(
            &state,
            &staff,
            "pause",
            "Escolha cidade ou região.".into(),
            Leftover::default(),
        )
        .await;
    };
    let name = field(&pairs, "name").trim();
    if name.is_empty() {
        return refuse(
            &state,
            &staff,
            "pause",
            "Informe o nome da cidade ou região.".into(),
            Leftover::default(),
        )
        .await;
    }
    let mut config = match current_config(state.app.store.as_ref(), staff.workspace()).await {
        Ok(config) => config,
        Err(e) => return refuse(&state, &staff, "pause", e, Leftover::default()).await,
    };
    let changed = if pause {
        engine::pause_place(&mut config, kind, name)
    } else {
        engine::resume_place(&mut config, kind, name)
    };
    let done = if pause { "paused" } else { "resumed" };
    if !changed {
        // Already as asked: nothing to save.
        return Ok(Redirect::to(&format!("/app/admin/ladder?ok={done}")).into_response());
    }
    save_from_form(&state, &staff, "pause", &config, done, Leftover::default()).await
}

async fn pause(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    pause_or_resume(state, staff, pairs, true).await
}

async fn resume(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    pause_or_resume(state, staff, pairs, false).await
}

async fn save_legal(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let typed_days: Vec<String> = DAYS
        .iter()
        .map(|(key, _, _)| field(&pairs, &format!("day_{key}")).to_owned())
        .collect();
    let time_zone = field(&pairs, "time_zone").trim().to_owned();
    let holidays = field(&pairs, "holidays").replace("\r\n", "\n");
    let include_optional = !field(&pairs, "include_optional").is_empty();
    let leftover = || Leftover {
        legal: Some((
            typed_days.clone(),
            time_zone.clone(),
            holidays.clone(),
            include_optional,
        )),
        ..Leftover::default()
    };
    let built = (|| {
        let mut intervals = Vec::new();
        for ((_, label, day), text) in DAYS.iter().zip(&typed_days) {
            intervals.extend(parse_day_text(label, text, *day)?);
        }
        let calendar = HolidayCalendar {
            include_optional,
            custom: parse_holidays(&holidays)?,
        };
        let zone = Zone::get(&time_zone).map_err(|e| e.to_string())?;
        LegalHours::new(intervals, calendar, zone).map_err(|e| e.to_string())
    })();
    let legal = match built {
        Ok(legal) => legal,
        Err(e) => return refuse(&state, &staff, "legal", e, leftover()).await,
    };
    let mut config = match current_config(state.app.store.as_ref(), staff.workspace()).await {
        Ok(config) => config,
        Err(e) => return refuse(&state, &staff, "legal", e, leftover()).await,
    };
    config.legal = legal;
    save_from_form(&state, &staff, "legal", &config, "saved", leftover()).await
}

async fn save_json(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let text = field(&pairs, "settings").to_owned();
    let leftover = || Leftover {
        json: Some(text.clone()),
        ..Leftover::default()
    };
    let config = serde_json::from_str::<Value>(&text)
        .map_err(|e| format!("JSON inválido: {e}"))
        .and_then(|value| engine::parse_plan_config(&value));
    match config {
        Ok(config) => save_from_form(&state, &staff, "json", &config, "saved", leftover()).await,
        Err(e) => refuse(&state, &staff, "json", e, leftover()).await,
    }
}

async fn import_customers(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let csv = field(&pairs, "csv").to_owned();
    let system = system_of(state.app.store.as_ref(), staff.workspace()).await?;
    let parsed = engine::parse_customer_csv(&csv, system);
    let leftover = |invalid_lines| Leftover {
        csv: csv.clone(),
        invalid_lines,
        ..Leftover::default()
    };
    match import(
        &state,
        staff.workspace(),
        parsed,
        LadderCustomerSource::Import,
    )
    .await
    {
        Ok(Import::Added(a)) => Ok(Redirect::to(&format!(
            "/app/admin/ladder?ok=imported&added={}&known={}#clientes",
            a.added, a.already_listed
        ))
        .into_response()),
        Ok(Import::Invalid(invalid)) => {
            let message = invalid_list_message(&invalid);
            refuse(&state, &staff, "customers", message, leftover(invalid)).await
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            refuse(&state, &staff, "customers", e.message, leftover(Vec::new())).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn clear_customers(
    State(state): State<DeskState>,
    staff: PageStaff,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    state
        .app
        .store
        .clear_ladder_customers(staff.0.workspace())
        .await?;
    Ok(Redirect::to("/app/admin/ladder?ok=cleared#clientes").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_lines_read_several_intervals() {
        let intervals =
            parse_day_text("Segunda", "08:00-12:00, 13:30–18:00", Weekday::Monday).unwrap();
        assert_eq!(intervals.len(), 2);
        assert_eq!(intervals[1].start.to_string(), "13:30");
        assert_eq!(intervals[1].end.to_string(), "18:00");
        assert!(
            parse_day_text("Sábado", "  ", Weekday::Saturday)
                .unwrap()
                .is_empty()
        );
        let error = parse_day_text("Terça", "8h às 18h", Weekday::Tuesday).unwrap_err();
        assert!(error.starts_with("Terça: use HH:MM-HH:MM"), "{error}");
        let error = parse_day_text("Terça", "08:00-25:00", Weekday::Tuesday).unwrap_err();
        assert!(error.contains("horário inválido"), "{error}");
    }

    #[test]
    fn the_default_legal_hours_show_as_weekday_lines() {
        let legal = LegalHours::default();
        assert_eq!(day_text(&legal, Weekday::Monday), "08:00-18:00");
        assert_eq!(day_text(&legal, Weekday::Sunday), "");
    }

    #[test]
    fn holidays_round_trip_through_their_text() {
        let parsed =
            parse_holidays("2026-12-08 Nossa Senhora da Conceição\n\n2027-01-20 São Sebastião")
                .unwrap();
        assert_eq!(parsed.len(), 2);
        let text = holidays_text(&HolidayCalendar {
            include_optional: false,
            custom: parsed,
        });
        assert_eq!(
            text,
            "2026-12-08 Nossa Senhora da Conceição\n2027-01-20 São Sebastião"
        );
        assert!(parse_holidays("08/12/2026 Feriado").is_err());
        assert!(parse_holidays("2026-12-08").is_err());
    }

    #[test]
    fn filters_and_days_read_in_portuguese() {
        assert_eq!(day_label(-5), "D-5");
        assert_eq!(day_label(0), "D0");
        assert_eq!(day_label(3), "D+3");
        let rule = &PlanConfig::default().rules[0];
        assert_eq!(describe_filter(&rule.when), "bom pagador");
        assert_eq!(
            describe_filter(&SegmentFilter::default()),
            "todas as faturas"
        );
        let when = SegmentFilter {
            cities: vec!["Franca".into()],
            plan_value_cents: Some(balcao_engine::ladder_settings::rules::CentsRange {
                min: Some(10_000),
                max: None,
            }),
            ..SegmentFilter::default()
        };
        assert_eq!(
            describe_filter(&when),
            "plano a partir de R$ 100,00; cidades: Franca"
        );
    }

    #[test]
    fn variant_shares_are_percentages_of_the_weights() {
        let mut ladder = Ladder::default_pt_br();
        ladder.steps[1].variants = vec![
            balcao_engine::ladder_settings::rules::Variant {
                template: "a".into(),
                weight: 2,
            },
            balcao_engine::ladder_settings::rules::Variant {
                template: "b".into(),
                weight: 1,
            },
        ];
        let steps = steps_of(&ladder);
        assert_eq!(
            steps[1].variants,
            [
                ("a".to_owned(), "67%".to_owned()),
                ("b".to_owned(), "33%".to_owned())
            ]
        );
        assert!(steps[0].variants.is_empty());
        assert_eq!(steps[0].day, "D-5");
    }
}
