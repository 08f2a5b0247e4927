//! What every fake shares: request parsing (query, form or JSON, as the vendors accept), the fault
//! layer, the control API and the boleto PDF route.

pub(crate) mod hubsoft;
pub(crate) mod ixc;
pub(crate) mod mkauth;
pub(crate) mod radiusnet;
pub(crate) mod sgp;
pub(crate) mod voalle;

use crate::dataset::FakeInvoice;
use crate::faults::{FaultAction, Faults, HANG};
use crate::{FakeSystem, Shared, pdf};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use balcao_domain::br::{Brl, DigitableLine};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A refusal computed before the handler's work (bad credentials, bad paging); boxed because a
/// `Response` is large and these travel in `Result`s.
pub(crate) type Denied = Box<Response>;

/// Request parameters from the query string and the body (form-urlencoded or a JSON object),
/// the body winning. JSON numbers and booleans become their text, like PHP/Django read them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Params {
        let mut map = HashMap::new();
        if let Some(query) = query {
            map.extend(crate::codec::parse_form(query));
        }
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed) {
                for (key, value) in object {
                    let text = match value {
                        Value::Null => continue,
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => other.to_string(),
                    };
                    map.insert(key, text);
                }
            }
        } else if !trimmed.is_empty() {
            map.extend(crate::codec::parse_form(trimmed));
        }
        Params(map)
    }

    /// The trimmed value, `None` when absent or blank.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub(crate) fn str(&self, key: &str) -> &str {
        self.get(key).unwrap_or_default()
    }

    pub(crate) fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// The first present key among `keys`.
    pub(crate) fn any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }
}

/// A request as the handlers see it.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) params: Params,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// The token of `Authorization: Bearer …`.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// `(user, password)` of `Authorization: Basic …`.
    pub(crate) fn basic(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(crate::codec::base64_decode(encoded.trim())?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

impl<S: Send + Sync> FromRequest<S> for Req {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        Ok(Req {
            params: Params::parse(parts.uri.query(), &body),
            method: parts.method,
            headers: parts.headers,
        })
    }
}

pub(crate) fn json(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

pub(crate) fn ok(value: Value) -> Response {
    json(StatusCode::OK, value)
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

pub(crate) fn br_date(date: Date) -> String {
    date.strftime("%d/%m/%Y").to_string()
}

pub(crate) fn iso_date(date: Date) -> String {
    date.to_string()
}

/// Local (Brasília) date and time of an instant: "2026-11-03 14:22:10".
pub(crate) fn local_datetime(at: Timestamp, format: &str) -> String {
    at.to_zoned(jiff::tz::Offset::constant(-3).to_time_zone())
        .strftime(format)
        .to_string()
}

/// Reais with a dot and two decimals, the way most ERP APIs write money: "102.35".
pub(crate) fn money(cents: i64) -> String {
    Brl::from_cents(cents).to_pix_amount()
}

/// Reais as a JSON number: 102.35.
pub(crate) fn money_number(cents: i64) -> Value {
    serde_json::Number::from_f64(cents as f64 / 100.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A date in any of the forms the vendors' clients send: YYYY-MM-DD (optionally with a time),
/// or dd/mm/yyyy.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let head = text.get(..10)?;
    if let Ok(date) = head.parse::<Date>() {
        return Some(date);
    }
    let mut parts = head.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// A moment in the forms the clients send (RFC 3339, or a local date/time, or a date).
pub(crate) fn parse_moment(text: &str, end_of_day: bool) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let tz = jiff::tz::Offset::constant(-3).to_time_zone();
    if text.len() > 10
        && let Ok(dt) = text.replace(' ', "T").parse::<jiff::civil::DateTime>()
    {
        return dt.to_zoned(tz).ok().map(|z| z.timestamp());
    }
    let date = parse_date(text)?;
    let time = if end_of_day {
        jiff::civil::Time::new(23, 59, 59, 999_999_999).ok()?
    } else {
        jiff::civil::Time::midnight()
    };
    date.to_datetime(time)
        .to_zoned(tz)
        .ok()
        .map(|z| z.timestamp())
}

/// Days an unpaid invoice is late on `today` (0 when not due yet).
pub(crate) fn days_late(invoice: &FakeInvoice, today: Date) -> i64 {
    if invoice.status.is_unpaid() && invoice.due_date < today {
        i64::from((today - invoice.due_date).get_days())
    } else {
        0
    }
}

/// A national phone as people type it: "(85) 99999-1234", "(85) 3234-5678".
pub(crate) fn format_phone(phone: &str) -> String {
    let n = crate::db::national(phone);
    if n.len() < 10 {
        return n;
    }
    let (ddd, rest) = n.split_at(2);
    let split = rest.len() - 4;
    format!("({ddd}) {}-{}", &rest[..split], &rest[split..])
}

/// The usual mask of a CPF/CNPJ: "529.982.247-25", "12.ABC.345/01DE-35".
pub(crate) fn masked_document(document: &str) -> String {
    balcao_domain::br::Document::parse(document)
        .map(|d| d.masked())
        .unwrap_or_else(|_| document.to_owned())
}

/// A plan's id: its position in the catalogue, from 1.
pub(crate) fn plan_id(plan: &str) -> usize {
    crate::names::PLANS
        .iter()
        .position(|p| p.0 == plan)
        .map_or(0, |i| i + 1)
}

/// Checks a fixed credential (SGP, IXC, RadiusNet): valid credentials still fail once after
/// `expire_tokens`, like a token revoked in the ERP's panel.
pub(crate) fn fixed_credential_ok(shared: &Shared, valid: bool) -> bool {
    valid && !shared.fault_state().take_auth_rejection()
}

/// Whether the text means yes, the ways ERPs write it: 1, true, S, sim, yes.
pub(crate) fn truthy(text: Option<&str>) -> bool {
    matches!(
        text.map(|t| t.to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "s" | "sim" | "y" | "yes")
    )
}

/// A re-issued boleto for an overdue invoice (due today, fine and interest included), the way
/// "second copy" endpoints update them: (digitable line, barcode, pix code).
pub(crate) fn updated_codes(
    provider: &crate::dataset::Provider,
    invoice: &FakeInvoice,
    today: Date,
) -> (String, String, String) {
    if invoice.status != crate::dataset::FakeInvoiceStatus::Overdue {
        return (
            invoice.digitable_line.clone(),
            invoice.barcode.clone(),
            invoice.pix_code.clone(),
        );
    }
    let bank = &invoice.barcode[..3];
    let template = crate::dataset::PixTemplate::new(provider);
    let (barcode, line, pix) = crate::dataset::payment_codes(
        invoice.id,
        bank,
        today,
        invoice.amount_due_cents(),
        &template,
        0x2,
    );
    (line, barcode, pix)
}

/// The fake's stand-in for a QR code image: a data URL of a 1×1 PNG.
pub(crate) const QR_IMAGE: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const NGINX_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const IXC_HTML_ERROR: &str = "<!DOCTYPE html>\n<html lang=\"pt-br\">\n<head><meta charset=\"utf-8\"><title>IXC Provedor</title></head>\n<body>\n<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /var/www/ixc/webservice/v1/core/Conexao.php:41\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/ixc/webservice/v1/core/Conexao.php</b> on line <b>41</b><br />\n</body>\n</html>\n";

fn html_error(system: FakeSystem) -> Response {
    match system {
        FakeSystem::Ixc => html(StatusCode::OK, IXC_HTML_ERROR),
        _ => html(StatusCode::BAD_GATEWAY, NGINX_502),
    }
}

async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

/// Applies the configured faults to every API request.
pub(crate) async fn fault_layer(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let (latency, action) = shared.fault_state().next();
    if action == FaultAction::Down {
        return html(StatusCode::SERVICE_UNAVAILABLE, NGINX_503);
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match action {
        FaultAction::Hang => {
            tokio::time::sleep(HANG).await;
            (StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout").into_response()
        }
        FaultAction::Error500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            "Internal Server Error",
        )
            .into_response(),
        FaultAction::HtmlError => html_error(shared.system),
        FaultAction::TruncateBody => truncate(next.run(request).await).await,
        FaultAction::Pass | FaultAction::Down => next.run(request).await,
    }
}

/// The whole app of one fake: its API (behind the fault layer), the boleto route and `/_fake`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = match shared.system {
        FakeSystem::Sgp => sgp::routes(),
        FakeSystem::Ixc => ixc::routes(),
        FakeSystem::Hubsoft => hubsoft::routes(),
        FakeSystem::MkAuth => mkauth::routes(),
        FakeSystem::Voalle => voalle::routes(Arc::clone(&shared)),
        FakeSystem::RadiusNet => radiusnet::routes(),
    }
    .route("/boleto/{file}", get(boleto))
    .layer(middleware::from_fn_with_state(
        Arc::clone(&shared),
        fault_layer,
    ));
    Router::new()
        .route("/_fake/faults", get(get_faults).post(post_faults))
        .route("/_fake/invoices/{id}/pay", post(pay_invoice))
        .route("/_fake/dataset", get(get_dataset))
        .route("/_fake/requests", get(get_requests))
        .merge(api)
        .with_state(shared)
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    ok(serde_json::to_value(shared.fault_state().faults()).unwrap_or_default())
}

async fn post_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let faults: Faults = if text.trim().is_empty() {
        Faults::default()
    } else {
        match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"erro": format!("falhas inválidas: {e}")}),
                );
            }
        }
    };
    let mut state = shared.fault_state();
    state.set(faults);
    ok(serde_json::to_value(state.faults()).unwrap_or_default())
}

async fn pay_invoice(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Req,
) -> Response {
    let at = match req.params.get("paid_at") {
        Some(text) => match parse_moment(text, false) {
            Some(at) => at,
            None => {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"erro": "paid_at inválido"}),
                );
            }
        },
        None => now(),
    };
    let paid = id
        .parse::<u64>()
        .ok()
        .and_then(|id| shared.write().mark_paid(id, at));
    match paid {
        Some(invoice) => ok(serde_json::json!({"ok": true, "invoice": invoice})),
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"erro": "fatura não encontrada"}),
        ),
    }
}

async fn get_dataset(State(shared): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_string(&shared.read().data).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn get_requests(State(shared): State<Arc<Shared>>) -> Response {
    ok(serde_json::json!({"count": shared.requests.load(Ordering::Relaxed)}))
}

/// Text printed on the boleto PDF and page.
fn boleto_lines(shared: &Shared, invoice_id: u64) -> Option<Vec<String>> {
    let db = shared.read();
    let slot = db.find_invoice(invoice_id)?;
    let invoice = db.invoice(slot);
    let subscriber = db.subscriber(slot.0);
    let provider = &db.data.provider;
    let line = DigitableLine::parse(&invoice.digitable_line)
        .map(|l| l.formatted())
        .unwrap_or_else(|_| invoice.digitable_line.clone());
    Some(vec![
        format!("{} - CNPJ {}", provider.name, provider.cnpj),
        "Boleto de cobranca - servico de internet".to_owned(),
        format!("Pagador: {} ({})", subscriber.name, subscriber.document),
        format!("Vencimento: {}", br_date(invoice.due_date)),
        format!("Valor: {}", Brl::from_cents(invoice.amount_cents).format()),
        format!("Nosso numero: {}", invoice.our_number),
        format!("Linha digitavel: {line}"),
        format!("Pix copia e cola: {}", invoice.pix_code),
    ])
}

/// `GET /boleto/{id}.pdf` on every fake; MK-Auth also serves its `21boleto.php?titulo=` page.
async fn boleto(State(shared): State<Arc<Shared>>, Path(file): Path<String>, req: Req) -> Response {
    if file == "21boleto.php" && shared.system == FakeSystem::MkAuth {
        let lines = req
            .params
            .u64("titulo")
            .and_then(|id| boleto_lines(&shared, id));
        return match lines {
            Some(lines) => {
                let body: String = lines
                    .iter()
                    .map(|l| format!("<p>{}</p>", l.replace('<', "&lt;")))
                    .collect();
                (
                    [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
                    format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Boleto</title></head><body>{body}</body></html>"),
                )
                    .into_response()
            }
            None => html(
                StatusCode::OK,
                "<html><body>Titulo nao encontrado</body></html>",
            ),
        };
    }
    let lines = file
        .strip_suffix(".pdf")
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| boleto_lines(&shared, id));
    match lines {
        Some(lines) => pdf_response(pdf::render(&lines)),
        None => (StatusCode::NOT_FOUND, "boleto não encontrado").into_response(),
    }
}

pub(crate) fn pdf_response(bytes: Vec<u8>) -> Response {
    let mut response = Body::from(bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    response
}

/// One PDF with the boletos of `invoice_ids`, for APIs that return the file itself (IXC
/// `get_boleto`).
pub(crate) fn boleto_pdf(shared: &Shared, invoice_ids: &[u64]) -> Vec<u8> {
    let mut lines = Vec::new();
    for &id in invoice_ids {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(boleto_lines(shared, id).unwrap_or_default());
    }
    pdf::render(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_merge_query_form_and_json() {
        let p = Params::parse(Some("a=1&b=2"), b"b=3&c=x+y");
        assert_eq!((p.str("a"), p.str("b"), p.str("c")), ("1", "3", "x y"));
        let p = Params::parse(
            None,
            br#"{"n": 5, "s": " t ", "f": false, "z": null, "e": ""}"#,
        );
        assert_eq!(p.u64("n"), Some(5));
        assert_eq!(p.get("s"), Some("t"));
        assert_eq!(p.get("f"), Some("false"));
        assert_eq!(p.get("z"), None);
        assert_eq!(p.get("e"), None);
        assert_eq!(p.any(&["x", "n"]), Some("5"));
    }

    #[test]
    fn dates_and_moments() {
        let d = Date::new(2026, 11, 3).unwrap();
        assert_eq!(parse_date("2026-11-03"), Some(d));
        assert_eq!(parse_date("03/11/2026"), Some(d));
        assert_eq!(parse_date("2026-11-03 10:00:00"), Some(d));
        assert_eq!(parse_date("3/11/26"), None);
        let start = parse_moment("2026-11-03", false).unwrap();
        assert_eq!(start.to_string(), "2026-11-03T03:00:00Z");
        let end = parse_moment("2026-11-03", true).unwrap();
        assert!(end > start);
        let local = parse_moment("2026-11-03 10:00:00", false).unwrap();
        assert_eq!(local.to_string(), "2026-11-03T13:00:00Z");
        assert_eq!(br_date(d), "03/11/2026");
        assert_eq!(money(10235), "102.35");
        assert_eq!(money_number(10235), serde_json::json!(102.35));
    }
}
