//! RadiusNet (known only from third-party code): raw `RTOKEN` header, answers
//! `{status, message?, rows}`; plans by CPF, charges by customer and filter, boleto URL, Pix
//! (`rows.qrcode_copy_paste`, `rows` an object in some answers and a one-item list in others) and
//! the payment promise that releases access. No phone lookup, no tickets, no pagination.

use super::{
    Denied, QR_IMAGE, Req, br_date, fixed_credential_ok, iso_date, json, local_datetime, money, ok,
};
use crate::Shared;
use crate::dataset::{FakeContract, FakeContractStatus, FakeInvoiceStatus};
use crate::db::UnlockRefusal;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Value, json};
use std::sync::Arc;

const PREFIX: &str = "/radiusnet/index.php/api/v1";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(&format!("{PREFIX}/cp/{{cpf}}"), get(plans))
        .route(&format!("{PREFIX}/cbc/{{filter}}/{{client}}"), get(charges))
        .route(&format!("{PREFIX}/bc/{{charge}}"), get(boleto_url))
        .route(&format!("{PREFIX}/scp/{{charge}}"), get(pix))
        .route(&format!("{PREFIX}/ppg/{{charge}}"), put(payment_promise))
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    let valid = req.header("rtoken") == Some(shared.credential("token"));
    if fixed_credential_ok(shared, valid) {
        Ok(())
    } else {
        Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            json!({"status": "error", "message": "RTOKEN inválido ou ausente"}),
        )))
    }
}

fn error(message: &str) -> Response {
    ok(json!({"status": "error", "message": message, "rows": []}))
}

fn plan_status(c: &FakeContract) -> &'static str {
    match c.status {
        FakeContractStatus::Active => "ativo",
        FakeContractStatus::ReducedSpeed => "reduzido",
        FakeContractStatus::SuspendedDebt => "bloqueado",
        FakeContractStatus::SuspendedManual => "bloqueado_manual",
        FakeContractStatus::SuspendedByRequest => "suspenso",
        FakeContractStatus::TrustUnlocked => "liberado_promessa",
        FakeContractStatus::PendingInstall => "instalacao",
        FakeContractStatus::Cancelled => "cancelado",
    }
}

async fn plans(State(shared): State<Arc<Shared>>, Path(cpf): Path<String>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some(si) = db.find_document(&cpf) else {
        return error("Cliente não encontrado");
    };
    let s = db.subscriber(si);
    let rows: Vec<Value> = s
        .contracts
        .iter()
        .map(|c| {
            json!({
                "id_cliente": s.id.to_string(),
                "nome": s.name,
                "cpf": s.document,
                "id_contrato": c.id.to_string(),
                "plano": c.plan,
                "valor": money(c.monthly_cents),
                "status": plan_status(c),
                "login": c.login,
                "online": if c.online { "1" } else { "0" },
                "vencimento": c.due_day.to_string(),
                "liberado_ate": c.unlock_until.map(iso_date),
            })
        })
        .collect();
    ok(json!({"status": "success", "rows": rows}))
}

async fn charges(
    State(shared): State<Arc<Shared>>,
    Path((filter, client)): Path<(String, String)>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let wanted: &[FakeInvoiceStatus] = match filter.as_str() {
        "abertas" => &[FakeInvoiceStatus::Open, FakeInvoiceStatus::Overdue],
        "vencidas" => &[FakeInvoiceStatus::Overdue],
        "pagas" => &[FakeInvoiceStatus::Paid],
        "canceladas" => &[FakeInvoiceStatus::Cancelled],
        "todas" => &[
            FakeInvoiceStatus::Open,
            FakeInvoiceStatus::Overdue,
            FakeInvoiceStatus::Paid,
            FakeInvoiceStatus::Cancelled,
        ],
        other => {
            return error(&format!(
                "Filtro inválido: {other} (use abertas, vencidas, pagas, canceladas ou todas)"
            ));
        }
    };
    let db = shared.read();
    let Some(si) = client.parse().ok().and_then(|id| db.find_subscriber_id(id)) else {
        return error("Cliente não encontrado");
    };
    let rows: Vec<Value> = db
        .subscriber(si)
        .invoices
        .iter()
        .filter(|inv| wanted.contains(&inv.status))
        .map(|inv| {
            let status = match inv.status {
                FakeInvoiceStatus::Open => "aberta",
                FakeInvoiceStatus::Overdue => "vencida",
                FakeInvoiceStatus::Paid => "paga",
                FakeInvoiceStatus::Cancelled => "cancelada",
            };
            json!({
                "id_cobranca": inv.id.to_string(),
                "id_contrato": inv.contract_id.to_string(),
                "linha_digitavel": inv.digitable_line,
                "data_vencimento": iso_date(inv.due_date),
                "valor": money(inv.amount_cents),
                "valor_total_a_pagar": money(if inv.status.is_unpaid() { inv.amount_due_cents() } else { 0 }),
                "valor_pago": money(inv.paid_cents),
                "status": status,
                "data_pagamento": inv.paid_at.map(|at| local_datetime(at, "%Y-%m-%d %H:%M:%S")),
            })
        })
        .collect();
    ok(json!({"status": "success", "rows": rows}))
}

async fn boleto_url(
    State(shared): State<Arc<Shared>>,
    Path(charge): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    match charge.parse().ok().and_then(|id| db.find_invoice(id)) {
        Some(slot) => ok(json!({"status": "success", "rows": {"url": db.invoice(slot).pdf_url}})),
        None => error("Cobrança não encontrada"),
    }
}

async fn pix(State(shared): State<Arc<Shared>>, Path(charge): Path<String>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some(slot) = charge.parse().ok().and_then(|id| db.find_invoice(id)) else {
        return error("Cobrança não encontrada");
    };
    let inv = db.invoice(slot);
    if !inv.status.is_unpaid() {
        return error("Cobrança já paga ou cancelada");
    }
    let row = json!({
        "id_cobranca": inv.id.to_string(),
        "qrcode_copy_paste": inv.pix_code,
        "qrcode_image": QR_IMAGE,
        "valor": money(inv.amount_cents),
    });
    // Seen both as an object and as a one-item list.
    let rows = if inv.id.is_multiple_of(2) {
        row
    } else {
        Value::Array(vec![row])
    };
    ok(json!({"status": "success", "rows": rows}))
}

async fn payment_promise(
    State(shared): State<Arc<Shared>>,
    Path(charge): Path<String>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let mut db = shared.write();
    let Some(slot) = charge.parse().ok().and_then(|id| db.find_invoice(id)) else {
        return error("Cobrança não encontrada");
    };
    let inv = db.invoice(slot);
    if !inv.status.is_unpaid() {
        return error("Cobrança já paga ou cancelada");
    }
    let (invoice_id, contract_id) = (inv.id, inv.contract_id);
    match db.trust_unlock(contract_id, None) {
        Ok(grant) => ok(json!({
            "status": "success",
            "message": format!(
                "Promessa de pagamento registrada. Acesso liberado até {}.",
                br_date(grant.until)
            ),
            "rows": {
                "id_cobranca": invoice_id.to_string(),
                "data_promessa": iso_date(grant.until),
                "protocolo": grant.protocol,
            },
        })),
        Err(refusal) => error(match refusal {
            UnlockRefusal::AlreadyUsed => "Promessa de pagamento já utilizada neste mês",
            UnlockRefusal::NotBlocked => "Cliente não está bloqueado",
            UnlockRefusal::ContractInactive => "Contrato inativo",
            UnlockRefusal::NotFound => "Contrato não encontrado",
            UnlockRefusal::NotAllowed | UnlockRefusal::ExceedsPolicy => {
                "Promessa de pagamento não permitida para este contrato"
            }
        }),
    }
}
