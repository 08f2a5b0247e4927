//! Hubsoft: OAuth password grant (`/oauth/token`, 30-day tokens, 401 means log in again), the
//! integration API answering HTTP 200 `{status:"error", msg, errors}` on business errors, customer
//! dates in dd/mm/yyyy, paged invoice listing in YYYY-MM-DD with amounts as strings, and the
//! "suscess" typo in some invoice answers.

use super::{
    Denied, Req, br_date, format_phone, iso_date, json, local_datetime, money, money_number, ok,
    parse_date, parse_moment, plan_id, truthy,
};
use crate::Shared;
use crate::dataset::{
    FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, PersonType, Subscriber,
};
use crate::db::{Db, Slot, UnlockRefusal};
use crate::tokens::{TokenCheck, TokenKind};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// Hubsoft's access tokens last 30 days.
const ACCESS_TTL: i64 = 2_592_000;
const REFRESH_TTL: i64 = 2 * ACCESS_TTL;
const MAX_PAGE_ITEMS: usize = 500;
const MAX_CUSTOMER_LIMIT: usize = 100;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v1/integracao/cliente", get(customers))
        .route(
            "/api/v1/integracao/cliente/financeiro",
            get(customer_invoices),
        )
        .route("/api/v1/integracao/financeiro/fatura", get(invoice_page))
        .route(
            "/api/v1/integracao/cliente/desbloqueio_confianca",
            post(trust_unlock),
        )
        .route("/api/v1/integracao/atendimento", post(open_ticket))
}

fn unauthenticated() -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        json!({"message": "Unauthenticated."}),
    )
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    let token = req.bearer().ok_or_else(|| Box::new(unauthenticated()))?;
    let epoch = shared.fault_state().token_epoch;
    match shared
        .token_store()
        .check(token, TokenKind::Access, epoch, super::now())
    {
        TokenCheck::Valid => Ok(()),
        TokenCheck::Expired | TokenCheck::Unknown => Err(Box::new(unauthenticated())),
    }
}

fn error(msg: &str) -> Response {
    ok(json!({"status": "error", "msg": msg, "errors": [msg]}))
}

async fn token(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    let p = &req.params;
    let client_ok = p.get("client_id") == Some(shared.credential("client_id"))
        && p.get("client_secret") == Some(shared.credential("client_secret"));
    let now = super::now();
    let epoch = shared.fault_state().token_epoch;
    match p.get("grant_type") {
        Some("password") | Some("refresh_token") if !client_ok => json(
            StatusCode::UNAUTHORIZED,
            json!({
                "error": "invalid_client",
                "error_description": "Client authentication failed",
                "message": "Client authentication failed",
            }),
        ),
        Some("password") => {
            if p.get("username") != Some(shared.credential("username"))
                || p.get("password") != Some(shared.credential("password"))
            {
                return json(
                    StatusCode::UNAUTHORIZED,
                    json!({
                        "error": "invalid_credentials",
                        "error_description": "The user credentials were incorrect.",
                        "message": "The user credentials were incorrect.",
                    }),
                );
            }
            issue(&shared, epoch, now)
        }
        Some("refresh_token") => {
            let refresh = p.str("refresh_token").to_owned();
            let check = shared
                .token_store()
                .check(&refresh, TokenKind::Refresh, epoch, now);
            if check != TokenCheck::Valid {
                return json(
                    StatusCode::UNAUTHORIZED,
                    json!({
                        "error": "invalid_request",
                        "error_description": "The refresh token is invalid.",
                        "message": "The refresh token is invalid.",
                    }),
                );
            }
            shared.token_store().revoke(&refresh);
            issue(&shared, epoch, now)
        }
        _ => json(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the authorization server.",
                "message": "The authorization grant type is not supported by the authorization server.",
            }),
        ),
    }
}

fn issue(shared: &Shared, epoch: u64, now: jiff::Timestamp) -> Response {
    let mut store = shared.token_store();
    let access = store.issue(TokenKind::Access, epoch, ACCESS_TTL, now);
    let refresh = store.issue(TokenKind::Refresh, epoch, REFRESH_TTL, now);
    ok(json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL,
        "access_token": access,
        "refresh_token": refresh,
    }))
}

/// (status_prefixo, status) of a service.
fn service_status(c: &FakeContract) -> (&'static str, &'static str) {
    match c.status {
        FakeContractStatus::Active | FakeContractStatus::TrustUnlocked => {
            ("servico_habilitado", "Serviço Habilitado")
        }
        FakeContractStatus::ReducedSpeed => ("suspenso_parcialmente", "Suspenso Parcialmente"),
        FakeContractStatus::SuspendedDebt => ("suspenso_debito", "Suspenso por Débito"),
        FakeContractStatus::SuspendedManual => ("suspenso_manual", "Suspenso Manualmente"),
        FakeContractStatus::SuspendedByRequest => {
            ("suspenso_pedido_cliente", "Suspenso a Pedido do Cliente")
        }
        FakeContractStatus::PendingInstall => ("aguardando_instalacao", "Aguardando Instalação"),
        FakeContractStatus::Cancelled => ("cancelado", "Cancelado"),
    }
}

/// Hubsoft's customer code is the sequence the provider sees, not the internal id.
fn customer_code(s: &Subscriber) -> u64 {
    s.id - crate::dataset::FIRST_SUBSCRIBER_ID + 1
}

fn service_json(c: &FakeContract) -> Value {
    let (prefix, status) = service_status(c);
    json!({
        "id_cliente_servico": c.id,
        "numero_plano": plan_id(&c.plan),
        "nome": c.plan,
        "valor": money_number(c.monthly_cents),
        "status": status,
        "status_prefixo": prefix,
        "login": c.login,
        "dia_vencimento": c.due_day,
        "data_habilitacao": c.activated_on.map(br_date),
        "desbloqueio_confianca": {
            "ativo": c.status == FakeContractStatus::TrustUnlocked,
            "data_fim": c.unlock_until.map(br_date),
            "utilizado_mes_atual": c.unlock_used_this_month,
        },
        "ultima_conexao": {
            "conectado": c.online,
            "ip": format!("100.64.{}.{}", (c.id / 250) % 250, c.id % 250 + 2),
        },
    })
}

fn customer_json(s: &Subscriber) -> Value {
    let phone = |i: usize| s.phones.get(i).map(|p| format_phone(p));
    json!({
        "id_cliente": s.id,
        "codigo_cliente": customer_code(s),
        "nome_razaosocial": s.name,
        "nome_fantasia": if s.person_type == PersonType::Company { Some(&s.name) } else { None },
        "tipo_pessoa": if s.person_type == PersonType::Company { "pj" } else { "pf" },
        "cpf_cnpj": s.document,
        "telefone_primario": phone(0),
        "telefone_secundario": phone(1),
        "telefone_terciario": phone(2),
        "email_principal": if s.email.is_empty() { None } else { Some(&s.email) },
        "data_cadastro": br_date(s.registered_on),
        "endereco": {
            "logradouro": s.address.street,
            "numero": s.address.number,
            "bairro": s.address.district,
            "cidade": s.city,
            "uf": s.state,
            "cep": s.address.zip,
        },
        "servicos": s.contracts.iter().map(service_json).collect::<Vec<_>>(),
    })
}

/// The subscribers a `busca`/`termo_busca` pair names; `Err` for an unknown `busca`.
fn search(db: &Db, kind: &str, term: &str) -> Result<Vec<usize>, String> {
    let by_id = |id: Option<u64>| -> Vec<usize> {
        id.and_then(|id| db.find_subscriber_id(id))
            .into_iter()
            .collect()
    };
    Ok(match kind {
        "cpf_cnpj" => db.find_document(term).into_iter().collect(),
        "telefone" => db.find_phone_exact(term),
        "id_cliente" => by_id(term.parse().ok()),
        "codigo_cliente" => by_id(
            term.parse::<u64>()
                .ok()
                .map(|code| code + crate::dataset::FIRST_SUBSCRIBER_ID - 1),
        ),
        "login" => db.find_login(term).map(|(si, _)| si).into_iter().collect(),
        "id_cliente_servico" => term
            .parse()
            .ok()
            .and_then(|id| db.find_contract(id))
            .map(|(si, _)| si)
            .into_iter()
            .collect(),
        "nome_razaosocial" => {
            let term = term.to_lowercase();
            db.subscribers()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.name.to_lowercase().contains(&term))
                .map(|(i, _)| i)
                .collect()
        }
        "email" => db
            .subscribers()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.email.eq_ignore_ascii_case(term))
            .map(|(i, _)| i)
            .collect(),
        other => {
            return Err(format!(
                "O tipo de busca '{other}' é inválido. Valores aceitos: cpf_cnpj, telefone, codigo_cliente, id_cliente, id_cliente_servico, login, nome_razaosocial, email"
            ));
        }
    })
}

async fn customers(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let (Some(kind), Some(term)) = (p.get("busca"), p.get("termo_busca")) else {
        return error("Os parâmetros busca e termo_busca são obrigatórios");
    };
    let limit = p.u64("limit").map_or(20, |l| l as usize);
    if !(1..=MAX_CUSTOMER_LIMIT).contains(&limit) {
        return error("O parâmetro limit deve estar entre 1 e 100");
    }
    let db = shared.read();
    let found = match search(&db, kind, term) {
        Ok(found) => found,
        Err(e) => return error(&e),
    };
    let clients: Vec<Value> = found
        .into_iter()
        .take(limit)
        .map(|si| customer_json(db.subscriber(si)))
        .collect();
    let msg = if clients.is_empty() {
        "Nenhum cliente encontrado"
    } else {
        "Dados consultados com sucesso"
    };
    ok(json!({"status": "success", "msg": msg, "clientes": clients}))
}

fn invoice_status(inv: &FakeInvoice) -> &'static str {
    match inv.status {
        FakeInvoiceStatus::Open => "aguardando_pagamento",
        FakeInvoiceStatus::Overdue => "vencido",
        FakeInvoiceStatus::Paid => "pago",
        FakeInvoiceStatus::Cancelled => "cancelado",
    }
}

async fn customer_invoices(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let (Some(kind), Some(term)) = (p.get("busca"), p.get("termo_busca")) else {
        return error("Os parâmetros busca e termo_busca são obrigatórios");
    };
    let db = shared.read();
    let found = match search(&db, kind, term) {
        Ok(found) => found,
        Err(e) => return error(&e),
    };
    let Some(&si) = found.first() else {
        return error("Cliente não encontrado");
    };
    let s = db.subscriber(si);
    let pending_only = truthy(p.get("apenas_pendente"));
    let invoices: Vec<Value> = s
        .invoices
        .iter()
        .filter(|inv| !pending_only || inv.status.is_unpaid())
        .map(|inv| {
            json!({
                "id_fatura": inv.id,
                "id_cliente_servico": inv.contract_id,
                "nosso_numero": inv.our_number,
                "linha_digitavel": inv.digitable_line,
                "codigo_barras": inv.barcode,
                "link": inv.pdf_url,
                "tipo_cobranca": "boleto",
                "valor": money_number(inv.amount_cents),
                "data_vencimento": br_date(inv.due_date),
                "data_pagamento": inv.paid_at.map(|at| local_datetime(at, "%d/%m/%Y")),
                "status": invoice_status(inv),
                "quitado": inv.status == FakeInvoiceStatus::Paid,
                "pix_copia_cola": inv.pix_code,
            })
        })
        .collect();
    // Some Hubsoft versions answer this endpoint with the typo "suscess".
    let status = if s.id % 2 == 1 { "suscess" } else { "success" };
    ok(json!({"status": status, "msg": "Dados consultados com sucesso", "faturas": invoices}))
}

async fn invoice_page(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let per_page = p
        .u64("itens_por_pagina")
        .or_else(|| p.u64("limit"))
        .map_or(50, |n| n as usize);
    if !(1..=MAX_PAGE_ITEMS).contains(&per_page) {
        return error("O parâmetro itens_por_pagina deve estar entre 1 e 500");
    }
    let page = p.u64("pagina").unwrap_or(1).max(1) as usize;
    let date_kind = p.get("tipo_data").unwrap_or("data_vencimento");
    if !["data_vencimento", "data_pagamento", "data_cadastro"].contains(&date_kind) {
        return error("tipo_data inválido: use data_vencimento, data_pagamento ou data_cadastro");
    }
    let parse = |keys: &[&str]| -> Result<Option<jiff::civil::Date>, Denied> {
        match p.any(keys) {
            None => Ok(None),
            Some(text) => parse_date(text)
                .map(Some)
                .ok_or_else(|| Box::new(error(&format!("Data inválida: {text}")))),
        }
    };
    let from = match parse(&["data_inicio", "data_inicial", "inicio"]) {
        Ok(d) => d,
        Err(e) => return *e,
    };
    let to = match parse(&["data_fim", "data_final", "fim"]) {
        Ok(d) => d,
        Err(e) => return *e,
    };
    let settled_only = truthy(p.get("apenas_quitado"));
    let open_only = truthy(p.get("apenas_em_aberto"));
    let db = shared.read();
    let paid_window = date_kind == "data_pagamento";
    let candidates: Vec<Slot> = if paid_window {
        let start = from
            .and_then(|d| parse_moment(&iso_date(d), false))
            .map_or(i64::MIN, |t| t.as_millisecond());
        let end = to
            .and_then(|d| parse_moment(&iso_date(d), true))
            .map_or(i64::MAX, |t| t.as_millisecond());
        let mut slots = db.paid_between(start, end);
        slots.sort_by_key(|&slot| db.invoice(slot).id);
        slots
    } else if date_kind == "data_vencimento" && (from.is_some() || to.is_some()) {
        db.due_between(
            from.unwrap_or(jiff::civil::Date::MIN),
            to.unwrap_or(jiff::civil::Date::MAX),
        )
    } else {
        db.subscribers()
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.invoices.len()).map(move |ii| (si, ii)))
            .collect()
    };
    let matching: Vec<Slot> = candidates
        .into_iter()
        .filter(|&slot| {
            let inv = db.invoice(slot);
            let day = match date_kind {
                "data_cadastro" => Some(inv.issued_on),
                "data_pagamento" => inv.paid_at.map(|at| {
                    at.to_zoned(jiff::tz::Offset::constant(-3).to_time_zone())
                        .date()
                }),
                _ => Some(inv.due_date),
            };
            let in_window = day
                .is_some_and(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
                || (from.is_none() && to.is_none());
            in_window
                && (!settled_only || inv.status == FakeInvoiceStatus::Paid)
                && (!open_only || inv.status.is_unpaid())
        })
        .collect();
    let total = matching.len();
    let last_page = total.div_ceil(per_page).max(1);
    let invoices: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|&slot| {
            let inv = db.invoice(slot);
            let s = db.subscriber(slot.0);
            json!({
                "id_fatura": inv.id,
                "id_cliente": s.id,
                "id_cliente_servico": inv.contract_id,
                "nosso_numero": inv.our_number,
                "linha_digitavel": inv.digitable_line,
                "codigo_barras": inv.barcode,
                "link": inv.pdf_url,
                "valor": money(inv.amount_cents),
                "valor_pago": money(inv.paid_cents),
                "data_cadastro": iso_date(inv.issued_on),
                "data_vencimento": iso_date(inv.due_date),
                "data_pagamento": inv.paid_at.map(|at| local_datetime(at, "%Y-%m-%d")),
                "quitado": inv.status == FakeInvoiceStatus::Paid,
                "status": invoice_status(inv),
                "pix_copia_cola": inv.pix_code,
            })
        })
        .collect();
    ok(json!({
        "status": "success",
        "msg": "Dados consultados com sucesso",
        "faturas": invoices,
        "paginacao": {
            "primeira_pagina": 1,
            "ultima_pagina": last_page,
            "pagina_atual": page,
            "itens_por_pagina": per_page,
            "total_registros": total,
        },
    }))
}

async fn trust_unlock(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let Some(service) = p.u64("id_cliente_servico") else {
        return error("O campo id_cliente_servico é obrigatório");
    };
    let requested = match p.get("dias_desbloqueio") {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(days) if days > 0 => Some(days),
            _ => return error("O campo dias_desbloqueio deve ser um número inteiro positivo"),
        },
    };
    let mut db = shared.write();
    let max = db.data.provider.unlock_max_days;
    match db.trust_unlock(service, requested) {
        Ok(grant) => ok(json!({
            "status": "success",
            "msg": format!(
                "Desbloqueio de confiança realizado com sucesso. Serviço habilitado até a data {}",
                br_date(grant.until)
            ),
        })),
        Err(refusal) => error(&match refusal {
            UnlockRefusal::NotFound => "Serviço não encontrado".to_owned(),
            UnlockRefusal::ExceedsPolicy => {
                format!("A quantidade de dias informada excede o máximo permitido ({max} dias)")
            }
            UnlockRefusal::AlreadyUsed => {
                "O cliente já utilizou o desbloqueio de confiança neste mês".to_owned()
            }
            UnlockRefusal::NotBlocked => "O serviço não está suspenso".to_owned(),
            UnlockRefusal::ContractInactive => {
                "Serviço cancelado ou aguardando instalação".to_owned()
            }
            UnlockRefusal::NotAllowed => {
                "Desbloqueio de confiança não permitido para o status atual do serviço".to_owned()
            }
        }),
    }
}

async fn open_ticket(State(shared): State<Arc<Shared>>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let p = &req.params;
    let Some(service) = p.u64("id_cliente_servico") else {
        return error("O campo id_cliente_servico é obrigatório");
    };
    let Some(description) = p.get("descricao") else {
        return error("O campo descricao é obrigatório");
    };
    let mut db = shared.write();
    let Some((si, _)) = db.find_contract(service) else {
        return error("Serviço não encontrado");
    };
    let subscriber_id = db.subscriber(si).id;
    let now = super::now();
    let ticket = db.open_ticket(
        subscriber_id,
        Some(service),
        p.get("tipo_atendimento").unwrap_or("suporte"),
        description,
        p.str("nome"),
        p.str("telefone"),
        now,
    );
    let orders: Vec<Value> = if truthy(p.get("abrir_os")) {
        vec![json!({
            "id_ordem_servico": ticket.id + 400_000,
            "numero": format!("OS{}", ticket.id),
            "status": "aguardando_agendamento",
        })]
    } else {
        Vec::new()
    };
    ok(json!({
        "status": "success",
        "msg": "Atendimento cadastrado com sucesso",
        "atendimento": {
            "id_atendimento": ticket.id,
            "protocolo": ticket.protocol,
            "status": "aberto",
            "data_cadastro": local_datetime(now, "%d/%m/%Y %H:%M:%S"),
            "descricao": description,
            "ordens_servico": orders,
        },
    }))
}
