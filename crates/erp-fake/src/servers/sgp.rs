//! SGP (TSMX): `token` + `app` in every body, paths ending in `/`, URA endpoints answering HTTP 200
//! with `status` ≠ 1 on business errors, `contratoId` vs `contrato`, the misspelled `staus`, and
//! money alternating between JSON numbers and strings (both are seen in the field).

use super::{
    Denied, Req, days_late, fixed_credential_ok, format_phone, iso_date, json, masked_document,
    money, money_number, ok, parse_date, parse_moment, plan_id, truthy, updated_codes,
};
use crate::Shared;
use crate::dataset::{
    FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, Subscriber,
};
use crate::db::{Db, Slot, UnlockRefusal};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use jiff::civil::Date;
use serde_json::{Value, json};
use std::sync::Arc;

const MAX_CLIENTS_LIMIT: usize = 100;
const MAX_TITLES_LIMIT: usize = 250;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/auth/info/", get(auth_info).post(auth_info))
        .route("/api/ura/consultacliente/", post(consult_customer))
        .route("/api/ura/clientes/", post(list_customers))
        .route("/api/ura/titulos/", post(titles))
        .route("/api/ura/fatura2via/", post(second_copy))
        .route("/api/ura/liberacaopromessa/", post(trust_unlock))
        .route("/api/ura/verificaacesso/", post(check_access))
        .route("/api/ura/chamado/", post(open_ticket))
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    // `app` is compared exactly: SGP's app names are case-sensitive.
    let valid = req.params.get("token") == Some(shared.credential("token"))
        && req.params.get("app") == Some(shared.credential("app"));
    if fixed_credential_ok(shared, valid) {
        Ok(())
    } else {
        Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            json!({"status": 0, "msg": "Acesso negado: token ou app inválido"}),
        )))
    }
}

fn error(msg: &str) -> Response {
    ok(json!({"status": 0, "msg": msg}))
}

/// Money as SGP's serializers write it: a number in some records, a string in others.
fn amount(id: u64, cents: i64) -> Value {
    if id.is_multiple_of(2) {
        money_number(cents)
    } else {
        Value::String(money(cents))
    }
}

/// (contratoStatus, contratoStatusDisplay, motivo_status). Only 1 and 3 are certain in SGP.
fn status(contract: &FakeContract) -> (i64, &'static str, String) {
    match contract.status {
        FakeContractStatus::Active => (1, "Ativo", String::new()),
        FakeContractStatus::ReducedSpeed => (2, "Ativo V. Reduzida", "Inadimplência".to_owned()),
        FakeContractStatus::SuspendedDebt => (4, "Suspenso", "Débito em aberto".to_owned()),
        FakeContractStatus::SuspendedManual => (5, "Bloqueado", "Bloqueio manual".to_owned()),
        FakeContractStatus::SuspendedByRequest => {
            (4, "Suspenso", "Solicitação do cliente".to_owned())
        }
        FakeContractStatus::TrustUnlocked => (
            1,
            "Ativo",
            format!(
                "Liberação por confiança até {}",
                contract
                    .unlock_until
                    .map(super::br_date)
                    .unwrap_or_default()
            ),
        ),
        FakeContractStatus::PendingInstall => (6, "Aguardando Instalação", String::new()),
        FakeContractStatus::Cancelled => (3, "Cancelado", "Cancelamento".to_owned()),
    }
}

async fn auth_info(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    ok(json!({
        "status": 1,
        "msg": "Credenciais válidas",
        "app": shared.credential("app"),
        "empresa": db.data.provider.name,
    }))
}

fn contract_json(s: &Subscriber, c: &FakeContract) -> Value {
    let (code, display, reason) = status(c);
    let unpaid: Vec<&FakeInvoice> = s
        .invoices
        .iter()
        .filter(|i| i.contract_id == c.id && i.status.is_unpaid())
        .collect();
    let open_cents: i64 = unpaid.iter().map(|i| i.amount_due_cents()).sum();
    json!({
        "contratoId": c.id,
        "clienteId": s.id,
        "razaoSocial": s.name,
        "cpfCnpj": masked_document(&s.document),
        "telefones": s.phones.iter().map(|p| format_phone(p)).collect::<Vec<_>>(),
        "emails": if s.email.is_empty() { vec![] } else { vec![s.email.clone()] },
        "contratoStatus": code,
        "contratoStatusDisplay": display,
        "motivo_status": reason,
        "planointernet": c.plan,
        "servico_plano": c.plan,
        "servico_login": c.login,
        "endereco_logradouro": s.address.street,
        "endereco_numero": s.address.number,
        "endereco_bairro": s.address.district,
        "endereco_cidade": s.city,
        "endereco_uf": s.state,
        "endereco_cep": s.address.zip,
        "cobVencimento": c.due_day,
        "contratoValorAberto": amount(c.id, open_cents),
        "contratoTitulosAReceber": unpaid.len(),
        "popNome": format!("POP {}", s.address.district),
        "dataCadastro": iso_date(s.registered_on),
    })
}

/// Subscribers (and optionally one contract) named by the request's filters.
fn resolve(db: &Db, req: &Req) -> Option<Vec<(usize, Option<usize>)>> {
    let p = &req.params;
    if let Some(doc) = p.get("cpfcnpj") {
        return Some(
            db.find_document(doc)
                .map(|s| (s, None))
                .into_iter()
                .collect(),
        );
    }
    if let Some(contract) = p.get("contrato") {
        let slot = contract.parse().ok().and_then(|id| db.find_contract(id));
        return Some(slot.map(|(s, c)| (s, Some(c))).into_iter().collect());
    }
    if let Some(login) = p.get("login") {
        return Some(
            db.find_login(login)
                .map(|(s, c)| (s, Some(c)))
                .into_iter()
                .collect(),
        );
    }
    if let Some(email) = p.get("email") {
        let email = email.to_lowercase();
        return Some(
            db.subscribers()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.email == email)
                .map(|(i, _)| (i, None))
                .collect(),
        );
    }
    if let Some(name) = p.get("nome") {
        let name = name.to_lowercase();
        return Some(
            db.subscribers()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.name.to_lowercase().contains(&name))
                .take(50)
                .map(|(i, _)| (i, None))
                .collect(),
        );
    }
    if let Some(phone) = p.get("telefone") {
        return Some(
            db.find_phone_exact(phone)
                .into_iter()
                .map(|s| (s, None))
                .collect(),
        );
    }
    None
}

async fn consult_customer(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let Some(found) = resolve(&db, &req) else {
        return error("Informe cpfcnpj, contrato, nome, login, email ou telefone");
    };
    let mut contracts = Vec::new();
    for (si, only) in found {
        let s = db.subscriber(si);
        for (ci, c) in s.contracts.iter().enumerate() {
            if only.is_none_or(|o| o == ci) {
                contracts.push(contract_json(s, c));
            }
        }
    }
    if contracts.is_empty() {
        return ok(json!({"msg": "Cliente não encontrado", "contratos": []}));
    }
    ok(json!({"msg": "Consulta realizada com sucesso", "contratos": contracts}))
}

fn title_json(shared: &Shared, today: Date, s: &Subscriber, inv: &FakeInvoice) -> Value {
    let status = match inv.status {
        FakeInvoiceStatus::Open | FakeInvoiceStatus::Overdue => "aberto",
        FakeInvoiceStatus::Paid => "pago",
        FakeInvoiceStatus::Cancelled => "cancelado",
    };
    json!({
        "id": inv.id,
        "numeroDocumento": format!("{}/1", inv.id),
        "contrato": inv.contract_id,
        "clienteId": s.id,
        "status": status,
        "valor": amount(inv.id, inv.amount_cents),
        "valorCorrigido": amount(inv.id, inv.amount_due_cents()),
        "valorPago": amount(inv.id, inv.paid_cents),
        "diasAtraso": days_late(inv, today),
        "codigoBarras": inv.barcode,
        "linhaDigitavel": inv.digitable_line,
        "codigoPix": inv.pix_code,
        "link": inv.pdf_url,
        "link_cobranca": format!("{}/boleto/{}.pdf", shared.origin, inv.id),
        "dataEmissao": iso_date(inv.issued_on),
        "dataVencimento": iso_date(inv.due_date),
        "dataPagamento": inv.paid_at.map(|at| super::local_datetime(at, "%Y-%m-%d")),
    })
}

fn page_bounds(req: &Req, max: usize) -> Result<(usize, usize), Denied> {
    let offset = req.params.u64("offset").unwrap_or(0) as usize;
    let limit = req.params.u64("limit").map_or(max, |l| l as usize);
    if limit == 0 || limit > max {
        return Err(Box::new(error(&format!(
            "O parâmetro limit deve estar entre 1 e {max}"
        ))));
    }
    Ok((offset, limit))
}

async fn list_customers(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (offset, limit) = match page_bounds(&req, MAX_CLIENTS_LIMIT) {
        Ok(bounds) => bounds,
        Err(e) => return *e,
    };
    let db = shared.read();
    let p = &req.params;
    let selected: Vec<(usize, Option<usize>)> = if let Some(doc) = p.get("cpfcnpj") {
        db.find_document(doc)
            .map(|s| (s, None))
            .into_iter()
            .collect()
    } else if let Some(phone) = p.get("telefone") {
        db.find_phone_exact(phone)
            .into_iter()
            .map(|s| (s, None))
            .collect()
    } else if let Some(contract) = p.get("contrato") {
        contract
            .parse()
            .ok()
            .and_then(|id| db.find_contract(id))
            .map(|(s, c)| (s, Some(c)))
            .into_iter()
            .collect()
    } else {
        (0..db.subscribers().len()).map(|s| (s, None)).collect()
    };
    let total = selected.len();
    let today = db.today();
    let clients: Vec<Value> = selected
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(si, only)| {
            let s = db.subscriber(si);
            let contracts: Vec<Value> = s
                .contracts
                .iter()
                .enumerate()
                .filter(|(ci, _)| only.is_none_or(|o| o == *ci))
                .map(|(_, c)| {
                    json!({
                        "contrato": c.id,
                        "status": status(c).1,
                        "servicos": [{
                            "plano": {"id": plan_id(&c.plan), "descricao": c.plan},
                            "login": c.login,
                            "onu": {"conexao": {"status": if c.online { "online" } else { "offline" }}},
                        }],
                    })
                })
                .collect();
            let titles: Vec<Value> = s
                .invoices
                .iter()
                .filter(|i| i.status.is_unpaid())
                .map(|i| title_json(&shared, today, s, i))
                .collect();
            json!({
                "id": s.id,
                "nome": s.name,
                "cpfcnpj": s.document,
                "telefones": s.phones.iter().map(|p| crate::db::national(p)).collect::<Vec<_>>(),
                "emails": if s.email.is_empty() { vec![] } else { vec![s.email.clone()] },
                "contratos": contracts,
                "titulos": titles,
            })
        })
        .collect();
    ok(json!({
        "clientes": clients,
        "paginacao": {"offset": offset, "limit": limit, "total": total},
    }))
}

async fn titles(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let (offset, limit) = match page_bounds(&req, MAX_TITLES_LIMIT) {
        Ok(bounds) => bounds,
        Err(e) => return *e,
    };
    let p = &req.params;
    let wanted: Option<&[FakeInvoiceStatus]> = match p.get("status") {
        None => None,
        Some("abertos" | "aberto") => Some(&[FakeInvoiceStatus::Open, FakeInvoiceStatus::Overdue]),
        Some("pagos" | "pago") => Some(&[FakeInvoiceStatus::Paid]),
        Some("cancelados" | "cancelado") => Some(&[FakeInvoiceStatus::Cancelled]),
        Some(other) => {
            return error(&format!(
                "status inválido: {other} (use abertos, pagos ou cancelados)"
            ));
        }
    };
    let date_filter = |key: &str| p.get(key).map(parse_date);
    let windows = [
        ("data_vencimento_inicio", "data_vencimento_fim"),
        ("data_emissao_inicio", "data_emissao_fim"),
        ("data_pagamento_inicio", "data_pagamento_fim"),
    ];
    let mut bounds = Vec::new();
    for (start, end) in windows {
        let (from, to) = (date_filter(start), date_filter(end));
        if matches!(from, Some(None)) || matches!(to, Some(None)) {
            return error("Data inválida: use o formato AAAA-MM-DD");
        }
        bounds.push((from.flatten(), to.flatten()));
    }
    let db = shared.read();
    let candidates: Vec<Slot> = if let Some(contract) = p.get("contrato") {
        match contract.parse().ok().and_then(|id| db.find_contract(id)) {
            Some((si, _)) => {
                let id: u64 = contract.parse().unwrap_or_default();
                let s = db.subscriber(si);
                (0..s.invoices.len())
                    .filter(|&ii| s.invoices[ii].contract_id == id)
                    .map(|ii| (si, ii))
                    .collect()
            }
            None => Vec::new(),
        }
    } else if let Some(doc) = p.get("cpfcnpj") {
        match db.find_document(doc) {
            Some(si) => (0..db.subscriber(si).invoices.len())
                .map(|ii| (si, ii))
                .collect(),
            None => Vec::new(),
        }
    } else if bounds[2].0.is_some() || bounds[2].1.is_some() {
        let from = bounds[2]
            .0
            .and_then(|d| parse_moment(&iso_date(d), false))
            .map_or(i64::MIN, |t| t.as_millisecond());
        let to = bounds[2]
            .1
            .and_then(|d| parse_moment(&iso_date(d), true))
            .map_or(i64::MAX, |t| t.as_millisecond());
        let mut slots = db.paid_between(from, to);
        slots.sort_by_key(|&slot| db.invoice(slot).id);
        slots
    } else if bounds[0].0.is_some() || bounds[0].1.is_some() {
        db.due_between(
            bounds[0].0.unwrap_or(Date::MIN),
            bounds[0].1.unwrap_or(Date::MAX),
        )
    } else {
        db.subscribers()
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.invoices.len()).map(move |ii| (si, ii)))
            .collect()
    };
    let in_window = |date: Option<Date>, (from, to): (Option<Date>, Option<Date>)| {
        if from.is_none() && to.is_none() {
            return true;
        }
        date.is_some_and(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
    };
    let matching: Vec<Slot> = candidates
        .into_iter()
        .filter(|&slot| {
            let inv = db.invoice(slot);
            let paid_day = inv.paid_at.map(|at| {
                at.to_zoned(jiff::tz::Offset::constant(-3).to_time_zone())
                    .date()
            });
            wanted.is_none_or(|w| w.contains(&inv.status))
                && in_window(Some(inv.due_date), bounds[0])
                && in_window(Some(inv.issued_on), bounds[1])
                && in_window(paid_day, bounds[2])
        })
        .collect();
    let today = db.today();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&slot| title_json(&shared, today, db.subscriber(slot.0), db.invoice(slot)))
        .collect();
    ok(json!({
        "titulos": page,
        "paginacao": {"offset": offset, "limit": limit, "total": matching.len()},
    }))
}

async fn second_copy(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let protocol = shared.write().next_protocol();
    let db = shared.read();
    let p = &req.params;
    let slot: Option<Slot> = if let Some(contract) = p.get("contrato") {
        contract.parse().ok().and_then(|id| db.find_contract(id))
    } else {
        let subscriber = if let Some(doc) = p.get("cpfcnpj") {
            db.find_document(doc)
        } else if let Some(phone) = p.get("telefone") {
            let found = db.find_phone_exact(phone);
            if found.len() > 1 {
                return error(
                    "Mais de um cliente encontrado para este telefone: informe o CPF/CNPJ",
                );
            }
            found.first().copied()
        } else {
            return error("Informe cpfcnpj, contrato ou telefone");
        };
        subscriber.map(|si| {
            let s = db.subscriber(si);
            let ci = s
                .contracts
                .iter()
                .position(|c| {
                    s.invoices
                        .iter()
                        .any(|i| i.contract_id == c.id && i.status.is_unpaid())
                })
                .unwrap_or(0);
            (si, ci)
        })
    };
    let Some((si, ci)) = slot else {
        return error("Cliente/contrato não encontrado");
    };
    let s = db.subscriber(si);
    let Some(contract) = s.contracts.get(ci) else {
        return error("Cliente sem contrato");
    };
    let today = db.today();
    let mut unpaid: Vec<&FakeInvoice> = s
        .invoices
        .iter()
        .filter(|i| i.contract_id == contract.id && i.status.is_unpaid())
        .collect();
    unpaid.sort_by_key(|i| i.due_date);
    if !truthy(p.get("faturas_abertas_todas")) {
        unpaid.truncate(1);
    }
    if unpaid.is_empty() {
        // Both answers are seen for "nothing open": an error status, or success with no links.
        return if contract.id.is_multiple_of(2) {
            ok(json!({
                "status": 1,
                "razaoSocial": s.name,
                "contratoId": contract.id,
                "protocolo": protocol,
                "link": null,
                "links": [],
            }))
        } else {
            ok(json!({
                "status": 2,
                "msg": "Não existem faturas em aberto para este contrato",
                "contratoId": contract.id,
                "protocolo": protocol,
            }))
        };
    }
    let links: Vec<Value> = unpaid
        .iter()
        .map(|inv| {
            let (line, _barcode, pix) = updated_codes(&db.data.provider, inv, today);
            let due = if inv.status == FakeInvoiceStatus::Overdue {
                today
            } else {
                inv.due_date
            };
            json!({
                "fatura": inv.id,
                "vencimento": iso_date(due),
                "vencimento_original": iso_date(inv.due_date),
                "valor": amount(inv.id, inv.amount_due_cents()),
                "valor_original": amount(inv.id, inv.amount_cents),
                "linhadigitavel": line,
                "link": inv.pdf_url,
                "link_cobranca": format!("{}/boleto/{}.pdf", shared.origin, inv.id),
                "link_pix_html": format!("{}/boleto/{}.pdf#pix", shared.origin, inv.id),
                "codigopix": pix,
            })
        })
        .collect();
    ok(json!({
        "status": 1,
        "razaoSocial": s.name,
        "contratoId": contract.id,
        "protocolo": protocol,
        "link": links[0]["link"],
        "links": links,
    }))
}

async fn trust_unlock(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let Some(contract_text) = req.params.get("contrato") else {
        return error("O parâmetro contrato é obrigatório");
    };
    let Ok(contract_id) = contract_text.parse::<u64>() else {
        return error("Contrato não encontrado");
    };
    let mut db = shared.write();
    let today = db.today();
    let requested = match req.params.get("data_promessa") {
        None => None,
        Some(text) => match parse_date(text) {
            Some(day) if day > today => {
                // SGP grants at most its configured days, whatever the promise date.
                let days = (day - today).get_days() as u32;
                Some(days.min(db.data.provider.unlock_days))
            }
            _ => return error("data_promessa inválida: informe uma data futura (AAAA-MM-DD)"),
        },
    };
    let (name, document) = match db.find_contract(contract_id) {
        Some((si, _)) => {
            let s = db.subscriber(si);
            (s.name.clone(), masked_document(&s.document))
        }
        None => (String::new(), String::new()),
    };
    match db.trust_unlock(contract_id, requested) {
        Ok(grant) => ok(json!({
            "status": 1,
            "liberado": true,
            "liberado_dias": grant.days,
            "protocolo": grant.protocol,
            "razaoSocial": name,
            "cpfCnpj": document,
            "msg": format!("Contrato liberado por {} dias, até {}", grant.days, super::br_date(grant.until)),
            "contratoId": contract_id,
        })),
        Err(UnlockRefusal::NotFound) => error("Contrato não encontrado"),
        Err(UnlockRefusal::AlreadyUsed) if contract_id.is_multiple_of(2) => {
            let protocol = db.next_protocol();
            ok(json!({
                "status": 1,
                "liberado": false,
                "liberado_dias": 0,
                "protocolo": protocol,
                "razaoSocial": name,
                "cpfCnpj": document,
                "msg": "Liberação por confiança já utilizada neste mês",
                "contratoId": contract_id,
            }))
        }
        Err(UnlockRefusal::AlreadyUsed) => ok(json!({
            "status": 2,
            "msg": "Cliente já utilizou a liberação por confiança neste mês",
            "contratoId": contract_id,
        })),
        Err(UnlockRefusal::NotBlocked) => ok(json!({
            "status": 0,
            "liberado": false,
            "msg": "Contrato não está bloqueado",
            "contratoId": contract_id,
        })),
        Err(UnlockRefusal::ContractInactive) => ok(json!({
            "status": 0,
            "msg": "Contrato cancelado ou inativo",
            "contratoId": contract_id,
        })),
        Err(UnlockRefusal::NotAllowed | UnlockRefusal::ExceedsPolicy) => ok(json!({
            "status": 0,
            "liberado": false,
            "msg": "Liberação por confiança não permitida para este contrato",
            "contratoId": contract_id,
        })),
    }
}

async fn check_access(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let db = shared.read();
    let slot = if let Some(contract) = req.params.get("contrato") {
        contract.parse().ok().and_then(|id| db.find_contract(id))
    } else if let Some(phone) = req.params.get("telefone") {
        db.find_phone_exact(phone).first().and_then(|&si| {
            let s = db.subscriber(si);
            s.contracts
                .iter()
                .position(|c| c.status != FakeContractStatus::Cancelled)
                .map(|ci| (si, ci))
        })
    } else {
        return error("Informe contrato ou telefone");
    };
    let Some(slot) = slot else {
        return error("Contrato não encontrado");
    };
    let contract = db.contract(slot);
    ok(json!({
        "status": if contract.online { 1 } else { 0 },
        "msg": if contract.online { "Serviço Online" } else { "Serviço Offline" },
        "staus": status(contract).1,
        "contratoId": contract.id,
        "login": contract.login,
    }))
}

async fn open_ticket(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let Some(contract_id) = p.u64("contrato") else {
        return error("O parâmetro contrato é obrigatório");
    };
    let kind = p.get("ocorrenciatipo").unwrap_or("1");
    if kind.parse::<u32>().is_err() {
        return error("ocorrenciatipo inválido");
    }
    let Some(description) = p.get("conteudo") else {
        return error("O parâmetro conteudo é obrigatório");
    };
    let mut db = shared.write();
    let Some((si, _)) = db.find_contract(contract_id) else {
        return error("Contrato não encontrado");
    };
    let subscriber_id = db.subscriber(si).id;
    let ticket = db.open_ticket(
        subscriber_id,
        Some(contract_id),
        kind,
        description,
        p.str("contato_nome"),
        p.str("contato_telefone"),
        super::now(),
    );
    ok(json!({
        "status": 1,
        "protocolo": ticket.protocol,
        "msg": "Chamado aberto com sucesso",
        "contratoId": contract_id,
        "chamadoId": ticket.id,
    }))
}
