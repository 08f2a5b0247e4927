//! Grupo Voalle: client-credentials token on a separate port (45700 in production, a second
//! listener here) with `scope=syngw` and `syndata`; the API envelope
//! `{success, messages:[{message, code, type}], response}`; paged answers with
//! `{data, totalRecords, page, pageSize, totalPages}`; customers found only by CPF/CNPJ (`txid`),
//! never by phone; and about 30 requests a minute before HTTP 429.

use super::{
    Denied, Req, br_date, fault_layer, json, local_datetime, masked_document, money_number, ok,
};
use crate::Shared;
use crate::dataset::{
    FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, Subscriber,
};
use crate::db::{UnlockRefusal, national};
use crate::tokens::{TokenCheck, TokenKind};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

const TOKEN_TTL: i64 = 3_600;
const PREFIX: &str = "/external/integrations/thirdparty";
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 500;

/// The token port: `POST /connect/token`, behind the same faults as the API.
pub(crate) fn token_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/connect/token", post(token))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            fault_layer,
        ))
        .with_state(shared)
}

pub(crate) fn routes(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route(&format!("{PREFIX}/people/txid/{{txid}}"), get(person))
        .route(&format!("{PREFIX}/people"), get(people))
        .route(
            &format!("{PREFIX}/getopentitlesbytxid/{{txid}}"),
            get(open_titles),
        )
        .route(
            &format!("{PREFIX}/gettitlesbytxid/{{txid}}"),
            get(all_titles),
        )
        .route(
            &format!("{PREFIX}/contracts/unlock/{{contract}}"),
            post(unlock),
        )
        .route(
            &format!("{PREFIX}/opensolicitation"),
            post(open_solicitation),
        )
        .layer(middleware::from_fn_with_state(shared, rate_limit))
}

fn envelope(success: bool, message: &str, code: &str, response: Value) -> Value {
    let kind = if success { "Success" } else { "Error" };
    json!({
        "success": success,
        "messages": [{"message": message, "code": code, "type": kind}],
        "response": response,
    })
}

fn failure(message: &str, code: &str) -> Response {
    ok(envelope(false, message, code, Value::Null))
}

async fn rate_limit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let verdict = shared.fault_state().acquire();
    match verdict {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                envelope(
                    false,
                    &format!(
                        "Limite de requisições excedido. Tente novamente em {retry_after} segundos."
                    ),
                    "429",
                    Value::Null,
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

async fn token(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    let p = &req.params;
    let bad = |error: &str, description: &str| {
        json(
            StatusCode::BAD_REQUEST,
            json!({"error": error, "error_description": description}),
        )
    };
    if p.get("grant_type") != Some("client_credentials") {
        return bad(
            "unsupported_grant_type",
            "grant_type deve ser client_credentials",
        );
    }
    if p.get("client_id") != Some(shared.credential("client_id"))
        || p.get("client_secret") != Some(shared.credential("client_secret"))
    {
        return bad("invalid_client", "Credenciais do cliente inválidas");
    }
    if !p.str("scope").split_whitespace().any(|s| s == "syngw") {
        return bad("invalid_scope", "O escopo syngw é obrigatório");
    }
    if p.get("syndata") != Some(shared.credential("syndata")) {
        return bad("invalid_grant", "syndata inválido");
    }
    let epoch = shared.fault_state().token_epoch;
    let token = shared
        .token_store()
        .issue(TokenKind::Access, epoch, TOKEN_TTL, super::now());
    ok(json!({
        "access_token": token,
        "expires_in": TOKEN_TTL,
        "token_type": "Bearer",
        "scope": "syngw",
    }))
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    let unauthorized = || {
        Box::new(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            )
                .into_response(),
        )
    };
    let token = req.bearer().ok_or_else(unauthorized)?;
    let epoch = shared.fault_state().token_epoch;
    match shared
        .token_store()
        .check(token, TokenKind::Access, epoch, super::now())
    {
        TokenCheck::Valid => Ok(()),
        TokenCheck::Expired | TokenCheck::Unknown => Err(unauthorized()),
    }
}

fn contract_status(c: &FakeContract) -> &'static str {
    match c.status {
        FakeContractStatus::Active => "Normal",
        FakeContractStatus::ReducedSpeed => "Reduzido",
        FakeContractStatus::SuspendedDebt => "Bloqueio Financeiro",
        FakeContractStatus::SuspendedManual => "Bloqueio Administrativo",
        FakeContractStatus::SuspendedByRequest => "Suspenso",
        FakeContractStatus::TrustUnlocked => "Desbloqueio de Confiança",
        FakeContractStatus::PendingInstall => "Aguardando Instalação",
        FakeContractStatus::Cancelled => "Cancelado",
    }
}

fn person_json(s: &Subscriber) -> Value {
    let mobile = s.phones.iter().find(|p| {
        let n = national(p);
        n.len() == 11 || (n.len() == 10 && matches!(n.as_bytes()[2], b'6'..=b'9'))
    });
    let landline = s.phones.iter().find(|p| Some(*p) != mobile);
    let active = s
        .contracts
        .iter()
        .any(|c| c.status != FakeContractStatus::Cancelled);
    json!({
        "id": s.id,
        "name": s.name,
        "txId": s.document,
        "txIdFormatted": masked_document(&s.document),
        "typeTxId": if s.document.len() == 11 { 1 } else { 2 },
        "email": s.email,
        "status": if active { "Ativo" } else { "Inativo" },
        "phone": landline.map(|p| national(p)),
        "cellPhone": mobile.map(|p| national(p)),
        "city": s.city,
        "contracts": s.contracts.iter().map(|c| json!({
            "id": c.id,
            "contractNumber": c.id.to_string(),
            "description": c.plan,
            "amount": money_number(c.monthly_cents),
            "status": contract_status(c),
            "collectionDay": c.due_day,
            "unlockedUntil": c.unlock_until.map(|d| d.to_string()),
        })).collect::<Vec<_>>(),
    })
}

async fn person(State(shared): State<Arc<Shared>>, Path(txid): Path<String>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    match db.find_document(&txid) {
        Some(si) => ok(envelope(
            true,
            "Pessoa encontrada.",
            "200",
            person_json(db.subscriber(si)),
        )),
        None => failure("Pessoa não encontrada.", "404"),
    }
}

fn page_params(req: &Req) -> Result<(usize, usize), Denied> {
    let page = req.params.u64("page").unwrap_or(1) as usize;
    let size = req
        .params
        .u64("pageSize")
        .map_or(DEFAULT_PAGE_SIZE, |n| n as usize);
    if page == 0 || !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(Box::new(failure(
            "Parâmetros de paginação inválidos: page ≥ 1 e pageSize entre 1 e 500.",
            "400",
        )));
    }
    Ok((page, size))
}

fn paged(data: Vec<Value>, total: usize, page: usize, size: usize) -> Response {
    ok(json!({
        "success": true,
        "messages": [],
        "response": null,
        "data": data,
        "totalRecords": total,
        "page": page,
        "pageSize": size,
        "totalPages": total.div_ceil(size),
    }))
}

async fn people(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (page, size) = match page_params(&req) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    let db = shared.read();
    let total = db.subscribers().len();
    let data = db
        .subscribers()
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(person_json)
        .collect();
    paged(data, total, page, size)
}

fn title_json(inv: &FakeInvoice) -> Value {
    let status = match inv.status {
        FakeInvoiceStatus::Open => "Em aberto",
        FakeInvoiceStatus::Overdue => "Vencida",
        FakeInvoiceStatus::Paid => "Paga",
        FakeInvoiceStatus::Cancelled => "Cancelada",
    };
    json!({
        "id": inv.id,
        "contractId": inv.contract_id,
        "documentNumber": inv.our_number,
        "status": status,
        "issueDate": format!("{}T00:00:00", inv.issued_on),
        "expirationDate": format!("{}T00:00:00", inv.due_date),
        "paymentDate": inv.paid_at.map(|at| local_datetime(at, "%Y-%m-%dT%H:%M:%S")),
        "paidValue": money_number(inv.paid_cents),
        "billet": {
            "expirationDate": format!("{}T00:00:00", inv.due_date),
            "typefulLine": inv.digitable_line,
            "barcode": inv.barcode,
            "pixQRCode": inv.pix_code,
            "link": inv.pdf_url,
            "amount": {
                "value": money_number(inv.amount_cents),
                "finalValue": money_number(inv.amount_due_cents()),
                "fine": money_number(inv.fine_cents),
                "interest": money_number(inv.interest_cents),
            },
        },
    })
}

async fn open_titles(
    State(shared): State<Arc<Shared>>,
    Path(txid): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some(si) = db.find_document(&txid) else {
        return failure("Pessoa não encontrada.", "404");
    };
    let s = db.subscriber(si);
    let titles: Vec<Value> = s
        .invoices
        .iter()
        .filter(|i| i.status.is_unpaid())
        .map(title_json)
        .collect();
    if titles.is_empty() {
        const NONE_OPEN: &str = "Cliente não possui títulos em aberto.";
        // Both answers are seen: a warning with an empty list, or a failure.
        return if s.id.is_multiple_of(2) {
            ok(json!({
                "success": true,
                "messages": [{"message": NONE_OPEN, "code": "204", "type": "Warning"}],
                "response": [],
            }))
        } else {
            failure(NONE_OPEN, "204")
        };
    }
    ok(envelope(
        true,
        "Títulos encontrados.",
        "200",
        Value::Array(titles),
    ))
}

async fn all_titles(
    State(shared): State<Arc<Shared>>,
    Path(txid): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (page, size) = match page_params(&req) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    let db = shared.read();
    let Some(si) = db.find_document(&txid) else {
        return failure("Pessoa não encontrada.", "404");
    };
    let invoices = &db.subscriber(si).invoices;
    let data = invoices
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(title_json)
        .collect();
    paged(data, invoices.len(), page, size)
}

async fn unlock(
    State(shared): State<Arc<Shared>>,
    Path(contract): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let Ok(contract_id) = contract.trim().parse::<u64>() else {
        return failure("Contrato não encontrado.", "404");
    };
    let mut db = shared.write();
    match db.trust_unlock(contract_id, None) {
        Ok(grant) => ok(envelope(
            true,
            &format!(
                "Contrato desbloqueado em confiança até {}.",
                br_date(grant.until)
            ),
            "200",
            json!({
                "contractNumber": contract_id.to_string(),
                "unlockedUntil": grant.until.to_string(),
                "days": grant.days,
                "protocol": grant.protocol,
            }),
        )),
        Err(refusal) => {
            let (message, code) = match refusal {
                UnlockRefusal::NotFound => ("Contrato não encontrado.", "404"),
                UnlockRefusal::AlreadyUsed => (
                    "Desbloqueio em confiança já utilizado no mês corrente.",
                    "409",
                ),
                UnlockRefusal::NotBlocked => ("Contrato não está bloqueado.", "409"),
                UnlockRefusal::ContractInactive => {
                    ("Contrato cancelado ou ainda não ativado.", "422")
                }
                UnlockRefusal::NotAllowed | UnlockRefusal::ExceedsPolicy => (
                    "O bloqueio deste contrato não permite desbloqueio em confiança.",
                    "422",
                ),
            };
            failure(message, code)
        }
    }
}

async fn open_solicitation(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let Some(description) = p.get("description") else {
        return failure("O campo description é obrigatório.", "400");
    };
    let Some(client_id) = p.u64("clientId") else {
        return failure("O campo clientId é obrigatório.", "400");
    };
    let mut db = shared.write();
    let Some(si) = db.find_subscriber_id(client_id) else {
        return failure("Cliente não encontrado.", "404");
    };
    let contract = match p.get("contractId") {
        None => None,
        Some(text) => match text.parse::<u64>().ok().and_then(|id| db.find_contract(id)) {
            Some((owner, ci)) if owner == si => Some(db.subscriber(si).contracts[ci].id),
            _ => return failure("Contrato não pertence ao cliente.", "422"),
        },
    };
    let ticket = db.open_ticket(
        client_id,
        contract,
        "solicitation",
        description,
        "",
        "",
        super::now(),
    );
    ok(envelope(
        true,
        "Solicitação aberta com sucesso.",
        "200",
        json!({"id": ticket.id, "protocol": ticket.protocol}),
    ))
}
