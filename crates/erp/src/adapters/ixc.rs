//! IXC Soft (IXC Provedor) webservice: Basic auth with the whole `id:key` token; listings are POSTs
//! with the `ixcsoft: listar` header and a JSON query (`qtype`, `query`, `oper`, `page`, `rp`,
//! `grid_param`); every value comes back as a string; CPFs are stored masked; errors are HTTP 200
//! `{type:"error"}` or an HTML page.
//!
//! Auth key: `token` ("id:key"). Optional: `ticket_subject_id` (`id_assunto`, default "1"),
//! `ticket_sector_id` (`id_ticket_setor`, default "1").

use super::{
    Settings, boleto_method, link_method, open_status, payment_events, push_unique, too_many_pages,
};
use crate::adapter::ErpAdapter;
use crate::error::ErpError;
use crate::http::{Http, basic_authorization, join};
use crate::model::*;
use crate::parse::{self, id_at, int_at, list, text_at};
use crate::receivables::{self, RestoreNeed, restore_need};
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

const PAGE_SIZE: usize = 200;
const MAX_PAGES: usize = 100;
/// Pages of the bulk listings behind `receivables`: up to two million records each.
const BULK_PAGE: usize = 500;
const MAX_BULK_PAGES: usize = 4_000;
/// Up to this many customers are read one query each; more, in one pass over the table.
const PER_VALUE_QUERIES: usize = 50;

pub struct Ixc {
    http: Http,
    base: String,
    authorization: String,
    ticket_subject_id: String,
    ticket_sector_id: String,
}

/// One listing query.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Query<'a> {
    pub qtype: &'a str,
    pub query: String,
    pub oper: &'a str,
    /// Extra conditions `(column, operator, value)`, sent as `grid_param`.
    pub grid: Vec<(&'a str, &'a str, &'a str)>,
}

impl<'a> Query<'a> {
    pub(crate) fn eq(qtype: &'a str, query: impl Into<String>) -> Self {
        Query {
            qtype,
            query: query.into(),
            oper: "=",
            grid: Vec::new(),
        }
    }

    /// The listing body for `page` (1-based).
    pub(crate) fn body(&self, page: usize) -> Value {
        self.body_sized(page, PAGE_SIZE)
    }

    /// The listing body for `page` (1-based) of `rows` records.
    pub(crate) fn body_sized(&self, page: usize, rows: usize) -> Value {
        let sort_column = format!("{}.id", self.qtype.split('.').next().unwrap_or(self.qtype));
        let mut body = json!({
            "qtype": self.qtype,
            "query": self.query,
            "oper": self.oper,
            "page": page.to_string(),
            "rp": rows.to_string(),
            "sortname": sort_column,
            "sortorder": "asc",
        });
        if !self.grid.is_empty() {
            let grid: Vec<Value> = self
                .grid
                .iter()
                .map(|(tb, op, p)| json!({"TB": tb, "OP": op, "P": p}))
                .collect();
            // grid_param is a JSON document inside a string.
            body["grid_param"] = Value::String(Value::Array(grid).to_string());
        }
        body
    }
}

/// The error an IXC answer carries: `{type:"error", message}` or `{tipo:"erro", mensagem}`.
fn envelope_error(body: &Value) -> Option<ErpError> {
    let kind = text_at(body, &["type", "tipo"]).map(|t| parse::fold(&t))?;
    if kind != "error" && kind != "erro" {
        return None;
    }
    let message = text_at(body, &["message", "mensagem", "msg"])
        .map(|m| parse::strip_tags(&m))
        .unwrap_or_else(|| "erro sem mensagem".into());
    Some(if parse::mentions_auth_failure(&message) {
        ErpError::Unauthorized
    } else {
        ErpError::business(message)
    })
}

/// A listing page: its records and the total count (`{page:"1", total:"N", registros:[…]}`).
pub(crate) fn parse_listing(body: &Value) -> Result<(Vec<Value>, usize), ErpError> {
    if let Some(error) = envelope_error(body) {
        return Err(error);
    }
    let records = list(body, &["registros"]).to_vec();
    let total = int_at(body, &["total"])
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or(records.len());
    if body.get("registros").is_none() && body.get("total").is_none() {
        return Err(ErpError::InvalidResponse(
            "IXC: listagem sem \"registros\" nem \"total\"".into(),
        ));
    }
    Ok((records, total))
}

pub(crate) fn parse_customer(record: &Value) -> Option<Customer> {
    let erp_id = id_at(record, &["id"])?;
    let name = text_at(record, &["razao", "fantasia", "nome"]).unwrap_or_default();
    let phones = parse::phones_from(
        ["telefone_celular", "whatsapp", "fone", "telefone_comercial"]
            .iter()
            .filter_map(|k| text_at(record, &[k])),
    );
    Some(Customer {
        system: System::Ixc,
        erp_id,
        document: text_at(record, &["cnpj_cpf"]).and_then(|d| parse::document(&d)),
        name,
        phones,
        emails: text_at(record, &["email", "hotsite_email"])
            .into_iter()
            .collect(),
    })
}

/// Contract status from IXC's `status` (A/I/P/N/D), `status_internet` (A/D/CM/CA/FA/AA) and the
/// trust-unlock flag. An active contract whose internet is deactivated (`D`) is a suspension the
/// customer asked for; a cancelled one has `status` I or D.
pub(crate) fn contract_status(status: &str, internet: &str, trust_active: bool) -> ContractStatus {
    match status.to_ascii_uppercase().as_str() {
        "P" => return ContractStatus::PendingInstall,
        "I" | "D" => return ContractStatus::Cancelled,
        "N" => return ContractStatus::SuspendedDebt,
        _ => {}
    }
    if trust_active {
        return ContractStatus::TrustUnlocked;
    }
    match internet.to_ascii_uppercase().as_str() {
        "A" => ContractStatus::Active,
        "CM" => ContractStatus::SuspendedManual,
        "CA" => ContractStatus::SuspendedDebt,
        "FA" => ContractStatus::ReducedSpeed,
        "AA" => ContractStatus::PendingInstall,
        "D" => ContractStatus::SuspendedByRequest,
        _ => ContractStatus::Other,
    }
}

pub(crate) fn parse_contract(record: &Value) -> Option<Contract> {
    let erp_id = id_at(record, &["id"])?;
    let status = text_at(record, &["status"]).unwrap_or_default();
    let internet = text_at(record, &["status_internet"]).unwrap_or_default();
    let trust_active = parse::flag_at(record, &["desbloqueio_confianca_ativo"]).unwrap_or(false);
    // `status_velocidade` R: the plan runs at reduced speed whatever the internet status says.
    let reduced = text_at(record, &["status_velocidade"]).as_deref() == Some("R");
    Some(Contract {
        erp_id,
        customer_erp_id: id_at(record, &["id_cliente"]).unwrap_or_default(),
        plan_name: text_at(record, &["contrato", "plano", "descricao"]),
        monthly_cents: parse::cents_at(record, &["valor_unitario", "valor", "valor_contrato"]),
        status: match contract_status(&status, &internet, trust_active) {
            ContractStatus::Active if reduced => ContractStatus::ReducedSpeed,
            other => other,
        },
        raw_status: format!(
            "status={status} status_internet={internet}{}",
            if trust_active {
                " desbloqueio_confianca_ativo=S"
            } else {
                ""
            }
        ),
        online: None,
        login: text_at(record, &["login"]),
    })
}

/// One `fn_areceber` record (without Pix, which needs its own call).
pub(crate) fn parse_receivable(record: &Value, today: Date) -> Option<Invoice> {
    let erp_id = id_at(record, &["id"])?;
    let due_date = parse::date_at(record, &["data_vencimento"])?;
    let amount_cents = parse::cents_at(record, &["valor"])?;
    let open_cents = parse::cents_at(record, &["valor_aberto"]);
    let received = parse::cents_at(record, &["valor_recebido"]).filter(|c| *c > 0);
    let paid_at = parse::timestamp_at(record, &["pagamento_data", "data_pagamento"]);
    let status = match text_at(record, &["status"]).unwrap_or_default().as_str() {
        "R" => InvoiceStatus::Paid,
        "C" => InvoiceStatus::Cancelled,
        "P" => InvoiceStatus::Partial,
        _ => open_status(due_date, today, None),
    };
    let payment_methods = [
        boleto_method(
            text_at(record, &["linha_digitavel"]),
            text_at(record, &["codigo_barras"]),
            None,
        ),
        link_method(text_at(record, &["gateway_link"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Invoice {
        erp_id,
        contract_id: id_at(record, &["id_contrato"]).filter(|id| id != "0"),
        due_date,
        amount_cents,
        amount_due_cents: open_cents.filter(|_| status.is_payable()),
        fine_cents: None,
        interest_cents: None,
        paid_cents: received,
        status,
        paid_at,
        payment_methods,
    })
}

/// `get_pix`: `{type:"success", pix:{dadosPix:{pixCopiaECola, expiracaoPix, …}}}`.
pub(crate) fn parse_pix(body: &Value) -> Result<Option<PaymentMethod>, ErpError> {
    if let Some(error) = envelope_error(body) {
        return Err(error);
    }
    let data = body
        .get("pix")
        .and_then(|p| p.get("dadosPix").or(Some(p)))
        .unwrap_or(body);
    Ok(
        text_at(data, &["pixCopiaECola", "pix_copia_e_cola", "qrcode"])
            .filter(|c| c.starts_with("000201"))
            .map(|copy_paste| PaymentMethod::Pix {
                copy_paste,
                expires_at: parse::timestamp_at(data, &["expiracaoPix", "expiracao"]),
            }),
    )
}

/// `desbloqueio_confianca`: `{tipo:"sucesso"|"erro", codigo, mensagem}` (also `type`/`message`).
pub(crate) fn parse_unlock(body: &Value) -> Result<UnlockResult, ErpError> {
    let kind = text_at(body, &["tipo", "type"]).map(|t| parse::fold(&t));
    let message = text_at(body, &["mensagem", "message", "msg"]).map(|m| parse::strip_tags(&m));
    match kind.as_deref() {
        Some("sucesso" | "success") => Ok(UnlockResult {
            granted: true,
            until: message.as_deref().and_then(parse::date_in_message),
            days: int_at(body, &["dias", "dias_desbloqueio"]).and_then(|d| u32::try_from(d).ok()),
            protocol: text_at(body, &["protocolo", "id"]),
            refusal: None,
            erp_message: message,
        }),
        Some("erro" | "error") => {
            if message.as_deref().is_some_and(parse::mentions_auth_failure) {
                return Err(ErpError::Unauthorized);
            }
            let refusal = match int_at(body, &["codigo", "code"]) {
                Some(106) => UnlockRefusal::NotFound,
                Some(107) => UnlockRefusal::NotBlocked,
                Some(109) => UnlockRefusal::ContractInactive,
                Some(113) => UnlockRefusal::AlreadyUsedUnpaid,
                // Not enabled or not allowed for this contract by the provider's settings.
                Some(110) => UnlockRefusal::ExceedsPolicy,
                _ => message
                    .as_deref()
                    .map(parse::refusal_from_message)
                    .unwrap_or(UnlockRefusal::Unknown),
            };
            Ok(UnlockResult::refused(refusal, message))
        }
        _ => Err(ErpError::InvalidResponse(
            "IXC: resposta de desbloqueio sem \"tipo\"".into(),
        )),
    }
}

/// `radusuarios` records of a contract: online if any login is.
pub(crate) fn parse_radius_users(records: &[Value]) -> Option<ConnectionStatus> {
    if records.is_empty() {
        return None;
    }
    let online = records
        .iter()
        .filter_map(|r| parse::flag_at(r, &["online"]))
        .reduce(|a, b| a || b);
    let enabled = records
        .iter()
        .filter_map(|r| parse::flag_at(r, &["ativo"]))
        .reduce(|a, b| a || b);
    Some(ConnectionStatus {
        online,
        blocked: enabled.map(|e| !e),
        contract_status: None,
        erp_message: None,
    })
}

/// A write answer: `{type:"success", message, id}`.
pub(crate) fn parse_write(body: &Value) -> Result<(Option<String>, Option<String>), ErpError> {
    if let Some(error) = envelope_error(body) {
        return Err(error);
    }
    match text_at(body, &["type", "tipo"])
        .map(|t| parse::fold(&t))
        .as_deref()
    {
        Some("success" | "sucesso") => Ok((
            id_at(body, &["id"]),
            text_at(body, &["message", "mensagem"]).map(|m| parse::strip_tags(&m)),
        )),
        _ => Err(ErpError::InvalidResponse(
            "IXC: resposta de gravação sem \"type\"".into(),
        )),
    }
}

impl Ixc {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        Ok(Ixc {
            http: settings.http(None)?,
            base: settings.base_url.clone(),
            authorization: basic_authorization(&settings.key("token")),
            ticket_subject_id: settings
                .optional("ticket_subject_id")
                .unwrap_or_else(|| "1".into()),
            ticket_sector_id: settings
                .optional("ticket_sector_id")
                .unwrap_or_else(|| "1".into()),
        })
    }

    fn request(&self, table: &str, listing: bool, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .client()
            .post(join(&self.base, table))
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if listing {
            request = request.header("ixcsoft", "listar");
        }
        request
    }

    async fn call(&self, table: &str, listing: bool, body: &Value) -> Result<Value, ErpError> {
        let reply = self
            .http
            .send(self.request(table, listing, body))
            .await?
            .check()?;
        reply.json()
    }

    /// Every record matching `query`, page by page.
    async fn list_all(&self, table: &str, query: &Query<'_>) -> Result<Vec<Value>, ErpError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let (records, total) =
                parse_listing(&self.call(table, true, &query.body(page)).await?)?;
            let count = records.len();
            out.extend(records);
            if count < PAGE_SIZE || out.len() >= total {
                return Ok(out);
            }
        }
        Err(too_many_pages(MAX_PAGES * PAGE_SIZE))
    }

    /// Hands every record matching `query` to `take`, page by page (nothing kept in between).
    async fn each_page(
        &self,
        table: &str,
        query: &Query<'_>,
        rows: usize,
        max_pages: usize,
        mut take: impl FnMut(&[Value]),
    ) -> Result<(), ErpError> {
        let mut seen = 0;
        for page in 1..=max_pages {
            let (records, total) = parse_listing(
                &self
                    .call(table, true, &query.body_sized(page, rows))
                    .await?,
            )?;
            take(&records);
            seen += records.len();
            if records.len() < rows || seen >= total {
                return Ok(());
            }
        }
        Err(too_many_pages(max_pages * rows))
    }

    /// Hands `take` the records of `table` whose `column` is one of `wanted`: one query per value
    /// for a few values, one pass over the whole table for many.
    async fn records_where_in(
        &self,
        table: &str,
        column: &str,
        wanted: &BTreeSet<String>,
        mut take: impl FnMut(&Value),
    ) -> Result<(), ErpError> {
        if wanted.len() <= PER_VALUE_QUERIES {
            let qualified = format!("{table}.{column}");
            for value in wanted {
                let query = Query::eq(&qualified, value.clone());
                self.each_page(table, &query, PAGE_SIZE, MAX_PAGES, |records| {
                    records.iter().for_each(&mut take)
                })
                .await?;
            }
            return Ok(());
        }
        let by_id = format!("{table}.id");
        let everything = Query {
            qtype: &by_id,
            query: "0".into(),
            oper: ">",
            grid: Vec::new(),
        };
        self.each_page(table, &everything, BULK_PAGE, MAX_BULK_PAGES, |records| {
            records
                .iter()
                .filter(|r| id_at(r, &[column]).is_some_and(|v| wanted.contains(&v)))
                .for_each(&mut take)
        })
        .await
    }

    async fn customers(&self, query: Query<'_>) -> Result<Vec<Customer>, ErpError> {
        Ok(self
            .list_all("cliente", &query)
            .await?
            .iter()
            .filter_map(parse_customer)
            .collect())
    }

    /// The Pix code of a receivable; missing Pix is not an error for the invoice list.
    async fn pix(&self, invoice_id: &str) -> Result<Option<PaymentMethod>, ErpError> {
        let body = self
            .call("get_pix", false, &json!({"id_areceber": invoice_id}))
            .await?;
        match parse_pix(&body) {
            Ok(pix) => Ok(pix),
            Err(ErpError::Business { message }) => {
                tracing::debug!(invoice_id, %message, "IXC: fatura sem Pix");
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    async fn with_pix(&self, mut invoice: Invoice) -> Result<Invoice, ErpError> {
        if invoice.status.is_payable()
            && let Some(pix) = self.pix(&invoice.erp_id).await?
        {
            invoice.payment_methods.push(pix);
        }
        Ok(invoice)
    }
}

#[async_trait]
impl ErpAdapter for Ixc {
    fn system(&self) -> System {
        System::Ixc
    }

    fn lists_receivables_in_bulk(&self) -> bool {
        true
    }

    /// IXC keeps CPFs masked ("627.105.245-20") or bare: the bare form is tried first.
    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        for form in [document.as_str().to_owned(), document.masked()] {
            let found = self.customers(Query::eq("cliente.cnpj_cpf", form)).await?;
            if let Some(customer) = found.into_iter().next() {
                return Ok(Some(customer));
            }
        }
        Ok(None)
    }

    /// Searches the mobile, WhatsApp and landline fields for the number's last 8 digits (the part
    /// both 9th-digit forms share, written with and without the dash), then keeps the records
    /// whose phone really is this subscriber's.
    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        let mut found = Vec::new();
        for (qtype, query) in phone_queries(phone) {
            let query = Query {
                qtype,
                query,
                oper: "L",
                grid: Vec::new(),
            };
            let matching = self
                .customers(query)
                .await?
                .into_iter()
                .filter(|c| c.phones.iter().any(|p| parse::phone_matches(p, phone)));
            push_unique(&mut found, matching);
        }
        Ok(found)
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        Ok(self
            .list_all(
                "cliente_contrato",
                &Query::eq("cliente_contrato.id_cliente", customer.erp_id.clone()),
            )
            .await?
            .iter()
            .filter_map(parse_contract)
            .collect())
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let today = parse::today_in_brazil();
        let query = Query {
            grid: vec![
                ("fn_areceber.liberado", "=", "S"),
                ("fn_areceber.status", "!=", "R"),
                ("fn_areceber.status", "!=", "C"),
            ],
            ..Query::eq("fn_areceber.id_cliente", customer.erp_id.clone())
        };
        let records = self.list_all("fn_areceber", &query).await?;
        let mut out = Vec::new();
        for record in &records {
            // The grid filter is repeated here: liberado=N titles are not meant for the customer.
            if parse::flag_at(record, &["liberado"]) == Some(false) {
                continue;
            }
            if let Some(invoice) = parse_receivable(record, today)
                && invoice.status.is_payable()
            {
                out.push(self.with_pix(invoice).await?);
            }
        }
        Ok(out)
    }

    async fn invoice(&self, _customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        let records = self
            .list_all("fn_areceber", &Query::eq("fn_areceber.id", invoice_id))
            .await?;
        let invoice = records
            .iter()
            .filter_map(|r| parse_receivable(r, parse::today_in_brazil()))
            .find(|i| i.erp_id == invoice_id)
            .ok_or(ErpError::NotFound)?;
        self.with_pix(invoice).await
    }

    /// `get_boleto` with fine and interest updated, as a file.
    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        let body = json!({
            "boletos": invoice.erp_id,
            "juro": "S",
            "multa": "S",
            "atualiza_boleto": "S",
            "tipo_boleto": "arquivo",
            "base64": "N",
        });
        let reply = self
            .http
            .send(self.request("get_boleto", false, &body))
            .await?
            .check()?;
        if reply.body.starts_with(b"%PDF") {
            return Ok(reply.body);
        }
        let json = reply.json()?;
        Err(envelope_error(&json).unwrap_or_else(|| {
            ErpError::InvalidResponse("IXC: get_boleto não devolveu um PDF".into())
        }))
    }

    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let body = self
            .call(
                "desbloqueio_confianca",
                false,
                &json!({"id": contract.erp_id}),
            )
            .await?;
        parse_unlock(&body)
    }

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        let records = self
            .list_all(
                "radusuarios",
                &Query::eq("radusuarios.id_contrato", contract.erp_id.clone()),
            )
            .await?;
        let mut status = parse_radius_users(&records).ok_or(ErpError::NotFound)?;
        status.contract_status = Some(contract.status);
        Ok(status)
    }

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let body = json!({
            "tipo": "C",
            "id_cliente": ticket.customer_erp_id,
            "id_contrato": ticket.contract_erp_id.clone().unwrap_or_default(),
            "id_assunto": self.ticket_subject_id,
            "titulo": ticket.subject,
            "id_ticket_setor": self.ticket_sector_id,
            "prioridade": "M",
            "menssagem": ticket.description,
            "su_status": "N",
        });
        let answer = self.call("su_ticket", false, &body).await?;
        let (id, message) = parse_write(&answer)?;
        let id =
            id.ok_or_else(|| ErpError::InvalidResponse("IXC: chamado gravado sem id".into()))?;
        // The write answers only the id; the protocol the subscriber is told lives in the record.
        let protocol = match text_at(&answer, &["protocolo"]) {
            Some(protocol) => protocol,
            None => match self
                .list_all("su_ticket", &Query::eq("su_ticket.id", id.clone()))
                .await
            {
                Ok(records) => records
                    .iter()
                    .find_map(|r| text_at(r, &["protocolo"]))
                    .unwrap_or_else(|| id.clone()),
                Err(error) => {
                    // The ticket exists; failing now would invite a duplicate.
                    tracing::warn!(%error, ticket = %id, "IXC: protocolo não lido, usando o id");
                    id.clone()
                }
            },
        };
        let id = Some(id);
        Ok(Ticket {
            erp_id: id,
            protocol,
            kind: Some("C".into()),
            status: message,
            opened_at: Timestamp::now(),
            description: ticket.description.clone(),
        })
    }

    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        _customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        let until_text = until.to_string();
        // One day (what the poller asks) is an equality on the date column, which IXC answers
        // from its index; a span adds the upper bound as a grid filter.
        let query = if from == until {
            Query {
                qtype: "fn_areceber.pagamento_data",
                query: from.to_string(),
                oper: "=",
                grid: vec![("fn_areceber.status", "=", "R")],
            }
        } else {
            Query {
                qtype: "fn_areceber.pagamento_data",
                query: from.to_string(),
                oper: ">=",
                grid: vec![
                    ("fn_areceber.status", "=", "R"),
                    ("fn_areceber.pagamento_data", "<=", until_text.as_str()),
                ],
            }
        };
        let today = parse::today_in_brazil();
        let paid = self
            .list_all("fn_areceber", &query)
            .await?
            .iter()
            .filter_map(|r| parse_receivable(r, today))
            .collect();
        Ok(payment_events(
            paid,
            from,
            until,
            DetectedBy::PaymentDateWindow,
        ))
    }

    /// In bulk, ignoring `customers`: `fn_areceber` by due date (`data_vencimento` ≥ from, with
    /// ≤ until, `liberado`=S and status neither R nor C as `grid_param`), then the customers and
    /// contracts those titles name (`cliente`, `cliente_contrato`: one query each for a few, one
    /// pass over the table for many). IXC gives Pix only per title (`get_pix`), so rows carry
    /// the boleto line and gateway link; `cidade` is an id of another table, so no city; no plan
    /// value in `cliente_contrato`.
    async fn receivables(
        &self,
        due_from: Date,
        due_until: Date,
        _customers: &[Customer],
    ) -> Result<Vec<Receivable>, ErpError> {
        if due_from > due_until {
            return Ok(Vec::new());
        }
        let today = parse::today_in_brazil();
        let until_text = due_until.to_string();
        let query = Query {
            qtype: "fn_areceber.data_vencimento",
            query: due_from.to_string(),
            oper: ">=",
            grid: vec![
                ("fn_areceber.data_vencimento", "<=", until_text.as_str()),
                ("fn_areceber.liberado", "=", "S"),
                ("fn_areceber.status", "!=", "R"),
                ("fn_areceber.status", "!=", "C"),
            ],
        };
        let mut owed: Vec<(String, Invoice)> = Vec::new();
        self.each_page("fn_areceber", &query, BULK_PAGE, MAX_BULK_PAGES, |records| {
            for record in records {
                // The grid filters are repeated: not every IXC honours them all.
                if parse::flag_at(record, &["liberado"]) == Some(false) {
                    continue;
                }
                let Some(invoice) = parse_receivable(record, today)
                    .filter(|i| receivables::is_receivable(i, due_from, due_until))
                else {
                    continue;
                };
                match id_at(record, &["id_cliente"]) {
                    Some(customer_id) => owed.push((customer_id, invoice)),
                    None => tracing::warn!(invoice = %invoice.erp_id, "IXC: título sem id_cliente ignorado"),
                }
            }
        })
        .await?;
        if owed.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: BTreeSet<String> = owed.iter().map(|(id, _)| id.clone()).collect();
        let mut customers: HashMap<String, Customer> = HashMap::new();
        self.records_where_in("cliente", "id", &wanted, |record| {
            if let Some(customer) = parse_customer(record) {
                customers.insert(customer.erp_id.clone(), customer);
            }
        })
        .await?;
        let mut contracts: HashMap<String, Vec<Contract>> = HashMap::new();
        self.records_where_in("cliente_contrato", "id_cliente", &wanted, |record| {
            if let Some(contract) = parse_contract(record) {
                contracts
                    .entry(contract.customer_erp_id.clone())
                    .or_default()
                    .push(contract);
            }
        })
        .await?;
        let mut rows = Vec::with_capacity(owed.len());
        for (customer_id, invoice) in owed {
            let Some(customer) = customers.get(&customer_id) else {
                tracing::warn!(invoice = %invoice.erp_id, customer = %customer_id, "IXC: título de cliente não encontrado ignorado");
                continue;
            };
            let theirs = contracts.get(&customer_id).map_or(&[][..], Vec::as_slice);
            let contract = receivables::contract_for(&invoice, theirs);
            rows.push(Receivable::new(customer.clone(), invoice, contract, None));
        }
        Ok(receivables::finish(rows))
    }

    /// IXC documents a release action apart from the trust unlock: `cliente_contrato_15464` with
    /// `{id_contrato}`. The contract is read fresh first and only a block for debt
    /// (`status_internet` CA, or FA reduced speed) is released; a manual block or a suspension
    /// by request is not something a payment lifts, and an active contract needs nothing.
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let mut fresh = None;
        self.each_page(
            "cliente_contrato",
            &Query::eq("cliente_contrato.id", contract.erp_id.clone()),
            PAGE_SIZE,
            MAX_PAGES,
            |records| {
                fresh = records
                    .iter()
                    .filter_map(parse_contract)
                    .find(|c| c.erp_id == contract.erp_id)
                    .or(fresh.take());
            },
        )
        .await?;
        let Some(fresh) = fresh else {
            return Ok(UnlockResult::refused(UnlockRefusal::NotFound, None));
        };
        if restore_need(fresh.status) != RestoreNeed::Release {
            return Ok(receivables::restore_by_status(System::Ixc, fresh.status));
        }
        let body = self
            .call(
                "cliente_contrato_15464",
                false,
                &json!({"id_contrato": contract.erp_id}),
            )
            .await?;
        match parse_write(&body) {
            Ok((_, message)) => Ok(UnlockResult::released(message)),
            Err(ErpError::Business { message }) => {
                Ok(match parse::refusal_from_message(&message) {
                    // Released in the meantime (the payment posted).
                    UnlockRefusal::NotBlocked => UnlockResult::released(Some(message)),
                    refusal => UnlockResult::refused(refusal, Some(message)),
                })
            }
            Err(other) => Err(other),
        }
    }
}

/// `(field, LIKE pattern)` pairs for a phone: the last 8 digits bare and as "XXXX-XXXX", in the
/// mobile, WhatsApp and landline fields.
pub(crate) fn phone_queries(phone: &BrPhone) -> Vec<(&'static str, String)> {
    let number = phone.number();
    let last8 = &number[number.len() - 8..];
    let dashed = format!("{}-{}", &last8[..4], &last8[4..]);
    let mut out = Vec::new();
    for field in [
        "cliente.telefone_celular",
        "cliente.whatsapp",
        "cliente.fone",
    ] {
        out.push((field, last8.to_owned()));
        out.push((field, dashed.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 21);

    #[test]
    fn listing_body_carries_grid_param_as_a_json_string() {
        let query = Query {
            grid: vec![("fn_areceber.liberado", "=", "S")],
            ..Query::eq("fn_areceber.id_cliente", "42")
        };
        let body = query.body(2);
        assert_eq!(body["qtype"], "fn_areceber.id_cliente");
        assert_eq!(body["query"], "42");
        assert_eq!(body["page"], "2");
        assert_eq!(body["sortname"], "fn_areceber.id");
        let grid: Value = serde_json::from_str(body["grid_param"].as_str().unwrap()).unwrap();
        assert_eq!(
            grid,
            json!([{"TB": "fn_areceber.liberado", "OP": "=", "P": "S"}])
        );
    }

    #[test]
    fn listing_all_strings_and_errors() {
        let body = json!({"page": "1", "total": "2", "registros": [{"id": "1"}, {"id": "2"}]});
        let (records, total) = parse_listing(&body).unwrap();
        assert_eq!((records.len(), total), (2, 2));
        let (records, total) = parse_listing(&json!({"page": "1", "total": "0"})).unwrap();
        assert_eq!((records.len(), total), (0, 0));
        assert_eq!(
            parse_listing(&json!({"type": "error", "message": "Tabela inexistente<br />"}))
                .unwrap_err(),
            ErpError::business("Tabela inexistente")
        );
        assert_eq!(
            parse_listing(&json!({"type": "error", "message": "Token inválido!"})).unwrap_err(),
            ErpError::Unauthorized
        );
        assert!(matches!(
            parse_listing(&json!({"x": 1})),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn customer_with_masked_cpf_and_three_phone_fields() {
        let record = json!({"id": "42", "razao": "Ana Lima", "fantasia": "", "cnpj_cpf": "529.982.247-25",
            "ativo": "S", "fone": "(11) 3265-4321", "telefone_celular": "(11) 8765-4321",
            "whatsapp": "11987654321", "email": "ana@example.com"});
        let customer = parse_customer(&record).unwrap();
        assert_eq!(customer.erp_id, "42");
        assert_eq!(customer.document.unwrap().as_str(), "52998224725");
        assert_eq!(customer.phones, vec!["11987654321", "1132654321"]);
        assert_eq!(customer.emails, vec!["ana@example.com"]);
    }

    #[test]
    fn contract_statuses() {
        use ContractStatus::*;
        assert_eq!(contract_status("A", "A", false), Active);
        assert_eq!(contract_status("A", "CA", false), SuspendedDebt);
        assert_eq!(contract_status("A", "CM", false), SuspendedManual);
        assert_eq!(contract_status("A", "FA", false), ReducedSpeed);
        assert_eq!(contract_status("A", "AA", false), PendingInstall);
        assert_eq!(contract_status("A", "CA", true), TrustUnlocked);
        assert_eq!(contract_status("P", "A", false), PendingInstall);
        assert_eq!(contract_status("I", "D", false), Cancelled);
        assert_eq!(contract_status("A", "D", false), SuspendedByRequest);
        assert_eq!(contract_status("N", "CA", false), SuspendedDebt);
        let record = json!({"id": "900", "id_cliente": "42", "contrato": "FIBRA 300M", "status": "A",
            "status_internet": "A", "desbloqueio_confianca": "S", "desbloqueio_confianca_ativo": "S"});
        let contract = parse_contract(&record).unwrap();
        assert_eq!(contract.status, TrustUnlocked);
        assert_eq!(contract.customer_erp_id, "42");
        assert_eq!(contract.plan_name.as_deref(), Some("FIBRA 300M"));
        assert!(contract.raw_status.contains("status_internet=A"));
    }

    #[test]
    fn receivables_in_every_status() {
        let open = json!({"id": "5001", "id_cliente": "42", "id_contrato": "900", "valor": "99.90",
            "valor_aberto": "99.90", "valor_recebido": "0.00", "data_emissao": "2026-11-01",
            "data_vencimento": "2026-11-10", "pagamento_data": "0000-00-00", "status": "A", "liberado": "S",
            "linha_digitavel": "34191090080000000000901234567890112340000009990",
            "gateway_link": "https://pague.example/5001"});
        let invoice = parse_receivable(&open, TODAY).unwrap();
        assert_eq!(invoice.status, InvoiceStatus::Overdue);
        assert_eq!(invoice.paid_at, None);
        assert_eq!(invoice.paid_cents, None);
        assert_eq!(invoice.contract_id.as_deref(), Some("900"));
        assert_eq!(invoice.payment_methods.len(), 2);
        let paid = json!({"id": "5002", "valor": "99.90", "valor_recebido": "99.90", "status": "R",
            "data_vencimento": "2026-10-10", "pagamento_data": "2026-10-09"});
        let paid = parse_receivable(&paid, TODAY).unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);
        assert_eq!(paid.paid_cents, Some(9990));
        assert_eq!(paid.amount_due_cents, None);
        let partial = json!({"id": "5003", "valor": "100.00", "valor_aberto": "40.00", "status": "P", "data_vencimento": "2026-12-10"});
        let partial = parse_receivable(&partial, TODAY).unwrap();
        assert_eq!(
            (partial.status, partial.amount_due_cents),
            (InvoiceStatus::Partial, Some(4000))
        );
        let cancelled =
            json!({"id": "5004", "valor": "1", "status": "C", "data_vencimento": "2026-12-10"});
        assert_eq!(
            parse_receivable(&cancelled, TODAY).unwrap().status,
            InvoiceStatus::Cancelled
        );
    }

    #[test]
    fn pix_answers() {
        let body = json!({"type": "success", "pix": {"dadosPix": {"pixCopiaECola": "00020101021226990014br.gov.bcb.pix",
            "txid": "abc", "status": "ATIVA", "expiracaoPix": "2026-11-30 23:59:59",
            "valor": {"original": "99.90", "juros": "0.00", "multa": "0.00"}},
            "qrCode": {"qrcode": "000201", "imagemQrcode": "data:image/png;base64,AAA"}}});
        match parse_pix(&body).unwrap() {
            Some(PaymentMethod::Pix {
                copy_paste,
                expires_at,
            }) => {
                assert!(copy_paste.starts_with("000201"));
                assert!(expires_at.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_pix(&json!({"type": "error", "message": "Fatura sem Pix"})).unwrap_err(),
            ErpError::business("Fatura sem Pix")
        );
    }

    #[test]
    fn unlock_codes_become_typed_refusals() {
        let ok = parse_unlock(&json!({"tipo": "sucesso", "mensagem": "Desbloqueio em confiança efetuado até 24/11/2026"})).unwrap();
        assert!(ok.granted);
        assert_eq!(ok.until, Some(date(2026, 11, 24)));
        for (code, refusal) in [
            (106, UnlockRefusal::NotFound),
            (107, UnlockRefusal::NotBlocked),
            (109, UnlockRefusal::ContractInactive),
            (113, UnlockRefusal::AlreadyUsedUnpaid),
        ] {
            let r =
                parse_unlock(&json!({"tipo": "erro", "codigo": code.to_string(), "mensagem": "x"}))
                    .unwrap();
            assert_eq!(r.refusal, Some(refusal), "{code}");
            assert!(!r.granted);
        }
        let english = parse_unlock(
            &json!({"type": "error", "message": "Desbloqueio já utilizado e não pago"}),
        )
        .unwrap();
        assert_eq!(english.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
        assert!(parse_unlock(&json!({})).is_err());
    }

    #[test]
    fn radius_users_give_online_and_blocked() {
        let status = parse_radius_users(&[
            json!({"login": "ana", "online": "S", "ativo": "S", "id_contrato": "900"}),
        ])
        .unwrap();
        assert_eq!((status.online, status.blocked), (Some(true), Some(false)));
        assert!(parse_radius_users(&[]).is_none());
    }

    #[test]
    fn write_answers() {
        assert_eq!(
            parse_write(
                &json!({"type": "success", "message": "Registro salvo com sucesso!", "id": "77"})
            )
            .unwrap(),
            (
                Some("77".into()),
                Some("Registro salvo com sucesso!".into())
            )
        );
        assert!(matches!(
            parse_write(&json!({"type": "error", "message": "Campo obrigatório"})),
            Err(ErpError::Business { .. })
        ));
    }

    #[test]
    fn phone_queries_use_the_shared_last_eight_digits() {
        let phone = BrPhone::parse("(11) 98765-4321").unwrap();
        let queries = phone_queries(&phone);
        assert_eq!(queries.len(), 6);
        assert!(queries.contains(&("cliente.whatsapp", "87654321".to_owned())));
        assert!(queries.contains(&("cliente.fone", "8765-4321".to_owned())));
    }
}
