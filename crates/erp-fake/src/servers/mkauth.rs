//! MK-Auth: `GET /api/` with Basic `client_id:client_secret` answers the raw JWT (valid ~600 s),
//! then `Authorization: Bearer`. Each login is a "cliente" record; not found is the bare body
//! `NULL`; values are strings; pagination is written in the path (`limite=50&pagina=2`). The trust
//! unlock exists in two forms in the wild, both served: `PUT /api/cliente/editar` with
//! `bloqueado=nao` and `GET /api/cliente/desbloqueio/{uuid}`. No ticket creation.

use super::{
    Denied, QR_IMAGE, Req, br_date, iso_date, json, local_datetime, masked_document, money, ok,
};
use crate::Shared;
use crate::dataset::{
    FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, Subscriber,
};
use crate::db::{Db, Slot, UnlockRefusal, national};
use crate::tokens::TokenCheck;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};
use std::sync::Arc;

/// MK-Auth's JWTs live about ten minutes.
pub(crate) const JWT_TTL: i64 = 600;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/", get(login))
        .route("/api/cliente/show/{key}", get(show_customer))
        .route("/api/cliente/listar/{*params}", get(list_customers))
        .route("/api/cliente/editar", put(edit_customer))
        .route("/api/cliente/desbloqueio/{uuid}", get(unlock))
        .route("/api/titulo/aberto/{key}", get(open_titles))
        .route("/api/titulo/show/{titulo}", get(show_title))
        .route("/api/titulo/listar/{*params}", get(list_titles))
}

fn denied() -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        json!({"status": "erro", "mensagem": "Token inválido ou expirado"}),
    )
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    let token = req.bearer().ok_or_else(|| Box::new(denied()))?;
    let epoch = shared.fault_state().token_epoch;
    match shared.token_store().check_jwt(token, epoch, super::now()) {
        TokenCheck::Valid => Ok(()),
        TokenCheck::Expired | TokenCheck::Unknown => Err(Box::new(denied())),
    }
}

/// The bare `NULL` MK-Auth prints when a record does not exist.
fn null() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=UTF-8")], "NULL").into_response()
}

fn error(message: &str) -> Response {
    ok(json!({"status": "erro", "mensagem": message}))
}

async fn login(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    let valid = req.basic().is_some_and(|(id, secret)| {
        id == shared.credential("client_id") && secret == shared.credential("client_secret")
    });
    if !valid {
        return json(
            StatusCode::UNAUTHORIZED,
            json!({"status": "erro", "mensagem": "Client_Id ou Client_Secret inválido"}),
        );
    }
    let epoch = shared.fault_state().token_epoch;
    let jwt =
        shared
            .token_store()
            .jwt(shared.credential("client_id"), epoch, JWT_TTL, super::now());
    ([(header::CONTENT_TYPE, "text/html; charset=UTF-8")], jwt).into_response()
}

/// A stable UUID per client record whose last group carries the contract id.
pub(crate) fn uuid(contract_id: u64) -> String {
    let mut rng = crate::rng::Rng::derive(0x4d4b_4155_5448, contract_id);
    let a = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-9{:03x}-{contract_id:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        rng.next_u64() & 0xfff
    )
}

fn contract_from_uuid(db: &Db, text: &str) -> Option<Slot> {
    let id = u64::from_str_radix(text.trim().rsplit('-').next()?, 16).ok()?;
    (uuid(id) == text.trim()).then_some(())?;
    db.find_contract(id)
}

fn blocked(c: &FakeContract) -> bool {
    matches!(
        c.status,
        FakeContractStatus::SuspendedDebt
            | FakeContractStatus::SuspendedManual
            | FakeContractStatus::SuspendedByRequest
    )
}

fn customer_json(s: &Subscriber, c: &FakeContract) -> Value {
    let mobile = s.phones.iter().find(|p| {
        national(p).len() == 11 || {
            let n = national(p);
            n.len() == 10 && matches!(n.as_bytes()[2], b'6'..=b'9')
        }
    });
    let landline = s.phones.iter().find(|p| Some(*p) != mobile);
    let enabled = !matches!(
        c.status,
        FakeContractStatus::Cancelled | FakeContractStatus::PendingInstall
    );
    let cut = match c.status {
        FakeContractStatus::ReducedSpeed => "down",
        _ if blocked(c) => "bloq",
        _ => "full",
    };
    json!({
        "uuid_cliente": uuid(c.id),
        "nome": s.name,
        "cpf_cnpj": masked_document(&s.document),
        "login": c.login,
        "email": s.email,
        "celular": mobile.map(|p| national(p)).unwrap_or_default(),
        "fone": landline.map(|p| national(p)).unwrap_or_default(),
        "bloqueado": if blocked(c) { "sim" } else { "nao" },
        "cli_ativado": if enabled { "s" } else { "n" },
        "status_corte": cut,
        "plano": c.plan,
        "venc": c.due_day.to_string(),
        "cidade": s.city,
        "estado": s.state,
        "endereco": s.address.street,
        "numero": s.address.number,
        "bairro": s.address.district,
        "cep": s.address.zip,
        "cadastro": br_date(s.registered_on),
        "observacao": if c.status == FakeContractStatus::TrustUnlocked {
            format!("Desbloqueio de confiança até {}", c.unlock_until.map(br_date).unwrap_or_default())
        } else {
            String::new()
        },
    })
}

/// A login names one record; a CPF/CNPJ names the subscriber's records (first active one first).
fn resolve(db: &Db, key: &str) -> Option<(usize, Option<usize>)> {
    if let Some((si, ci)) = db.find_login(key.trim()) {
        return Some((si, Some(ci)));
    }
    db.find_document(key).map(|si| (si, None))
}

fn main_record(s: &Subscriber) -> usize {
    s.contracts
        .iter()
        .position(|c| c.status != FakeContractStatus::Cancelled)
        .unwrap_or(0)
}

async fn show_customer(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some((si, ci)) = resolve(&db, &key) else {
        return null();
    };
    let s = db.subscriber(si);
    let Some(c) = s.contracts.get(ci.unwrap_or_else(|| main_record(s))) else {
        return null();
    };
    ok(customer_json(s, c))
}

fn title_json(shared: &Shared, inv: &FakeInvoice, login: &str) -> Value {
    let status = match inv.status {
        FakeInvoiceStatus::Open | FakeInvoiceStatus::Overdue => "aberto",
        FakeInvoiceStatus::Paid => "pago",
        FakeInvoiceStatus::Cancelled => "cancelado",
    };
    json!({
        "uuid": uuid(inv.id),
        "titulo": inv.id.to_string(),
        "login": login,
        "valor": money(inv.amount_cents),
        "valorpag": money(inv.paid_cents),
        "datavenc": iso_date(inv.due_date),
        "datapag": inv.paid_at.map(|at| local_datetime(at, "%Y-%m-%d")),
        "nossonum": inv.our_number,
        "linhadig": inv.digitable_line,
        "status": status,
        "tipo": "boleto",
        "pix": inv.pix_code,
        "pix_link": format!("{}/boleto/{}.pdf", shared.origin, inv.id),
        "pix_qr": QR_IMAGE,
    })
}

async fn open_titles(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some((si, ci)) = resolve(&db, &key) else {
        return null();
    };
    let s = db.subscriber(si);
    let only = ci.map(|ci| s.contracts[ci].id);
    let titles: Vec<Value> = s
        .invoices
        .iter()
        .filter(|inv| inv.status.is_unpaid() && only.is_none_or(|id| inv.contract_id == id))
        .map(|inv| {
            let login = s
                .contracts
                .iter()
                .find(|c| c.id == inv.contract_id)
                .map_or("", |c| c.login.as_str());
            title_json(&shared, inv, login)
        })
        .collect();
    ok(json!({"Total": titles.len(), "titulos": titles}))
}

async fn show_title(
    State(shared): State<Arc<Shared>>,
    Path(titulo): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some(slot) = titulo
        .trim()
        .parse()
        .ok()
        .and_then(|id| db.find_invoice(id))
    else {
        return null();
    };
    let inv = db.invoice(slot);
    let login = db
        .find_contract(inv.contract_id)
        .map(|slot| db.contract(slot).login.clone())
        .unwrap_or_default();
    ok(title_json(&shared, inv, &login))
}

/// `limite=50&pagina=2` (or `limite=50/pagina=2`) from the path, plus an optional `status=`.
fn path_params(raw: &str) -> Result<(usize, usize, Option<String>), Denied> {
    let mut limit = DEFAULT_PAGE;
    let mut page = 1;
    let mut status = None;
    for (key, value) in raw
        .split(['&', '/'])
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
    {
        match key {
            "limite" => {
                limit = value
                    .parse()
                    .map_err(|_| Box::new(error("limite inválido")))?
            }
            "pagina" => {
                page = value
                    .parse()
                    .map_err(|_| Box::new(error("pagina inválida")))?
            }
            "status" => status = Some(value.to_owned()),
            _ => {}
        }
    }
    if !(1..=MAX_PAGE).contains(&limit) || page == 0 {
        return Err(Box::new(error(
            "limite deve estar entre 1 e 500 e pagina a partir de 1",
        )));
    }
    Ok((limit, page, status))
}

async fn list_customers(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (limit, page, _) = match path_params(&params) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    let db = shared.read();
    let records: Vec<Slot> = db
        .subscribers()
        .iter()
        .enumerate()
        .flat_map(|(si, s)| (0..s.contracts.len()).map(move |ci| (si, ci)))
        .collect();
    let total = records.len();
    let clients: Vec<Value> = records
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|&slot| customer_json(db.subscriber(slot.0), db.contract(slot)))
        .collect();
    ok(json!({
        "clientes": clients,
        "total_registros": total,
        "total_paginas": total.div_ceil(limit),
        "pagina_atual": page,
    }))
}

async fn list_titles(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (limit, page, status) = match path_params(&params) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    let wanted: Option<&[FakeInvoiceStatus]> = match status.as_deref() {
        None => None,
        Some("aberto") => Some(&[FakeInvoiceStatus::Open, FakeInvoiceStatus::Overdue]),
        Some("pago") => Some(&[FakeInvoiceStatus::Paid]),
        Some("cancelado") => Some(&[FakeInvoiceStatus::Cancelled]),
        Some(other) => return error(&format!("status inválido: {other}")),
    };
    let db = shared.read();
    let titles: Vec<Slot> = db
        .subscribers()
        .iter()
        .enumerate()
        .flat_map(|(si, s)| (0..s.invoices.len()).map(move |ii| (si, ii)))
        .filter(|&slot| wanted.is_none_or(|w| w.contains(&db.invoice(slot).status)))
        .collect();
    let total = titles.len();
    let page_titles: Vec<Value> = titles
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|&slot| {
            let inv = db.invoice(slot);
            let login = db
                .find_contract(inv.contract_id)
                .map(|c| db.contract(c).login.clone())
                .unwrap_or_default();
            title_json(&shared, inv, &login)
        })
        .collect();
    ok(json!({
        "titulos": page_titles,
        "total_registros": total,
        "total_paginas": total.div_ceil(limit),
        "pagina_atual": page,
    }))
}

fn unlock_answer(db: &mut Db, slot: Slot) -> Response {
    let contract_id = db.contract(slot).id;
    match db.trust_unlock(contract_id, None) {
        Ok(grant) => ok(json!({
            "status": "sucesso",
            "mensagem": format!("Cliente desbloqueado até {}", br_date(grant.until)),
        })),
        Err(refusal) => error(match refusal {
            UnlockRefusal::NotFound => "Cliente não encontrado",
            UnlockRefusal::AlreadyUsed => "Desbloqueio de confiança já utilizado neste mês",
            UnlockRefusal::NotBlocked => "Cliente não está bloqueado",
            UnlockRefusal::ContractInactive => "Cliente desativado",
            UnlockRefusal::NotAllowed | UnlockRefusal::ExceedsPolicy => {
                "Desbloqueio não permitido para este cliente"
            }
        }),
    }
}

async fn unlock(State(shared): State<Arc<Shared>>, Path(uuid): Path<String>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let mut db = shared.write();
    match contract_from_uuid(&db, &uuid) {
        Some(slot) => unlock_answer(&mut db, slot),
        None => error("Cliente não encontrado"),
    }
}

async fn edit_customer(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let Some(uuid) = p.get("uuid") else {
        return error("O campo uuid é obrigatório");
    };
    let mut db = shared.write();
    let Some(slot) = contract_from_uuid(&db, uuid) else {
        return error("Cliente não encontrado");
    };
    match p.get("bloqueado").map(str::to_ascii_lowercase).as_deref() {
        Some("nao" | "não") => unlock_answer(&mut db, slot),
        Some("sim") => {
            let id = db.contract(slot).id;
            db.set_contract_status(id, FakeContractStatus::SuspendedManual);
            ok(json!({"status": "sucesso", "mensagem": "Registro editado com sucesso"}))
        }
        Some(_) => error("bloqueado deve ser sim ou nao"),
        None => ok(json!({"status": "sucesso", "mensagem": "Registro editado com sucesso"})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_carries_the_contract_id() {
        let u = uuid(1_000_123);
        assert_eq!(u.len(), 36);
        assert!(u.ends_with(&format!("{:012x}", 1_000_123)));
        assert_eq!(u, uuid(1_000_123));
        assert_ne!(u, uuid(1_000_124));
    }

    #[test]
    fn pagination_in_the_path() {
        assert_eq!(path_params("limite=10&pagina=3").unwrap(), (10, 3, None));
        assert_eq!(
            path_params("limite=5/pagina=1/status=pago").unwrap(),
            (5, 1, Some("pago".to_owned()))
        );
        assert!(path_params("limite=0").is_err());
        assert!(path_params("limite=x").is_err());
    }
}
