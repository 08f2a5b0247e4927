//! IXC Soft: HTTP Basic with the whole `id:key` token; listings need the `ixcsoft: listar` header
//! and a JSON body (POST or GET-with-body) with `qtype`/`query`/`oper`/`page`/`rp`/`grid_param`;
//! every value is a string; CPFs are stored masked (older imports without the mask); errors come
//! back with HTTP 200 as `{type:"error"}` (sometimes with HTML inside), and the trust unlock speaks
//! its own `{tipo, codigo, mensagem}`.

use super::{
    Denied, QR_IMAGE, Req, boleto_pdf, fixed_credential_ok, format_phone, iso_date, json,
    local_datetime, masked_document, money, ok, pdf_response, plan_id, updated_codes,
};
use crate::Shared;
use crate::codec::{base64_encode, digits};
use crate::dataset::{
    FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, FakeTicket, PersonType,
    Subscriber,
};
use crate::db::{Db, Slot, UnlockRefusal, national};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::sync::Arc;

const PHONE_FIELDS: [&str; 4] = ["fone", "telefone_celular", "whatsapp", "telefone_comercial"];
const DEFAULT_RP: usize = 20;
/// Offset of RADIUS user ids from contract ids (different tables, different sequences).
const RADIUS_ID_OFFSET: u64 = 6_000_000;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/webservice/v1/{table}", get(table).post(table))
        .route("/webservice/v1/{table}/{id}", put(update))
}

fn authorize(shared: &Shared, req: &Req) -> Result<(), Denied> {
    let valid = req
        .basic()
        .is_some_and(|(user, key)| format!("{user}:{key}") == shared.credential("token"));
    if fixed_credential_ok(shared, valid) {
        Ok(())
    } else {
        Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "message": "Usuário ou token inválido!"}),
        )))
    }
}

fn error(message: &str) -> Response {
    ok(json!({"type": "error", "message": message}))
}

type Row = Map<String, Value>;

fn row(pairs: Vec<(&str, String)>) -> Row {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect()
}

fn is_mobile(phone: &str) -> bool {
    let n = national(phone);
    n.len() == 11 || (n.len() == 10 && matches!(n.as_bytes()[2], b'6'..=b'9'))
}

fn client_row(s: &Subscriber) -> Row {
    let mut mobiles = s.phones.iter().filter(|p| is_mobile(p));
    let landline = s.phones.iter().find(|p| !is_mobile(p));
    let cell = mobiles.next();
    let second_mobile = mobiles.next();
    // A third number (a relative's) lands in the commercial phone, as operators do.
    let extra = s.phones.iter().skip(2).last();
    let active = s
        .contracts
        .iter()
        .any(|c| c.status != FakeContractStatus::Cancelled);
    let city_id = crate::names::CITIES
        .iter()
        .position(|c| c.0 == s.city)
        .map_or(0, |i| 1_300 + i);
    // Older imports kept the bare digits; everything typed in the panel is masked.
    let document = if s.id % 5 == 4 {
        s.document.clone()
    } else {
        masked_document(&s.document)
    };
    row(vec![
        ("id", s.id.to_string()),
        ("razao", s.name.clone()),
        (
            "fantasia",
            if s.person_type == PersonType::Company {
                s.name.clone()
            } else {
                String::new()
            },
        ),
        ("cnpj_cpf", document),
        (
            "tipo_pessoa",
            if s.person_type == PersonType::Company {
                "J"
            } else {
                "F"
            }
            .to_owned(),
        ),
        ("ativo", if active { "S" } else { "N" }.to_owned()),
        (
            "fone",
            landline.map(|p| format_phone(p)).unwrap_or_default(),
        ),
        (
            "telefone_celular",
            cell.map(|p| format_phone(p)).unwrap_or_default(),
        ),
        (
            "whatsapp",
            second_mobile
                .or(cell)
                .map(|p| national(p))
                .unwrap_or_default(),
        ),
        (
            "telefone_comercial",
            extra
                .filter(|p| Some(*p) != cell && Some(*p) != landline && Some(*p) != second_mobile)
                .map(|p| format_phone(p))
                .unwrap_or_default(),
        ),
        ("email", s.email.clone()),
        ("endereco", s.address.street.clone()),
        ("numero", s.address.number.clone()),
        ("bairro", s.address.district.clone()),
        ("cidade", city_id.to_string()),
        (
            "cep",
            format!("{}-{}", &s.address.zip[..5], &s.address.zip[5..]),
        ),
        ("data_cadastro", iso_date(s.registered_on)),
        ("id_tipo_cliente", "1".to_owned()),
        ("filial_id", "1".to_owned()),
    ])
}

/// (status, status_internet, status_velocidade) of a contract.
fn contract_codes(c: &FakeContract) -> (&'static str, &'static str, &'static str) {
    match c.status {
        FakeContractStatus::Active | FakeContractStatus::TrustUnlocked => ("A", "A", "N"),
        FakeContractStatus::ReducedSpeed => ("A", "FA", "R"),
        FakeContractStatus::SuspendedDebt => ("A", "CA", "N"),
        FakeContractStatus::SuspendedManual => ("A", "CM", "N"),
        FakeContractStatus::SuspendedByRequest => ("A", "D", "N"),
        FakeContractStatus::PendingInstall => ("P", "AA", "N"),
        FakeContractStatus::Cancelled => ("I", "D", "N"),
    }
}

fn contract_row(s: &Subscriber, c: &FakeContract) -> Row {
    let (status, internet, speed) = contract_codes(c);
    let trust = match c.status {
        FakeContractStatus::SuspendedManual | FakeContractStatus::SuspendedByRequest => "N",
        _ if c.id.is_multiple_of(3) => "P",
        _ => "S",
    };
    row(vec![
        ("id", c.id.to_string()),
        ("id_cliente", s.id.to_string()),
        ("contrato", c.plan.clone()),
        ("id_vd_contrato", plan_id(&c.plan).to_string()),
        ("status", status.to_owned()),
        ("status_internet", internet.to_owned()),
        ("status_velocidade", speed.to_owned()),
        ("desbloqueio_confianca", trust.to_owned()),
        (
            "desbloqueio_confianca_ativo",
            if c.status == FakeContractStatus::TrustUnlocked {
                "S"
            } else {
                "N"
            }
            .to_owned(),
        ),
        (
            "data_ativacao",
            c.activated_on
                .map(iso_date)
                .unwrap_or_else(|| "0000-00-00".to_owned()),
        ),
        ("data", super::br_date(s.registered_on)),
        ("dia_fixo_vencimento", c.due_day.to_string()),
        ("login", c.login.clone()),
        ("id_filial", "1".to_owned()),
    ])
}

fn txid(invoice: &FakeInvoice) -> String {
    balcao_domain::br::PixCode::parse(&invoice.pix_code)
        .ok()
        .and_then(|p| {
            p.url()
                .map(|u| u.rsplit('/').next().unwrap_or_default().to_owned())
        })
        .unwrap_or_else(|| format!("FAT{}", invoice.id))
}

fn invoice_row(s: &Subscriber, inv: &FakeInvoice) -> Row {
    let status = match inv.status {
        FakeInvoiceStatus::Open | FakeInvoiceStatus::Overdue => "A",
        FakeInvoiceStatus::Paid => "R",
        FakeInvoiceStatus::Cancelled => "C",
    };
    let open = if inv.status.is_unpaid() {
        inv.amount_cents
    } else {
        0
    };
    row(vec![
        ("id", inv.id.to_string()),
        ("id_cliente", s.id.to_string()),
        ("id_contrato", inv.contract_id.to_string()),
        ("valor", money(inv.amount_cents)),
        ("valor_aberto", money(open)),
        ("valor_recebido", money(inv.paid_cents)),
        ("data_emissao", iso_date(inv.issued_on)),
        ("data_vencimento", iso_date(inv.due_date)),
        (
            "pagamento_data",
            inv.paid_at
                .map(|at| local_datetime(at, "%Y-%m-%d"))
                .unwrap_or_else(|| "0000-00-00".to_owned()),
        ),
        ("status", status.to_owned()),
        ("liberado", "S".to_owned()),
        ("linha_digitavel", inv.digitable_line.clone()),
        ("nn_boleto", inv.our_number.clone()),
        ("pix_txid", txid(inv)),
        ("gateway_link", inv.pdf_url.clone()),
        ("tipo_recebimento", "Boleto".to_owned()),
        ("documento", format!("{}/1", inv.id)),
    ])
}

fn radius_row(s: &Subscriber, c: &FakeContract) -> Row {
    let active = !matches!(
        c.status,
        FakeContractStatus::Cancelled | FakeContractStatus::PendingInstall
    );
    row(vec![
        ("id", (c.id + RADIUS_ID_OFFSET).to_string()),
        ("login", c.login.clone()),
        ("online", if c.online { "S" } else { "N" }.to_owned()),
        ("ativo", if active { "S" } else { "N" }.to_owned()),
        ("id_contrato", c.id.to_string()),
        ("id_cliente", s.id.to_string()),
        (
            "ip",
            format!("100.64.{}.{}", (c.id / 250) % 250, c.id % 250 + 2),
        ),
        (
            "mac",
            format!(
                "E4:8D:8C:{:02X}:{:02X}:{:02X}",
                (c.id >> 16) as u8,
                (c.id >> 8) as u8,
                c.id as u8
            ),
        ),
    ])
}

fn ticket_row(t: &FakeTicket) -> Row {
    row(vec![
        ("id", t.id.to_string()),
        ("protocolo", t.protocol.clone()),
        ("tipo", "C".to_owned()),
        ("id_cliente", t.subscriber_id.to_string()),
        ("id_assunto", t.kind.clone()),
        (
            "titulo",
            t.description.lines().next().unwrap_or_default().to_owned(),
        ),
        ("menssagem", t.description.clone()),
        ("su_status", "N".to_owned()),
        (
            "data_criacao",
            local_datetime(t.opened_at, "%Y-%m-%d %H:%M:%S"),
        ),
    ])
}

/// One filter: `field oper value [value2]`.
struct Filter {
    field: String,
    oper: String,
    value: String,
    value2: String,
}

fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

impl Filter {
    /// The column, without the table prefix ("cliente.cnpj_cpf" → "cnpj_cpf").
    fn column(&self) -> &str {
        self.field.rsplit('.').next().unwrap_or_default()
    }

    fn matches(&self, row: &Row) -> Result<bool, String> {
        let Some(cell) = row.get(self.column()).and_then(Value::as_str) else {
            return Err(format!("Campo inválido: {}", self.field));
        };
        let phone = PHONE_FIELDS.contains(&self.column());
        let (cell, value) = if phone {
            (national(cell), national(&self.value))
        } else {
            (cell.to_owned(), self.value.clone())
        };
        Ok(match self.oper.to_ascii_uppercase().as_str() {
            "=" => cell == value,
            "!=" | "<>" => cell != value,
            "L" if phone => !value.is_empty() && digits(&cell).contains(&digits(&value)),
            "L" => cell.to_lowercase().contains(&value.to_lowercase()),
            ">" => compare(&cell, &value) == Ordering::Greater,
            "<" => compare(&cell, &value) == Ordering::Less,
            ">=" => compare(&cell, &value) != Ordering::Less,
            "<=" => compare(&cell, &value) != Ordering::Greater,
            "IN" => value.split(',').any(|v| v.trim() == cell),
            "BE" => {
                compare(&cell, &value) != Ordering::Less
                    && compare(&cell, &self.value2) != Ordering::Greater
            }
            other => return Err(format!("Operador inválido: {other}")),
        })
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn grid_filters(raw: Option<&str>) -> Result<Vec<Filter>, String> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let parsed: Value = serde_json::from_str(raw).map_err(|_| "grid_param inválido".to_owned())?;
    let Value::Array(items) = parsed else {
        return Err("grid_param inválido".to_owned());
    };
    Ok(items
        .iter()
        .map(|item| Filter {
            field: text(&item["TB"]),
            oper: {
                let op = text(&item["OP"]);
                if op.is_empty() { "=".to_owned() } else { op }
            },
            value: text(&item["P"]),
            value2: text(&item["P2"]),
        })
        .collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Client,
    Contract,
    Receivable,
    Radius,
    Ticket,
}

impl Table {
    fn from_name(name: &str) -> Option<Table> {
        Some(match name {
            "cliente" => Table::Client,
            "cliente_contrato" => Table::Contract,
            "fn_areceber" => Table::Receivable,
            "radusuarios" => Table::Radius,
            "su_ticket" => Table::Ticket,
            _ => return None,
        })
    }
}

/// Row keys worth looking at for the main filter, from the indexes; `None` means scan the table.
fn candidates(db: &Db, table: Table, main: &Filter) -> Option<Vec<Slot>> {
    let oper = main.oper.to_ascii_uppercase();
    let value = main.value.trim();
    let column = main.column();
    let id = value.parse::<u64>().ok();
    let contracts_of = |si: usize| -> Vec<Slot> {
        (0..db.subscriber(si).contracts.len())
            .map(|ci| (si, ci))
            .collect()
    };
    let invoices_of = |si: usize| -> Vec<Slot> {
        (0..db.subscriber(si).invoices.len())
            .map(|ii| (si, ii))
            .collect()
    };
    match (table, column, oper.as_str()) {
        (Table::Client, "id", "=") => Some(
            id.and_then(|id| db.find_subscriber_id(id))
                .map(|si| (si, 0))
                .into_iter()
                .collect(),
        ),
        (Table::Client, "cnpj_cpf", "=") => Some(
            db.find_document(value)
                .map(|si| (si, 0))
                .into_iter()
                .collect(),
        ),
        (Table::Client, c, "=" | "L")
            if PHONE_FIELDS.contains(&c) && national(value).len() >= 10 =>
        {
            Some(
                db.find_phone_tail(value)
                    .into_iter()
                    .map(|si| (si, 0))
                    .collect(),
            )
        }
        (Table::Contract | Table::Radius, "id_contrato" | "id", "=")
            if !(table == Table::Radius && column == "id") =>
        {
            Some(id.and_then(|id| db.find_contract(id)).into_iter().collect())
        }
        (Table::Contract | Table::Radius, "id_cliente", "=") => Some(
            id.and_then(|id| db.find_subscriber_id(id))
                .map(contracts_of)
                .unwrap_or_default(),
        ),
        (Table::Contract | Table::Radius, "login", "=") => {
            Some(db.find_login(value).into_iter().collect())
        }
        (Table::Receivable, "id", "=") => {
            Some(id.and_then(|id| db.find_invoice(id)).into_iter().collect())
        }
        (Table::Receivable, "id_cliente", "=") => Some(
            id.and_then(|id| db.find_subscriber_id(id))
                .map(invoices_of)
                .unwrap_or_default(),
        ),
        (Table::Receivable, "id_contrato", "=") => Some(
            id.and_then(|id| db.find_contract(id))
                .map(|(si, _)| invoices_of(si))
                .unwrap_or_default(),
        ),
        (Table::Receivable, "data_vencimento", ">" | ">=" | "=" | "<" | "<=" | "BE") => {
            let day = super::parse_date(value)?;
            let (from, until) = match oper.as_str() {
                ">" | ">=" => (day, Date::MAX),
                "<" | "<=" => (Date::MIN, day),
                "=" => (day, day),
                _ => (day, super::parse_date(&main.value2)?),
            };
            // A superset is enough: every filter is applied to the rows afterwards.
            Some(db.due_between(from, until))
        }
        (Table::Receivable, "pagamento_data", ">" | ">=" | "=" | "<" | "<=" | "BE") => {
            let day = super::parse_date(value)?;
            let start = |d| super::parse_moment(&iso_date(d), false).map(|t| t.as_millisecond());
            let end = |d| super::parse_moment(&iso_date(d), true).map(|t| t.as_millisecond());
            let (from, to) = match oper.as_str() {
                ">" => (end(day)? + 1, i64::MAX),
                ">=" => (start(day)?, i64::MAX),
                "=" => (start(day)?, end(day)?),
                "<" => (i64::MIN, start(day)? - 1),
                "<=" => (i64::MIN, end(day)?),
                _ => (start(day)?, end(super::parse_date(&main.value2)?)?),
            };
            Some(db.paid_between(from, to))
        }
        _ => None,
    }
}

fn all_keys(db: &Db, table: Table) -> Vec<Slot> {
    match table {
        Table::Client => (0..db.subscribers().len()).map(|si| (si, 0)).collect(),
        Table::Contract | Table::Radius => db
            .subscribers()
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.contracts.len()).map(move |ci| (si, ci)))
            .collect(),
        Table::Receivable => db
            .subscribers()
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.invoices.len()).map(move |ii| (si, ii)))
            .collect(),
        Table::Ticket => (0..db.data.tickets.len()).map(|i| (i, 0)).collect(),
    }
}

fn build_row(db: &Db, table: Table, (a, b): Slot) -> Row {
    match table {
        Table::Client => client_row(db.subscriber(a)),
        Table::Contract => contract_row(db.subscriber(a), db.contract((a, b))),
        Table::Radius => radius_row(db.subscriber(a), db.contract((a, b))),
        Table::Receivable => invoice_row(db.subscriber(a), db.invoice((a, b))),
        Table::Ticket => ticket_row(&db.data.tickets[a]),
    }
}

fn list(shared: &Shared, table_name: &str, req: &Req) -> Response {
    let Some(table) = Table::from_name(table_name) else {
        return error(&format!(
            "A tabela {table_name} não existe ou não permite listagem"
        ));
    };
    let p = &req.params;
    let mut filters = match grid_filters(p.get("grid_param")) {
        Ok(f) => f,
        Err(e) => return error(&e),
    };
    let main = p.get("qtype").map(|qtype| Filter {
        field: qtype.to_owned(),
        oper: p.get("oper").unwrap_or("=").to_owned(),
        value: p.str("query").to_owned(),
        value2: p.str("query2").to_owned(),
    });
    let page = p.u64("page").unwrap_or(1).max(1) as usize;
    let rp = p.u64("rp").map_or(DEFAULT_RP, |r| r as usize).max(1);
    let db = shared.read();
    if let Some(main) = main {
        filters.insert(0, main);
    }
    // Any filter an index answers narrows the rows to build (every filter is applied anyway).
    let keys = filters
        .iter()
        .find_map(|f| candidates(&db, table, f))
        .unwrap_or_else(|| all_keys(&db, table));
    let mut rows = Vec::new();
    for key in keys {
        let row = build_row(&db, table, key);
        let mut keep = true;
        for filter in &filters {
            match filter.matches(&row) {
                Ok(true) => {}
                Ok(false) => {
                    keep = false;
                    break;
                }
                Err(e) => return error(&e),
            }
        }
        if keep {
            rows.push(row);
        }
    }
    let sort_column = p
        .get("sortname")
        .map(|s| s.rsplit('.').next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "id".to_owned());
    let descending = p
        .get("sortorder")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    rows.sort_by(|a, b| {
        let (x, y) = (
            a.get(&sort_column)
                .and_then(Value::as_str)
                .unwrap_or_default(),
            b.get(&sort_column)
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let order = compare(x, y);
        if descending { order.reverse() } else { order }
    });
    let total = rows.len();
    let page_rows: Vec<Value> = rows
        .into_iter()
        .skip((page - 1) * rp)
        .take(rp)
        .map(Value::Object)
        .collect();
    ok(json!({"page": page.to_string(), "total": total.to_string(), "registros": page_rows}))
}

async fn table(State(shared): State<Arc<Shared>>, Path(table): Path<String>, req: Req) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    let listing = req
        .header("ixcsoft")
        .is_some_and(|v| v.eq_ignore_ascii_case("listar"));
    if listing {
        return list(&shared, &table, &req);
    }
    if req.method == axum::http::Method::GET {
        return error("Para listar registros envie o cabeçalho ixcsoft: listar");
    }
    match table.as_str() {
        "su_ticket" => insert_ticket(&shared, &req),
        "desbloqueio_confianca" => trust_unlock(&shared, &req),
        "cliente_contrato_15464" => set_status(&shared, &req, FakeContractStatus::Active),
        "cliente_contrato_15300" => set_status(&shared, &req, FakeContractStatus::SuspendedManual),
        "get_boleto" => get_boleto(&shared, &req),
        "get_pix" => get_pix(&shared, &req),
        "cliente" | "cliente_contrato" | "fn_areceber" | "radusuarios" => {
            error("Sem permissão para inserir registros nesta tabela!<br />")
        }
        other => error(&format!("A tabela {other} não existe!")),
    }
}

async fn update(
    State(shared): State<Arc<Shared>>,
    Path((table, _id)): Path<(String, String)>,
    req: Req,
) -> Response {
    if let Err(denied) = authorize(&shared, &req) {
        return *denied;
    }
    error(&format!(
        "Sem permissão para editar registros da tabela {table}!<br />"
    ))
}

fn insert_ticket(shared: &Shared, req: &Req) -> Response {
    let p = &req.params;
    for (field, label) in [
        ("tipo", "Tipo"),
        ("id_cliente", "Cliente"),
        ("id_assunto", "Assunto"),
        ("titulo", "Título"),
        ("id_ticket_setor", "Setor"),
        ("prioridade", "Prioridade"),
        ("menssagem", "Mensagem"),
        ("su_status", "Status"),
    ] {
        if p.get(field).is_none() {
            return error(&format!("O campo <b>{label}</b> é obrigatório!<br />"));
        }
    }
    if p.get("tipo") != Some("C") {
        return error("Tipo de ticket inválido: use C (cliente)<br />");
    }
    if p.get("su_status") != Some("N") {
        return error("Status inicial do ticket inválido: use N (novo)<br />");
    }
    let mut db = shared.write();
    let Some(si) = p.u64("id_cliente").and_then(|id| db.find_subscriber_id(id)) else {
        return error("Cliente não encontrado!<br />");
    };
    let subscriber_id = db.subscriber(si).id;
    let contract = p
        .u64("id_contrato")
        .filter(|&id| db.find_contract(id).is_some_and(|(owner, _)| owner == si));
    let description = format!("{}\n{}", p.str("titulo"), p.str("menssagem"));
    let ticket = db.open_ticket(
        subscriber_id,
        contract,
        p.str("id_assunto"),
        &description,
        p.str("nome"),
        p.str("telefone"),
        super::now(),
    );
    ok(json!({
        "type": "success",
        "message": "Registro inserido com sucesso!",
        "id": ticket.id.to_string(),
    }))
}

fn trust_unlock(shared: &Shared, req: &Req) -> Response {
    let contract_id = req.params.u64("id").unwrap_or_default();
    // IXC writes `codigo` as a number in some versions and as a string in others.
    let code = |n: u32| {
        if contract_id.is_multiple_of(2) {
            json!(n)
        } else {
            json!(n.to_string())
        }
    };
    let refusal =
        |n: u32, message: &str| ok(json!({"tipo": "erro", "codigo": code(n), "mensagem": message}));
    let mut db = shared.write();
    let allowed = db
        .find_contract(contract_id)
        .map(|slot| {
            let row = contract_row(db.subscriber(slot.0), db.contract(slot));
            row.get("desbloqueio_confianca").and_then(Value::as_str) != Some("N")
        })
        .unwrap_or(true);
    if !allowed {
        return refusal(
            110,
            "Desbloqueio de confiança não habilitado para este contrato.",
        );
    }
    match db.trust_unlock(contract_id, None) {
        Ok(grant) => ok(json!({
            "tipo": "sucesso",
            "codigo": code(0),
            "mensagem": format!(
                "Desbloqueio de confiança realizado com sucesso! Liberado até {}.",
                super::br_date(grant.until)
            ),
        })),
        Err(UnlockRefusal::NotFound) => refusal(106, "Contrato não existe."),
        Err(UnlockRefusal::NotBlocked) => refusal(107, "Contrato já está ativo."),
        Err(UnlockRefusal::ContractInactive) => refusal(109, "Contrato inativo."),
        Err(UnlockRefusal::AlreadyUsed) => refusal(
            113,
            "Desbloqueio de confiança já utilizado e o título ainda não foi pago.",
        ),
        Err(UnlockRefusal::NotAllowed | UnlockRefusal::ExceedsPolicy) => refusal(
            110,
            "Desbloqueio de confiança não permitido para este contrato.",
        ),
    }
}

fn set_status(shared: &Shared, req: &Req, status: FakeContractStatus) -> Response {
    let Some(contract_id) = req.params.u64("id_contrato") else {
        return error("O campo <b>id_contrato</b> é obrigatório!<br />");
    };
    let mut db = shared.write();
    let Some(slot) = db.find_contract(contract_id) else {
        return error("Contrato não encontrado!");
    };
    let current = db.contract(slot).status;
    if matches!(
        current,
        FakeContractStatus::Cancelled | FakeContractStatus::PendingInstall
    ) {
        return error("Contrato inativo: ação não permitida.");
    }
    if current == status {
        return error(if status == FakeContractStatus::Active {
            "Contrato já está ativo."
        } else {
            "Contrato já está bloqueado."
        });
    }
    db.set_contract_status(contract_id, status);
    ok(json!({
        "type": "success",
        "message": if status == FakeContractStatus::Active {
            "Contrato desbloqueado com sucesso!"
        } else {
            "Contrato bloqueado com sucesso!"
        },
    }))
}

fn get_boleto(shared: &Shared, req: &Req) -> Response {
    let p = &req.params;
    let ids: Vec<u64> = p
        .str("boletos")
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        return error("Informe os boletos!");
    }
    let invoices: Vec<FakeInvoice> = {
        let db = shared.read();
        let mut found = Vec::new();
        for id in &ids {
            match db.find_invoice(*id) {
                Some(slot) => found.push(db.invoice(slot).clone()),
                None => return error(&format!("Boleto {id} não encontrado!")),
            }
        }
        found
    };
    if let Some(closed) = invoices.iter().find(|i| !i.status.is_unpaid()) {
        return error(&format!(
            "O boleto {} não está em aberto (recebido ou cancelado).",
            closed.id
        ));
    }
    match p.get("tipo_boleto").unwrap_or("arquivo") {
        "arquivo" => {
            let ids: Vec<u64> = invoices.iter().map(|i| i.id).collect();
            let pdf = boleto_pdf(shared, &ids);
            if super::truthy(p.get("base64")) {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    base64_encode(&pdf),
                )
                    .into_response()
            } else {
                pdf_response(pdf)
            }
        }
        "dados" => {
            let (today, provider) = {
                let db = shared.read();
                (db.today(), db.data.provider.clone())
            };
            let data: Vec<Value> = invoices
                .iter()
                .map(|inv| {
                    let update = super::truthy(p.get("atualiza_boleto"));
                    let (line, barcode, _) = if update {
                        updated_codes(&provider, inv, today)
                    } else {
                        (inv.digitable_line.clone(), inv.barcode.clone(), String::new())
                    };
                    let with_charges = super::truthy(p.get("juro")) || super::truthy(p.get("multa"));
                    json!({
                        "id": inv.id.to_string(),
                        "linha_digitavel": line,
                        "codigo_barras": barcode,
                        "nosso_numero": inv.our_number,
                        "valor": money(if with_charges { inv.amount_due_cents() } else { inv.amount_cents }),
                        "vencimento": iso_date(inv.due_date),
                        "gateway_link": inv.pdf_url,
                    })
                })
                .collect();
            ok(Value::Array(data))
        }
        "mail" | "sms" => ok(json!({"registros": [{"sucesso": true}]})),
        other => error(&format!("tipo_boleto inválido: {other}")),
    }
}

fn get_pix(shared: &Shared, req: &Req) -> Response {
    let Some(id) = req.params.u64("id_areceber") else {
        return error("O campo <b>id_areceber</b> é obrigatório!<br />");
    };
    let db = shared.read();
    let Some(slot) = db.find_invoice(id) else {
        return error("Título não encontrado!");
    };
    let invoice = db.invoice(slot);
    if !invoice.status.is_unpaid() {
        return error("Não é possível gerar Pix para um título recebido ou cancelado.");
    }
    let (_, _, pix) = updated_codes(&db.data.provider, invoice, db.today());
    ok(json!({
        "type": "success",
        "pix": {
            "dadosPix": {
                "pixCopiaECola": pix,
                "txid": txid(invoice),
                "status": "ATIVA",
                "expiracaoPix": format!("{} 23:59:59", iso_date(invoice.due_date.max(db.today()))),
                "valor": {
                    "original": money(invoice.amount_cents),
                    "juros": money(invoice.interest_cents),
                    "multa": money(invoice.fine_cents),
                },
            },
            "qrCode": {"qrcode": pix, "imagemQrcode": QR_IMAGE},
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(field: &str, oper: &str, value: &str) -> Filter {
        Filter {
            field: field.into(),
            oper: oper.into(),
            value: value.into(),
            value2: String::new(),
        }
    }

    #[test]
    fn filters_compare_like_ixc() {
        let r = row(vec![
            ("id", "12".into()),
            ("cnpj_cpf", "529.982.247-25".into()),
            ("telefone_celular", "(85) 99999-1234".into()),
            ("data_vencimento", "2026-11-10".into()),
        ]);
        assert!(
            filter("cliente.cnpj_cpf", "=", "529.982.247-25")
                .matches(&r)
                .unwrap()
        );
        assert!(
            !filter("cliente.cnpj_cpf", "=", "52998224725")
                .matches(&r)
                .unwrap()
        );
        assert!(
            filter("cliente.telefone_celular", "=", "85999991234")
                .matches(&r)
                .unwrap()
        );
        assert!(
            !filter("cliente.telefone_celular", "=", "8599991234")
                .matches(&r)
                .unwrap()
        );
        assert!(
            filter("cliente.telefone_celular", "L", "99991234")
                .matches(&r)
                .unwrap()
        );
        assert!(
            filter("id", ">", "9").matches(&r).unwrap(),
            "numeric, not text, order"
        );
        assert!(
            filter("data_vencimento", "<=", "2026-11-10")
                .matches(&r)
                .unwrap()
        );
        assert!(filter("id", "IN", "3, 12").matches(&r).unwrap());
        assert!(filter("nope", "=", "x").matches(&r).is_err());
        assert!(filter("id", "~", "x").matches(&r).is_err());
    }

    #[test]
    fn grid_param_is_a_json_string() {
        let filters =
            grid_filters(Some(r#"[{"TB":"fn_areceber.liberado","OP":"=","P":"S"},{"TB":"fn_areceber.status","OP":"!=","P":"C"}]"#))
                .unwrap();
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[1].oper, "!=");
        assert!(grid_filters(Some("{")).is_err());
    }
}
