//! Admin screens (`/app/admin/...`): queues (option number, name, locked, distribution, hours
//! with several intervals a day, out-of-hours behaviour, fallback queue and timeout, members),
//! automatic messages and desk settings, holidays (the national calendar shown, the provider's
//! own dates edited), quick replies and users; plus every staff member's own API tokens
//! (`/app/tokens`). Plain HTML forms (with the session's CSRF token) validated by the same
//! rules as the REST API; a refused form comes back with the reason and what was typed.

use super::{Chrome, Clockface, PageError, PageStaff, render, role_options};
use crate::DeskState;
use crate::desk_api::{
    HolidayInput, QueueBody, QuickReplyBody, UserUpdateBody, national_calendar, parse_holidays,
    parse_queue, parse_quick_reply, parse_user_update, today,
};
use crate::desk_settings::{self, DeskSettings};
use crate::error::ApiError;
use crate::session::{self, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use balcao_desk::{AutoMessage, WeeklyHours};
use balcao_domain::UserId;
use balcao_store::{Queue, QueueId, Role, StoreError, User};
use serde::Deserialize;
use serde_json::Value;

pub(super) fn routes() -> Router<DeskState> {
    Router::new()
        .route(
            "/app/admin",
            get(|| async { Redirect::to("/app/admin/queues") }),
        )
        .route("/app/admin/queues", get(queues_page).post(queue_create))
        .route("/app/admin/queues/{id}", get(queue_page).post(queue_update))
        .route("/app/admin/queues/{id}/delete", post(queue_delete))
        .route(
            "/app/admin/messages",
            get(messages_page).post(messages_save),
        )
        .route("/app/admin/holidays", get(holidays_page).post(holiday_add))
        .route("/app/admin/holidays/delete", post(holiday_delete))
        .route(
            "/app/admin/quick-replies",
            get(quick_page).post(quick_create),
        )
        .route(
            "/app/admin/quick-replies/{id}",
            get(quick_edit_page).post(quick_update),
        )
        .route("/app/admin/quick-replies/{id}/delete", post(quick_delete))
        .route("/app/admin/users", get(users_page).post(user_create))
        .route("/app/admin/users/{id}", get(user_page).post(user_update))
        .route("/app/admin/users/{id}/password", post(user_password))
        .route("/app/tokens", get(tokens_page).post(token_create))
        .route("/app/tokens/{id}/delete", post(token_delete))
}

/// A url-encoded form as pairs (checkbox lists repeat their key).
type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn fields<'a>(pairs: &'a Pairs, key: &str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn checked(pairs: &Pairs, key: &str) -> bool {
    !field(pairs, key).is_empty()
}

#[derive(Deserialize, Default)]
struct Flash {
    ok: Option<String>,
}

/// The pt-BR confirmation for a `?ok=` code after a redirect.
fn flash_text(code: Option<&str>) -> String {
    match code {
        Some("created") => "Criado com sucesso.",
        Some("saved") => "Alterações salvas.",
        Some("deleted") => "Removido.",
        Some("password") => "Senha alterada; as sessões abertas desse usuário foram encerradas.",
        _ => "",
    }
    .to_owned()
}

/// A refused form: the reason, and the page again with what was typed (status 422).
fn refused(mut page: Response, status: StatusCode) -> Response {
    *page.status_mut() = status;
    page
}

fn error_status(e: &ApiError) -> StatusCode {
    if e.status.is_client_error() {
        e.status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn store_message(e: StoreError) -> (StatusCode, String) {
    let api: ApiError = e.into();
    (error_status(&api), api.message)
}

const DAY_KEYS: [(&str, &str); 7] = [
    ("mon", "Segunda"),
    ("tue", "Terça"),
    ("wed", "Quarta"),
    ("thu", "Quinta"),
    ("fri", "Sexta"),
    ("sat", "Sábado"),
    ("sun", "Domingo"),
];
const DAY_TEXT: [&str; 7] = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"];

/// One line of the hours form.
struct DayHours {
    key: &'static str,
    label: &'static str,
    value: String,
}

/// The hours form's lines from stored weekly hours (JSON); empty lines when `None`.
fn day_lines(hours: Option<&Value>) -> Vec<DayHours> {
    let weekly: Option<WeeklyHours> = hours.and_then(|h| serde_json::from_value(h.clone()).ok());
    DAY_KEYS
        .iter()
        .enumerate()
        .map(|(i, (key, label))| DayHours {
            key,
            label,
            value: weekly
                .as_ref()
                .map(|w| {
                    w.days()[i]
                        .iter()
                        .map(|iv| iv.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The typed lines back as the compact text the hours parser reads; `None` when "always open"
/// (or nothing typed at all).
fn hours_from_form(pairs: &Pairs) -> Option<Value> {
    if checked(pairs, "always_open") {
        return None;
    }
    let lines: Vec<String> = DAY_KEYS
        .iter()
        .enumerate()
        .filter_map(|(i, (key, _))| {
            let v = field(pairs, &format!("hours_{key}")).trim();
            (!v.is_empty()).then(|| format!("{} {v}", DAY_TEXT[i]))
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(Value::String(lines.join("\n")))
}

fn day_lines_from_form(pairs: &Pairs) -> Vec<DayHours> {
    DAY_KEYS
        .iter()
        .map(|(key, label)| DayHours {
            key,
            label,
            value: field(pairs, &format!("hours_{key}")).to_owned(),
        })
        .collect()
}

// ---- queues -----------------------------------------------------------------------------------

struct QueueLine {
    id: i64,
    option_number: u32,
    name: String,
    active: bool,
    distribution: &'static str,
    hours: String,
    members: String,
}

#[derive(Template)]
#[template(path = "desk/admin_queues.html")]
struct QueuesPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    queues: Vec<QueueLine>,
    form: QueueForm,
}

/// What the queue form shows (stored values or what was typed).
struct QueueForm {
    option_number: String,
    name: String,
    active: bool,
    pick: bool,
    always_open: bool,
    days: Vec<DayHours>,
    fallback_mode: bool,
    fallback_queue_id: i64,
    accept_timeout_min: String,
    members: Vec<MemberChoice>,
    queues: Vec<(i64, String)>,
}

struct MemberChoice {
    id: i64,
    name: String,
    role: &'static str,
    checked: bool,
}

fn hours_summary(hours: Option<&Value>) -> String {
    match hours.and_then(|h| serde_json::from_value::<WeeklyHours>(h.clone()).ok()) {
        None => "sempre aberta".into(),
        Some(w) if w.is_never_open() => "sempre fechada".into(),
        Some(w) => w.to_text().replace('\n', "; "),
    }
}

async fn queue_lines(state: &DeskState, staff: &Staff) -> Result<Vec<QueueLine>, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let mut out = Vec::new();
    for q in store.queues(ws).await? {
        let members = store.queue_members(ws, q.id).await?;
        out.push(QueueLine {
            id: q.id.0,
            option_number: q.option_number.get(),
            name: q.name.clone(),
            active: q.active,
            distribution: match q.distribution {
                balcao_store::Distribution::RoundRobin => "rodízio automático",
                balcao_store::Distribution::Pick => "atendentes escolhem",
            },
            hours: hours_summary(q.hours.as_ref()),
            members: if members.is_empty() {
                "ninguém".into()
            } else {
                members
                    .iter()
                    .map(|u| u.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    }
    Ok(out)
}

async fn member_choices(
    state: &DeskState,
    staff: &Staff,
    checked: &[i64],
) -> Result<Vec<MemberChoice>, PageError> {
    Ok(state
        .app
        .store
        .users(staff.workspace())
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| MemberChoice {
            id: u.id.0,
            checked: checked.contains(&u.id.0),
            name: u.name,
            role: session::role_label(u.role),
        })
        .collect())
}

async fn queue_options(
    state: &DeskState,
    staff: &Staff,
    except: Option<QueueId>,
) -> Result<Vec<(i64, String)>, PageError> {
    Ok(state
        .app
        .store
        .queues(staff.workspace())
        .await?
        .into_iter()
        .filter(|q| Some(q.id) != except)
        .map(|q| (q.id.0, format!("{} - {}", q.option_number, q.name)))
        .collect())
}

async fn blank_queue_form(state: &DeskState, staff: &Staff) -> Result<QueueForm, PageError> {
    let existing = state.app.store.queues(staff.workspace()).await?;
    let next_number = (1..=99u32)
        .find(|n| !existing.iter().any(|q| q.option_number.get() == *n))
        .unwrap_or(1);
    Ok(QueueForm {
        option_number: next_number.to_string(),
        name: String::new(),
        active: true,
        pick: false,
        always_open: true,
        days: day_lines(None),
        fallback_mode: false,
        fallback_queue_id: 0,
        accept_timeout_min: String::new(),
        members: member_choices(state, staff, &[]).await?,
        queues: queue_options(state, staff, None).await?,
    })
}

async fn queues_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let face = Clockface::of(&state, &staff).await;
    Ok(render(&QueuesPage {
        chrome: Chrome::new(&staff, "admin", face.now),
        tab: "queues",
        flash: flash_text(flash.ok.as_deref()),
        error: String::new(),
        queues: queue_lines(&state, &staff).await?,
        form: blank_queue_form(&state, &staff).await?,
    }))
}

/// The queue form as the API body: minutes become seconds, the day lines become hours.
fn queue_body_from_form(pairs: &Pairs) -> Result<QueueBody, String> {
    let option_number: u32 = field(pairs, "option_number")
        .trim()
        .parse()
        .map_err(|_| "o número da opção deve ser um número de 1 a 99".to_owned())?;
    let timeout = field(pairs, "accept_timeout_min").trim();
    let accept_timeout_secs = if timeout.is_empty() {
        None
    } else {
        Some(
            timeout
                .parse::<u32>()
                .map_err(|_| "o tempo para atender deve ser um número de minutos".to_owned())?
                .saturating_mul(60),
        )
    };
    let fallback_queue_id = field(pairs, "fallback_queue_id")
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0);
    Ok(QueueBody {
        option_number,
        name: field(pairs, "name").to_owned(),
        active: checked(pairs, "active"),
        distribution: Some(field(pairs, "distribution").to_owned()),
        hours: hours_from_form(pairs),
        out_of_hours: Some(field(pairs, "out_of_hours").to_owned()),
        fallback_queue_id,
        accept_timeout_secs,
    })
}

fn member_ids(pairs: &Pairs) -> Vec<UserId> {
    fields(pairs, "member")
        .filter_map(|v| v.parse::<i64>().ok())
        .map(UserId)
        .collect()
}

async fn typed_queue_form(
    state: &DeskState,
    staff: &Staff,
    pairs: &Pairs,
    except: Option<QueueId>,
) -> Result<QueueForm, PageError> {
    let checked_members: Vec<i64> = member_ids(pairs).into_iter().map(|u| u.0).collect();
    Ok(QueueForm {
        option_number: field(pairs, "option_number").to_owned(),
        name: field(pairs, "name").to_owned(),
        active: checked(pairs, "active"),
        pick: field(pairs, "distribution") == "pick",
        always_open: checked(pairs, "always_open"),
        days: day_lines_from_form(pairs),
        fallback_mode: field(pairs, "out_of_hours") == "fallback",
        fallback_queue_id: field(pairs, "fallback_queue_id").parse().unwrap_or(0),
        accept_timeout_min: field(pairs, "accept_timeout_min").to_owned(),
        members: member_choices(state, staff, &checked_members).await?,
        queues: queue_options(state, staff, except).await?,
    })
}

async fn queue_create(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let outcome: Result<Queue, (StatusCode, String)> = async {
        let body =
            queue_body_from_form(&pairs).map_err(|m| (StatusCode::UNPROCESSABLE_ENTITY, m))?;
        let settings = parse_queue(&body).map_err(|e| (error_status(&e), e.message))?;
        let queue = store
            .create_queue(ws, &settings, state.app.clock.now())
            .await
            .map_err(store_message)?;
        store
            .set_queue_members(ws, queue.id, &member_ids(&pairs))
            .await
            .map_err(store_message)?;
        Ok(queue)
    }
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to("/app/admin/queues?ok=created").into_response()),
        Err((status, message)) => {
            let face = Clockface::of(&state, &staff).await;
            let page = render(&QueuesPage {
                chrome: Chrome::new(&staff, "admin", face.now),
                tab: "queues",
                flash: String::new(),
                error: message,
                queues: queue_lines(&state, &staff).await?,
                form: typed_queue_form(&state, &staff, &pairs, None).await?,
            });
            Ok(refused(page, status))
        }
    }
}

#[derive(Template)]
#[template(path = "desk/admin_queue.html")]
struct QueuePage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    id: i64,
    form: QueueForm,
}

async fn queue_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let q = store
        .queue(ws, QueueId(id))
        .await?
        .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "Fila não encontrada.".into()))?;
    let members: Vec<i64> = store
        .queue_members(ws, q.id)
        .await?
        .into_iter()
        .map(|u| u.id.0)
        .collect();
    let face = Clockface::of(&state, &staff).await;
    Ok(render(&QueuePage {
        chrome: Chrome::new(&staff, "admin", face.now),
        tab: "queues",
        flash: flash_text(flash.ok.as_deref()),
        error: String::new(),
        id,
        form: QueueForm {
            option_number: q.option_number.to_string(),
            name: q.name.clone(),
            active: q.active,
            pick: q.distribution == balcao_store::Distribution::Pick,
            always_open: q.hours.is_none(),
            days: day_lines(q.hours.as_ref()),
            fallback_mode: q.out_of_hours == balcao_store::OutOfHoursMode::Fallback,
            fallback_queue_id: q.fallback_queue_id.map(|f| f.0).unwrap_or(0),
            accept_timeout_min: q
                .accept_timeout_secs
                .map(|s| (s / 60).max(1).to_string())
                .unwrap_or_default(),
            members: member_choices(&state, &staff, &members).await?,
            queues: queue_options(&state, &staff, Some(q.id)).await?,
        },
    }))
}

async fn queue_update(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let queue = QueueId(id);
    let outcome: Result<(), (StatusCode, String)> = async {
        let body =
            queue_body_from_form(&pairs).map_err(|m| (StatusCode::UNPROCESSABLE_ENTITY, m))?;
        let settings = parse_queue(&body).map_err(|e| (error_status(&e), e.message))?;
        store
            .update_queue(ws, queue, &settings)
            .await
            .map_err(store_message)?;
        store
            .set_queue_members(ws, queue, &member_ids(&pairs))
            .await
            .map_err(store_message)?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/app/admin/queues/{id}?ok=saved")).into_response()),
        Err((status, message)) => {
            let face = Clockface::of(&state, &staff).await;
            let page = render(&QueuePage {
                chrome: Chrome::new(&staff, "admin", face.now),
                tab: "queues",
                flash: String::new(),
                error: message,
                id,
                form: typed_queue_form(&state, &staff, &pairs, Some(queue)).await?,
            });
            Ok(refused(page, status))
        }
    }
}

async fn queue_delete(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    state
        .app
        .store
        .delete_queue(staff.0.workspace(), QueueId(id))
        .await?;
    Ok(Redirect::to("/app/admin/queues?ok=deleted").into_response())
}

// ---- automatic messages and settings ---------------------------------------------------------

struct MessageField {
    key: &'static str,
    label: &'static str,
    required: bool,
    value: String,
    error: String,
}

#[derive(Template)]
#[template(path = "desk/admin_messages.html")]
struct MessagesPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    errors: Vec<String>,
    fields: Vec<MessageField>,
    grace_min: String,
    csat_enabled: bool,
    include_optional_holidays: bool,
    variables: String,
}

fn message_fields(
    settings: &DeskSettings,
    problems: &[(AutoMessage, String)],
) -> Vec<MessageField> {
    AutoMessage::ALL
        .iter()
        .map(|m| MessageField {
            key: m.key(),
            label: m.label_pt(),
            required: m.required(),
            value: settings
                .messages
                .0
                .get(m)
                .cloned()
                .unwrap_or_else(|| settings.messages.get(*m).to_owned()),
            error: problems
                .iter()
                .filter(|(k, _)| k == m)
                .map(|(_, e)| e.clone())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect()
}

fn variables_hint() -> String {
    balcao_desk::messages::VARIABLES
        .iter()
        .map(|v| format!("{{{{{v}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn messages_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let settings = desk_settings::load(state.app.store.as_ref(), staff.workspace()).await?;
    let face = Clockface::of(&state, &staff).await;
    Ok(render(&MessagesPage {
        chrome: Chrome::new(&staff, "admin", face.now),
        tab: "messages",
        flash: flash_text(flash.ok.as_deref()),
        errors: Vec::new(),
        fields: message_fields(&settings, &[]),
        grace_min: (settings.reopen_grace_secs / 60).to_string(),
        csat_enabled: settings.csat_enabled,
        include_optional_holidays: settings.include_optional_holidays,
        variables: variables_hint(),
    }))
}

async fn messages_save(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let mut settings = DeskSettings::default();
    for m in AutoMessage::ALL {
        settings
            .messages
            .set(m, field(&pairs, m.key()).replace("\r\n", "\n"));
    }
    let mut errors = Vec::new();
    match field(&pairs, "grace_min").trim().parse::<u32>() {
        Ok(min) if min <= 7 * 24 * 60 => settings.reopen_grace_secs = min * 60,
        _ => errors
            .push("O prazo para reabrir deve ser um número de minutos (até 7 dias).".to_owned()),
    }
    settings.csat_enabled = checked(&pairs, "csat_enabled");
    settings.include_optional_holidays = checked(&pairs, "include_optional_holidays");
    let problems = settings.messages.validate().err().unwrap_or_default();
    errors.extend(problems.iter().map(|(_, e)| e.clone()));
    if errors.is_empty() {
        desk_settings::save(
            state.app.store.as_ref(),
            staff.workspace(),
            &settings,
            state.app.clock.now(),
        )
        .await?;
        return Ok(Redirect::to("/app/admin/messages?ok=saved").into_response());
    }
    let face = Clockface::of(&state, &staff).await;
    let page = render(&MessagesPage {
        chrome: Chrome::new(&staff, "admin", face.now),
        tab: "messages",
        flash: String::new(),
        errors,
        fields: message_fields(&settings, &problems),
        grace_min: field(&pairs, "grace_min").to_owned(),
        csat_enabled: settings.csat_enabled,
        include_optional_holidays: settings.include_optional_holidays,
        variables: variables_hint(),
    });
    Ok(refused(page, StatusCode::UNPROCESSABLE_ENTITY))
}

// ---- holidays ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/admin_holidays.html")]
struct HolidaysPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    own: Vec<(String, String, String)>,
    national: Vec<(String, String, bool)>,
    include_optional: bool,
    date: String,
    name: String,
}

fn br_date(date: jiff::civil::Date) -> String {
    date.strftime("%d/%m/%Y").to_string()
}

async fn holidays_render(
    state: &DeskState,
    staff: &Staff,
    flash: String,
    error: String,
    date: String,
    name: String,
) -> Result<Response, PageError> {
    let own = state.app.store.holidays(staff.workspace()).await?;
    let settings = desk_settings::load(state.app.store.as_ref(), staff.workspace()).await?;
    let face = Clockface::of(state, staff).await;
    let national = national_calendar(today(state))
        .into_iter()
        .map(|h| {
            let date: jiff::civil::Date = h.date.parse().unwrap_or_default();
            (br_date(date), h.name, h.national)
        })
        .collect();
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = render(&HolidaysPage {
        chrome: Chrome::new(staff, "admin", face.now),
        tab: "holidays",
        flash,
        error,
        own: own
            .into_iter()
            .map(|h| (h.date.to_string(), br_date(h.date), h.name))
            .collect(),
        national,
        include_optional: settings.include_optional_holidays,
        date,
        name,
    });
    Ok(refused(page, status))
}

async fn holidays_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    holidays_render(
        &state,
        &staff.0,
        flash_text(flash.ok.as_deref()),
        String::new(),
        String::new(),
        String::new(),
    )
    .await
}

async fn holiday_add(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let store = state.app.store.as_ref();
    let mut list: Vec<HolidayInput> = store
        .holidays(staff.workspace())
        .await?
        .into_iter()
        .map(|h| HolidayInput {
            date: h.date.to_string(),
            name: h.name,
        })
        .collect();
    let (date, name) = (
        field(&pairs, "date").to_owned(),
        field(&pairs, "name").to_owned(),
    );
    list.push(HolidayInput {
        date: date.clone(),
        name: name.clone(),
    });
    match parse_holidays(&list) {
        Ok(holidays) => {
            store.set_holidays(staff.workspace(), &holidays).await?;
            Ok(Redirect::to("/app/admin/holidays?ok=created").into_response())
        }
        Err(e) => holidays_render(&state, &staff, String::new(), e.message, date, name).await,
    }
}

async fn holiday_delete(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let store = state.app.store.as_ref();
    let date = field(&pairs, "date");
    let remaining: Vec<_> = store
        .holidays(staff.workspace())
        .await?
        .into_iter()
        .filter(|h| h.date.to_string() != date)
        .collect();
    store.set_holidays(staff.workspace(), &remaining).await?;
    Ok(Redirect::to("/app/admin/holidays?ok=deleted").into_response())
}

// ---- quick replies ----------------------------------------------------------------------------

struct QuickLine {
    id: i64,
    shortcut: String,
    body: String,
    queue: String,
    attachment_url: String,
}

struct QuickForm {
    shortcut: String,
    body: String,
    queue_id: i64,
    attachment_url: String,
    queues: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "desk/admin_quick.html")]
struct QuickPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    replies: Vec<QuickLine>,
    /// Editing one (its id), or 0 for the "new" form.
    editing: i64,
    form: QuickForm,
    variables: String,
}

async fn quick_render(
    state: &DeskState,
    staff: &Staff,
    flash: String,
    error: String,
    editing: i64,
    form: Option<QuickForm>,
) -> Result<Response, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let queues = queue_options(state, staff, None).await?;
    let all = store.quick_replies(ws, None).await?;
    let replies = all
        .iter()
        .map(|r| QuickLine {
            id: r.id,
            shortcut: r.shortcut.clone(),
            body: r.body.clone(),
            queue: r
                .queue_id
                .and_then(|q| queues.iter().find(|(id, _)| *id == q.0))
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| "todas as filas".into()),
            attachment_url: r.attachment_url.clone().unwrap_or_default(),
        })
        .collect();
    let form = match form {
        Some(f) => f,
        None => match all.iter().find(|r| r.id == editing) {
            Some(r) => QuickForm {
                shortcut: r.shortcut.clone(),
                body: r.body.clone(),
                queue_id: r.queue_id.map(|q| q.0).unwrap_or(0),
                attachment_url: r.attachment_url.clone().unwrap_or_default(),
                queues: queues.clone(),
            },
            None => QuickForm {
                shortcut: String::new(),
                body: String::new(),
                queue_id: 0,
                attachment_url: String::new(),
                queues: queues.clone(),
            },
        },
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let face = Clockface::of(state, staff).await;
    let page = render(&QuickPage {
        chrome: Chrome::new(staff, "admin", face.now),
        tab: "quick",
        flash,
        error,
        replies,
        editing,
        form,
        variables: variables_hint(),
    });
    Ok(refused(page, status))
}

async fn quick_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    quick_render(
        &state,
        &staff.0,
        flash_text(flash.ok.as_deref()),
        String::new(),
        0,
        None,
    )
    .await
}

async fn quick_edit_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    quick_render(&state, &staff.0, String::new(), String::new(), id, None).await
}

fn quick_body(pairs: &Pairs) -> QuickReplyBody {
    QuickReplyBody {
        shortcut: field(pairs, "shortcut").to_owned(),
        body: field(pairs, "body").replace("\r\n", "\n"),
        queue_id: field(pairs, "queue_id")
            .parse::<i64>()
            .ok()
            .filter(|q| *q > 0),
        attachment_url: Some(field(pairs, "attachment_url").to_owned()),
    }
}

async fn quick_save(
    state: &DeskState,
    staff: &Staff,
    pairs: &Pairs,
    id: Option<i64>,
) -> Result<Response, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let outcome: Result<(), (StatusCode, String)> = async {
        let new =
            parse_quick_reply(&quick_body(pairs)).map_err(|e| (error_status(&e), e.message))?;
        match id {
            Some(id) => store.update_quick_reply(ws, id, &new).await.map(|_| ()),
            None => store.create_quick_reply(ws, &new).await.map(|_| ()),
        }
        .map_err(store_message)
    }
    .await;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/app/admin/quick-replies?ok={}",
            if id.is_some() { "saved" } else { "created" }
        ))
        .into_response()),
        Err((_, message)) => {
            let form = QuickForm {
                shortcut: field(pairs, "shortcut").to_owned(),
                body: field(pairs, "body").to_owned(),
                queue_id: field(pairs, "queue_id").parse().unwrap_or(0),
                attachment_url: field(pairs, "attachment_url").to_owned(),
                queues: queue_options(state, staff, None).await?,
            };
            quick_render(
                state,
                staff,
                String::new(),
                message,
                id.unwrap_or(0),
                Some(form),
            )
            .await
        }
    }
}

async fn quick_create(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    quick_save(&state, &staff.0, &pairs, None).await
}

async fn quick_update(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    quick_save(&state, &staff.0, &pairs, Some(id)).await
}

async fn quick_delete(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    state
        .app
        .store
        .delete_quick_reply(staff.0.workspace(), id)
        .await?;
    Ok(Redirect::to("/app/admin/quick-replies?ok=deleted").into_response())
}

// ---- users ------------------------------------------------------------------------------------

struct UserLine {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    active: bool,
    max_chats: u32,
    hours: String,
    queues: String,
    presence: &'static str,
}

struct NewUserForm {
    email: String,
    name: String,
    roles: Vec<(&'static str, &'static str, bool)>,
    max_chats: String,
}

#[derive(Template)]
#[template(path = "desk/admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    users: Vec<UserLine>,
    form: NewUserForm,
}

async fn users_render(
    state: &DeskState,
    staff: &Staff,
    flash: String,
    error: String,
    form: NewUserForm,
) -> Result<Response, PageError> {
    let store = state.app.store.as_ref();
    let ws = staff.workspace();
    let queues = store.queues(ws).await?;
    let face = Clockface::of(state, staff).await;
    let mut users = Vec::new();
    for u in store.users(ws).await? {
        let member_of = store.user_queues(ws, u.id).await?;
        users.push(UserLine {
            id: u.id.0,
            name: u.name.clone(),
            email: u.email.clone(),
            role: session::role_label(u.role),
            active: u.active,
            max_chats: u.max_chats,
            hours: if u.hours.is_some() {
                hours_summary(u.hours.as_ref())
            } else {
                "o da fila".into()
            },
            queues: queues
                .iter()
                .filter(|q| member_of.contains(&q.id))
                .map(|q| q.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            presence: super::inbox::presence_label(&u, face.now),
        });
    }
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = render(&UsersPage {
        chrome: Chrome::new(staff, "admin", face.now),
        tab: "users",
        flash,
        error,
        users,
        form,
    });
    Ok(refused(page, status))
}

async fn users_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    users_render(
        &state,
        &staff.0,
        flash_text(flash.ok.as_deref()),
        String::new(),
        NewUserForm {
            email: String::new(),
            name: String::new(),
            roles: role_options(Role::Agent),
            max_chats: session::DEFAULT_MAX_CHATS.to_string(),
        },
    )
    .await
}

async fn user_create(
    State(state): State<DeskState>,
    staff: PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let role = Role::parse(field(&pairs, "role")).unwrap_or(Role::Agent);
    let max_chats = field(&pairs, "max_chats").trim().parse::<u32>().ok();
    let created = session::create_staff(
        state.app.store.as_ref(),
        staff.workspace(),
        session::NewStaff {
            email: field(&pairs, "email").to_owned(),
            name: field(&pairs, "name").to_owned(),
            role,
            password: field(&pairs, "password").to_owned(),
            max_chats: Some(max_chats.unwrap_or(0)),
        },
        state.app.clock.now(),
    )
    .await;
    match created {
        Ok(_) => Ok(Redirect::to("/app/admin/users?ok=created").into_response()),
        Err(e) => {
            let e: ApiError = e.into();
            users_render(
                &state,
                &staff,
                String::new(),
                e.message,
                NewUserForm {
                    email: field(&pairs, "email").to_owned(),
                    name: field(&pairs, "name").to_owned(),
                    roles: role_options(role),
                    max_chats: field(&pairs, "max_chats").to_owned(),
                },
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "desk/admin_user.html")]
struct UserPage {
    chrome: Chrome,
    tab: &'static str,
    flash: String,
    error: String,
    id: i64,
    email: String,
    name: String,
    roles: Vec<(&'static str, &'static str, bool)>,
    active: bool,
    max_chats: String,
    own_hours: bool,
    days: Vec<DayHours>,
    itself: bool,
}

async fn find_user(state: &DeskState, staff: &Staff, id: i64) -> Result<User, PageError> {
    state
        .app
        .store
        .user(staff.workspace(), UserId(id))
        .await?
        .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "Usuário não encontrado.".into()))
}

async fn user_page(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let u = find_user(&state, &staff, id).await?;
    let face = Clockface::of(&state, &staff).await;
    Ok(render(&UserPage {
        chrome: Chrome::new(&staff, "admin", face.now),
        tab: "users",
        flash: flash_text(flash.ok.as_deref()),
        error: String::new(),
        id,
        email: u.email.clone(),
        name: u.name.clone(),
        roles: role_options(u.role),
        active: u.active,
        max_chats: u.max_chats.to_string(),
        own_hours: u.hours.is_some(),
        days: day_lines(u.hours.as_ref()),
        itself: u.id == staff.user.id,
    }))
}

async fn user_update(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    let itself = UserId(id) == staff.user.id;
    let own_hours = checked(&pairs, "own_hours");
    let outcome: Result<(), (StatusCode, String)> = async {
        let max_chats = field(&pairs, "max_chats")
            .trim()
            .parse::<u32>()
            .map_err(|_| {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "o limite de conversas deve ser um número".to_owned(),
                )
            })?;
        let hours = if own_hours {
            let mut p = pairs.clone();
            p.retain(|(k, _)| k != "always_open");
            Some(hours_from_form(&p).unwrap_or(Value::String(String::new())))
        } else {
            Some(Value::Null)
        };
        let body = UserUpdateBody {
            name: Some(field(&pairs, "name").to_owned()),
            email: Some(field(&pairs, "email").to_owned()),
            role: (!itself).then(|| field(&pairs, "role").to_owned()),
            active: (!itself).then(|| checked(&pairs, "active")),
            max_chats: Some(max_chats),
            hours,
        };
        let mut patch = parse_user_update(&body).map_err(|e| (error_status(&e), e.message))?;
        if own_hours && matches!(patch.hours, Some(None)) {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "informe o horário próprio (pelo menos um dia) ou desmarque a opção".to_owned(),
            ));
        }
        if !own_hours {
            patch.hours = Some(None);
        }
        let store = state.app.store.as_ref();
        let user = store
            .update_user(staff.workspace(), UserId(id), patch)
            .await
            .map_err(store_message)?;
        if !user.active {
            store
                .delete_user_sessions(staff.workspace(), user.id)
                .await
                .map_err(store_message)?;
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/app/admin/users/{id}?ok=saved")).into_response()),
        Err((status, message)) => {
            let face = Clockface::of(&state, &staff).await;
            let page = render(&UserPage {
                chrome: Chrome::new(&staff, "admin", face.now),
                tab: "users",
                flash: String::new(),
                error: message,
                id,
                email: field(&pairs, "email").to_owned(),
                name: field(&pairs, "name").to_owned(),
                roles: role_options(Role::parse(field(&pairs, "role")).unwrap_or(Role::Agent)),
                active: checked(&pairs, "active"),
                max_chats: field(&pairs, "max_chats").to_owned(),
                own_hours,
                days: day_lines_from_form(&pairs),
                itself,
            });
            Ok(refused(page, status))
        }
    }
}

async fn user_password(
    State(state): State<DeskState>,
    staff: PageStaff,
    Path(id): Path<i64>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let staff = staff.0;
    match session::reset_password(
        state.app.store.as_ref(),
        staff.workspace(),
        UserId(id),
        field(&pairs, "password"),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/app/admin/users/{id}?ok=password")).into_response()),
        Err(e) => {
            let e: ApiError = e.into();
            Err(PageError::Status(e.status, e.message))
        }
    }
}

// ---- own API tokens ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "desk/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    flash: String,
    error: String,
    created: String,
    tokens: Vec<(i64, String, String)>,
}

async fn tokens_render(
    state: &DeskState,
    staff: &Staff,
    flash: String,
    error: String,
    created: String,
) -> Result<Response, PageError> {
    let face = Clockface::of(state, staff).await;
    let tokens = state
        .app
        .store
        .user_tokens(staff.workspace(), staff.user.id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name, face.full(t.created_at)))
        .collect();
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = render(&TokensPage {
        chrome: Chrome::new(staff, "tokens", face.now),
        flash,
        error,
        created,
        tokens,
    });
    Ok(refused(page, status))
}

async fn tokens_page(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    tokens_render(
        &state,
        &staff,
        flash_text(flash.ok.as_deref()),
        String::new(),
        String::new(),
    )
    .await
}

async fn token_create(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    match session::create_api_token(
        state.app.store.as_ref(),
        staff.workspace(),
        staff.user.id,
        field(&pairs, "name"),
        state.app.clock.now(),
    )
    .await
    {
        // Shown once, right here: only its hash is stored.
        Ok((_, token)) => tokens_render(&state, &staff, String::new(), String::new(), token).await,
        Err(e) => {
            let e: ApiError = e.into();
            tokens_render(&state, &staff, String::new(), e.message, String::new()).await
        }
    }
}

async fn token_delete(
    State(state): State<DeskState>,
    PageStaff(staff): PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    state
        .app
        .store
        .delete_user_token(staff.workspace(), staff.user.id, id)
        .await?;
    Ok(Redirect::to("/app/tokens?ok=deleted").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn hours_form_round_trip() {
        let form = pairs(&[
            ("hours_mon", "08:00-12:00, 13:00-18:00"),
            ("hours_sat", "08:00-12:00"),
        ]);
        let text = hours_from_form(&form).unwrap();
        let stored = crate::desk_api::parse_hours(Some(&text)).unwrap().unwrap();
        let lines = day_lines(Some(&stored));
        assert_eq!(lines[0].value, "08:00-12:00, 13:00-18:00");
        assert_eq!(lines[1].value, "");
        assert_eq!(lines[5].value, "08:00-12:00");
        assert_eq!(
            hours_from_form(&pairs(&[
                ("always_open", "1"),
                ("hours_mon", "08:00-12:00")
            ])),
            None
        );
        assert_eq!(hours_from_form(&pairs(&[])), None);
    }

    #[test]
    fn queue_form_becomes_an_api_body() {
        let form = pairs(&[
            ("option_number", "2"),
            ("name", "Financeiro"),
            ("active", "1"),
            ("distribution", "pick"),
            ("out_of_hours", "fallback"),
            ("fallback_queue_id", "7"),
            ("accept_timeout_min", "5"),
            ("member", "3"),
            ("member", "4"),
        ]);
        let body = queue_body_from_form(&form).unwrap();
        assert_eq!(body.accept_timeout_secs, Some(300));
        assert_eq!(body.fallback_queue_id, Some(7));
        let settings = parse_queue(&body).unwrap();
        assert_eq!(settings.distribution, balcao_store::Distribution::Pick);
        assert_eq!(member_ids(&form), vec![UserId(3), UserId(4)]);
        assert!(queue_body_from_form(&pairs(&[("option_number", "x")])).is_err());
    }
}
