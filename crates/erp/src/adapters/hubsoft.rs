//! Hubsoft integration API: OAuth password grant at `/oauth/token`, bearer token on
//! `/api/v1/integracao/...`, re-authentication when a call answers 401. Errors are HTTP 200
//! `{status:"error", msg}`; success is "success" (or "suscess", as some answers spell it).
//! Customer dates are dd/mm/yyyy, the paged invoice endpoint's YYYY-MM-DD.
//!
//! Auth keys: `client_id`, `client_secret`, `username`, `password`. Optional: `unlock_days`
//! (`dias_desbloqueio` asked for, default 3).

use super::{
    Settings, boleto_method, document_of, download_pdf, link_method, open_status, payment_events,
    pix_method, push_unique, too_many_pages,
};
use crate::adapter::ErpAdapter;
use crate::error::ErpError;
use crate::http::{Http, TokenCache, form_encode, join};
use crate::model::*;
use crate::parse::{self, field, id_at, int_at, list, text_at};
use crate::receivables;
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const INVOICE_PAGE: usize = 500;
const MAX_PAGES: usize = 100;
/// Pages of `financeiro/fatura` a receivables listing walks: two million invoices.
const MAX_RECEIVABLE_PAGES: usize = 4_000;

pub struct Hubsoft {
    http: Http,
    base: String,
    credentials: Value,
    tokens: TokenCache,
    unlock_days: u32,
}

/// `Err` for an error envelope (`status:"error"`); anything else is success, whatever its
/// spelling.
pub(crate) fn check_envelope(body: &Value) -> Result<(), ErpError> {
    let status = text_at(body, &["status"]).map(|s| parse::fold(&s));
    if status.as_deref() != Some("error") {
        return Ok(());
    }
    let mut message = text_at(body, &["msg", "message", "mensagem"]).unwrap_or_default();
    let details = parse::strings(body.get("errors"), &["msg", "message"]);
    if !details.is_empty() {
        message = format!("{message} ({})", details.join("; "));
    }
    Err(if parse::mentions_auth_failure(&message) {
        ErpError::Unauthorized
    } else if parse::mentions_not_found(&message) {
        ErpError::NotFound
    } else {
        ErpError::business(if message.is_empty() {
            "erro sem mensagem".to_owned()
        } else {
            message
        })
    })
}

/// `/oauth/token`: `{access_token, expires_in, refresh_token, token_type}`.
pub(crate) fn parse_token(body: &Value) -> Result<(String, Option<u64>), ErpError> {
    let token = text_at(body, &["access_token"]).ok_or_else(|| {
        if body.get("error").is_some() {
            ErpError::Unauthorized
        } else {
            ErpError::InvalidResponse("Hubsoft: resposta de token sem access_token".into())
        }
    })?;
    let lifetime = int_at(body, &["expires_in"]).and_then(|s| u64::try_from(s).ok());
    Ok((token, lifetime))
}

fn contract_from_service(service: &Value, customer_erp_id: &str) -> Option<Contract> {
    let erp_id = id_at(service, &["id_cliente_servico", "id"])?;
    let prefix = text_at(service, &["status_prefixo"]);
    let text = text_at(service, &["status"]);
    // A trust unlock shows as "servico_habilitado"; the service's `desbloqueio_confianca.ativo`
    // tells it apart from a plain active service.
    let trust_unlocked = service
        .get("desbloqueio_confianca")
        .and_then(|d| parse::flag_at(d, &["ativo"]))
        .unwrap_or(false);
    let status = match prefix
        .as_deref()
        .or(text.as_deref())
        .map(parse::contract_status_from_text)
        .unwrap_or(ContractStatus::Other)
    {
        ContractStatus::Active if trust_unlocked => ContractStatus::TrustUnlocked,
        other => other,
    };
    let online = service
        .get("ultima_conexao")
        .and_then(|c| parse::flag_at(c, &["conectado", "online"]));
    Some(Contract {
        erp_id,
        customer_erp_id: customer_erp_id.to_owned(),
        plan_name: text_at(service, &["nome", "plano", "descricao"]),
        monthly_cents: parse::cents_at(service, &["valor"]),
        status,
        raw_status: prefix.or(text).unwrap_or_default(),
        online,
        login: text_at(service, &["login"]),
    })
}

/// One customer of `/cliente` with its services as contracts. The customer is identified by
/// `codigo_cliente`, the key Hubsoft's own search (`busca=codigo_cliente`) takes.
pub(crate) fn parse_customer(record: &Value) -> Option<(Customer, Vec<Contract>)> {
    let erp_id = id_at(record, &["codigo_cliente", "id_cliente"])?;
    let contracts = list(record, &["servicos"])
        .iter()
        .filter_map(|s| contract_from_service(s, &erp_id))
        .collect();
    let customer = Customer {
        system: System::Hubsoft,
        erp_id,
        document: text_at(record, &["cpf_cnpj"]).and_then(|d| parse::document(&d)),
        name: text_at(record, &["nome_razaosocial", "nome", "nome_fantasia"]).unwrap_or_default(),
        phones: parse::phones_from(
            [
                "telefone_primario",
                "telefone_secundario",
                "telefone_terciario",
            ]
            .iter()
            .filter_map(|k| text_at(record, &[k])),
        ),
        emails: ["email_principal", "email_secundario"]
            .iter()
            .filter_map(|k| text_at(record, &[k]))
            .collect(),
    };
    Some((customer, contracts))
}

pub(crate) fn parse_customers(body: &Value) -> Result<Vec<(Customer, Vec<Contract>)>, ErpError> {
    Ok(parse_customers_with_city(body)?
        .into_iter()
        .map(|(customer, contracts, _)| (customer, contracts))
        .collect())
}

/// The customer's city: `endereco.cidade` (or a flat `cidade`), when the answer has an address.
fn city_of(record: &Value) -> Option<String> {
    record
        .get("endereco")
        .and_then(|address| text_at(address, &["cidade", "nome_cidade"]))
        .or_else(|| text_at(record, &["cidade"]))
}

/// A customer with their services as contracts and, when given, their city.
pub(crate) type CustomerWithCity = (Customer, Vec<Contract>, Option<String>);

pub(crate) fn parse_customers_with_city(body: &Value) -> Result<Vec<CustomerWithCity>, ErpError> {
    match check_envelope(body) {
        Err(ErpError::NotFound) => return Ok(Vec::new()),
        Err(other) => return Err(other),
        Ok(()) => {}
    }
    if body.get("clientes").is_none() {
        return Err(ErpError::InvalidResponse(
            "Hubsoft: resposta sem \"clientes\"".into(),
        ));
    }
    Ok(list(body, &["clientes"])
        .iter()
        .filter_map(|record| {
            let (customer, contracts) = parse_customer(record)?;
            Some((customer, contracts, city_of(record)))
        })
        .collect())
}

/// One invoice of `cliente/financeiro` or `financeiro/fatura`.
pub(crate) fn parse_invoice(record: &Value, today: Date) -> Option<Invoice> {
    let erp_id = id_at(record, &["id_fatura", "id"])?;
    let due_date = parse::date_at(record, &["data_vencimento", "vencimento"])?;
    let amount_cents = parse::cents_at(record, &["valor", "valor_original"])?;
    let paid_at = parse::timestamp_at(record, &["data_pagamento", "data_quitacao"]);
    let status_text = text_at(record, &["status", "situacao"]).map(|s| parse::fold(&s));
    // "aguardando_pagamento" is open: the waiting words are checked before "pag".
    let status = match status_text.as_deref() {
        Some(s) if s.contains("cancel") => InvoiceStatus::Cancelled,
        Some(s) if s.contains("parcial") => InvoiceStatus::Partial,
        Some(s) if s.contains("aguardando") || s.contains("aberto") || s.contains("pendente") => {
            open_status(due_date, today, None)
        }
        Some(s) if s.contains("vencid") => InvoiceStatus::Overdue,
        Some(s) if s.starts_with("pag") || s.contains("quitad") => InvoiceStatus::Paid,
        _ if paid_at.is_some() || parse::flag_at(record, &["quitado"]) == Some(true) => {
            InvoiceStatus::Paid
        }
        _ => open_status(due_date, today, None),
    };
    let payment_methods = [
        boleto_method(
            text_at(record, &["linha_digitavel"]),
            text_at(record, &["codigo_barras"]),
            text_at(record, &["link", "link_boleto"]),
        ),
        pix_method(text_at(
            record,
            &["pix_copia_cola", "pix_copia_e_cola", "pix"],
        )),
        link_method(text_at(record, &["link_pagamento"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Invoice {
        erp_id,
        contract_id: id_at(record, &["id_cliente_servico"]),
        due_date,
        amount_cents,
        amount_due_cents: parse::cents_at(record, &["valor_atualizado", "valor_corrigido"]),
        fine_cents: parse::cents_at(record, &["valor_multa", "multa"]),
        interest_cents: parse::cents_at(record, &["valor_juros", "juros"]),
        paid_cents: parse::cents_at(record, &["valor_pago"]).filter(|c| *c > 0),
        status,
        paid_at,
        payment_methods,
    })
}

pub(crate) fn parse_invoices(body: &Value, today: Date) -> Result<Vec<Invoice>, ErpError> {
    match check_envelope(body) {
        Err(ErpError::NotFound) => return Ok(Vec::new()),
        Err(other) => return Err(other),
        Ok(()) => {}
    }
    Ok(list(body, &["faturas", "data", "registros"])
        .iter()
        .filter_map(|r| parse_invoice(r, today))
        .collect())
}

/// A `financeiro/fatura` page: its invoices, how many records it held and the total if given. A
/// page without `faturas` is not one.
pub(crate) fn parse_invoice_page(
    body: &Value,
    today: Date,
) -> Result<(Vec<Invoice>, usize, Option<usize>), ErpError> {
    check_envelope(body)?;
    let Some(records) = ["faturas", "data", "registros"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_array))
    else {
        return Err(ErpError::InvalidResponse(
            "Hubsoft: página de faturas sem \"faturas\"".into(),
        ));
    };
    let invoices = records
        .iter()
        .filter_map(|r| parse_invoice(r, today))
        .collect();
    Ok((invoices, records.len(), total_records(body)))
}

/// `desbloqueio_confianca`: `{status:"success", msg:"… até a data DD/MM/YYYY"}` or an error
/// envelope with the reason.
pub(crate) fn parse_unlock(body: &Value, days: u32) -> Result<UnlockResult, ErpError> {
    let message = text_at(body, &["msg", "message", "mensagem"]);
    match check_envelope(body) {
        Ok(()) => Ok(UnlockResult {
            granted: true,
            until: message.as_deref().and_then(parse::date_in_message),
            days: Some(days),
            protocol: text_at(body, &["protocolo"]),
            refusal: None,
            erp_message: message,
        }),
        Err(ErpError::Unauthorized) => Err(ErpError::Unauthorized),
        Err(_) => {
            let refusal = message
                .as_deref()
                .map(parse::refusal_from_message)
                .unwrap_or(UnlockRefusal::Unknown);
            Ok(UnlockResult::refused(refusal, message))
        }
    }
}

/// `atendimento`: `{status, msg, atendimento:{id_atendimento, protocolo, status}}`.
pub(crate) fn parse_ticket(body: &Value, ticket: &NewTicket) -> Result<Ticket, ErpError> {
    check_envelope(body)?;
    let service = body.get("atendimento").unwrap_or(body);
    let protocol = text_at(service, &["protocolo"])
        .ok_or_else(|| ErpError::InvalidResponse("Hubsoft: atendimento sem protocolo".into()))?;
    Ok(Ticket {
        erp_id: id_at(service, &["id_atendimento", "id"]),
        protocol,
        kind: text_at(service, &["tipo_atendimento", "tipo"]),
        status: service
            .get("status")
            .and_then(|s| text_at(s, &["descricao", "nome"]).or_else(|| parse::text(s))),
        opened_at: parse::timestamp_at(service, &["data_cadastro", "data_abertura"])
            .unwrap_or_else(Timestamp::now),
        description: ticket.description.clone(),
    })
}

/// Total records of a paged answer, when given.
fn total_records(body: &Value) -> Option<usize> {
    let paging = field(body, &["paginacao"])?;
    int_at(paging, &["total_registros", "total"]).and_then(|t| usize::try_from(t).ok())
}

impl Hubsoft {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        Ok(Hubsoft {
            http: settings.http(None)?,
            base: settings.base_url.clone(),
            credentials: json!({
                "grant_type": "password",
                "client_id": settings.key("client_id"),
                "client_secret": settings.key("client_secret"),
                "username": settings.key("username"),
                "password": settings.key("password"),
            }),
            // Hubsoft says 30 days; renew daily anyway.
            tokens: TokenCache::new(Duration::from_secs(24 * 3600)),
            unlock_days: settings
                .optional("unlock_days")
                .and_then(|d| d.parse().ok())
                .unwrap_or(3),
        })
    }

    async fn fetch_token(&self) -> Result<(String, Option<u64>), ErpError> {
        let request = self
            .http
            .client()
            .post(join(&self.base, "oauth/token"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.credentials.to_string());
        let reply = self.http.send(request).await?;
        if reply.status == 400 || reply.status == 401 {
            return Err(ErpError::Unauthorized);
        }
        parse_token(&reply.check()?.json()?)
    }

    /// Sends with the bearer token; on 401 the token is renewed once and the call repeated.
    async fn authed(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Value, ErpError> {
        let token = self.tokens.get(|| self.fetch_token()).await?;
        let reply = self.http.send(build(&token)).await?;
        let reply = if reply.status == 401 {
            self.tokens.invalidate(&token).await;
            let fresh = self.tokens.get(|| self.fetch_token()).await?;
            self.http.send(build(&fresh)).await?
        } else {
            reply
        };
        reply.check()?.json()
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ErpError> {
        let url = format!("{}?{}", join(&self.base, path), form_encode(query));
        self.authed(|token| self.http.client().get(&url).bearer_auth(token))
            .await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, ErpError> {
        let url = join(&self.base, path);
        let body = body.to_string();
        self.authed(|token| {
            self.http
                .client()
                .post(&url)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    async fn search(
        &self,
        by: &str,
        term: &str,
    ) -> Result<Vec<(Customer, Vec<Contract>)>, ErpError> {
        let body = self
            .get(
                "api/v1/integracao/cliente",
                &[("busca", by), ("termo_busca", term), ("limit", "100")],
            )
            .await?;
        parse_customers(&body)
    }

    async fn search_with_city(
        &self,
        by: &str,
        term: &str,
    ) -> Result<Vec<CustomerWithCity>, ErpError> {
        let body = self
            .get(
                "api/v1/integracao/cliente",
                &[("busca", by), ("termo_busca", term), ("limit", "100")],
            )
            .await?;
        parse_customers_with_city(&body)
    }

    async fn finance(
        &self,
        customer: &Customer,
        only_pending: bool,
    ) -> Result<Vec<Invoice>, ErpError> {
        let document = document_of(customer)?;
        let mut query = vec![("busca", "cpf_cnpj"), ("termo_busca", document.as_str())];
        if only_pending {
            query.push(("apenas_pendente", "sim"));
        }
        let body = self
            .get("api/v1/integracao/cliente/financeiro", &query)
            .await?;
        parse_invoices(&body, parse::today_in_brazil())
    }
}

#[async_trait]
impl ErpAdapter for Hubsoft {
    fn system(&self) -> System {
        System::Hubsoft
    }

    fn lists_receivables_in_bulk(&self) -> bool {
        true
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        Ok(self
            .search("cpf_cnpj", document.as_str())
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .next())
    }

    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        let mut found = Vec::new();
        for form in parse::phone_search_forms(phone) {
            let matching = self
                .search("telefone", &form)
                .await?
                .into_iter()
                .map(|(c, _)| c)
                .filter(|c| {
                    c.phones.is_empty() || c.phones.iter().any(|p| parse::phone_matches(p, phone))
                });
            push_unique(&mut found, matching);
        }
        Ok(found)
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        Ok(self
            .search("codigo_cliente", &customer.erp_id)
            .await?
            .into_iter()
            .filter(|(c, _)| c.erp_id == customer.erp_id)
            .flat_map(|(_, contracts)| contracts)
            .collect())
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        Ok(self
            .finance(customer, true)
            .await?
            .into_iter()
            .filter(|i| i.status.is_payable())
            .collect())
    }

    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        self.finance(customer, false)
            .await?
            .into_iter()
            .find(|i| i.erp_id == invoice_id)
            .ok_or(ErpError::NotFound)
    }

    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        download_pdf(&self.http, invoice).await
    }

    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let body = self
            .post(
                "api/v1/integracao/cliente/desbloqueio_confianca",
                &json!({
                    "id_cliente_servico": contract.erp_id,
                    "dias_desbloqueio": self.unlock_days,
                }),
            )
            .await?;
        let mut result = parse_unlock(&body, self.unlock_days)?;
        if result.granted && result.until.is_none() {
            result.until = parse::today_in_brazil()
                .checked_add(i64::from(self.unlock_days).days())
                .ok();
        }
        Ok(result)
    }

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        let current = self
            .search("codigo_cliente", &contract.customer_erp_id)
            .await?
            .into_iter()
            .flat_map(|(_, contracts)| contracts)
            .find(|c| c.erp_id == contract.erp_id)
            .ok_or(ErpError::NotFound)?;
        Ok(ConnectionStatus {
            online: current.online,
            blocked: Some(current.status.is_blocked_for_debt()),
            contract_status: Some(current.status),
            erp_message: None,
        })
    }

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let service = ticket.contract_erp_id.as_deref().ok_or_else(|| {
            ErpError::business("o Hubsoft abre atendimentos por serviço: informe o contrato")
        })?;
        let body = self
            .post(
                "api/v1/integracao/atendimento",
                &json!({
                    "id_cliente_servico": service,
                    "descricao": format!("{}\n\n{}", ticket.subject, ticket.description),
                    "nome": ticket.contact_name.clone().unwrap_or_default(),
                    "telefone": ticket.contact_phone.clone().unwrap_or_default(),
                    "abrir_os": false,
                }),
            )
            .await?;
        parse_ticket(&body, ticket)
    }

    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        _customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        let today = parse::today_in_brazil();
        let (from_text, to_text) = (from.to_string(), until.to_string());
        let page_size = INVOICE_PAGE.to_string();
        let mut paid = Vec::new();
        let mut seen = 0;
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let body = self
                .get(
                    "api/v1/integracao/financeiro/fatura",
                    &[
                        ("pagina", &page_text),
                        ("itens_por_pagina", &page_size),
                        ("tipo_data", "data_pagamento"),
                        ("data_inicio", &from_text),
                        ("data_fim", &to_text),
                        ("apenas_quitado", "sim"),
                    ],
                )
                .await?;
            let records = list(&body, &["faturas", "data", "registros"]).len();
            paid.extend(parse_invoices(&body, today)?);
            seen += records;
            if records < INVOICE_PAGE || total_records(&body).is_some_and(|t| seen >= t) {
                return Ok(payment_events(
                    paid,
                    from,
                    until,
                    DetectedBy::PaymentDateWindow,
                ));
            }
        }
        Err(too_many_pages(MAX_PAGES * INVOICE_PAGE))
    }

    /// In bulk, ignoring `customers`: `financeiro/fatura` by due date (`tipo_data=data_vencimento`,
    /// `data_inicio`/`data_fim`, `apenas_em_aberto=sim`, 500 a page). Those invoices name their
    /// service (`id_cliente_servico`) but not the customer, and Hubsoft lists customers only by
    /// search: each customer is read once (`cliente?busca=id_cliente_servico`), which also gives
    /// the services' status and value and the customer's address.
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
        let (from_text, to_text) = (due_from.to_string(), due_until.to_string());
        let page_size = INVOICE_PAGE.to_string();
        let mut owed = Vec::new();
        let mut seen = 0;
        let mut complete = false;
        for page in 1..=MAX_RECEIVABLE_PAGES {
            let page_text = page.to_string();
            let body = self
                .get(
                    "api/v1/integracao/financeiro/fatura",
                    &[
                        ("pagina", &page_text),
                        ("itens_por_pagina", &page_size),
                        ("tipo_data", "data_vencimento"),
                        ("data_inicio", &from_text),
                        ("data_fim", &to_text),
                        ("apenas_em_aberto", "sim"),
                    ],
                )
                .await?;
            let (invoices, records, total) = parse_invoice_page(&body, today)?;
            owed.extend(
                invoices
                    .into_iter()
                    .filter(|i| receivables::is_receivable(i, due_from, due_until)),
            );
            seen += records;
            if records < INVOICE_PAGE || total.is_some_and(|t| seen >= t) {
                complete = true;
                break;
            }
        }
        if !complete {
            return Err(too_many_pages(MAX_RECEIVABLE_PAGES * INVOICE_PAGE));
        }
        // Service id → (customer, their contracts, city), filled one customer search at a time.
        let mut owners: Vec<CustomerWithCity> = Vec::new();
        let mut owner_of: HashMap<String, usize> = HashMap::new();
        let mut unknown: HashSet<String> = HashSet::new();
        let mut rows = Vec::with_capacity(owed.len());
        for invoice in owed {
            let Some(service) = invoice.contract_id.clone() else {
                tracing::warn!(invoice = %invoice.erp_id, "Hubsoft: fatura sem id_cliente_servico ignorada");
                continue;
            };
            if !owner_of.contains_key(&service) && !unknown.contains(&service) {
                for found in self
                    .search_with_city("id_cliente_servico", &service)
                    .await?
                {
                    let index = owners.len();
                    for contract in &found.1 {
                        owner_of.entry(contract.erp_id.clone()).or_insert(index);
                    }
                    owners.push(found);
                }
                if !owner_of.contains_key(&service) {
                    unknown.insert(service.clone());
                }
            }
            let Some(&index) = owner_of.get(&service) else {
                tracing::warn!(invoice = %invoice.erp_id, %service, "Hubsoft: fatura de serviço não encontrado ignorada");
                continue;
            };
            let (customer, contracts, city) = &owners[index];
            let contract = receivables::contract_for(&invoice, contracts);
            rows.push(Receivable::new(
                customer.clone(),
                invoice,
                contract,
                city.clone(),
            ));
        }
        Ok(receivables::finish(rows))
    }

    /// Hubsoft documents no release action but the trust unlock (`desbloqueio_confianca`: a few
    /// days, limited — not to be spent on a paid invoice); it lifts a debt block itself when it
    /// posts the payment. This reads the service's status (`status_prefixo`) and reports it.
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        receivables::restore_from_check(System::Hubsoft, self.connection_status(contract).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 21);

    #[test]
    fn invoice_pages_need_their_list_and_give_the_total() {
        let body = json!({"status": "success", "faturas": [
            {"id_fatura": 71, "id_cliente_servico": 1000004, "valor": "129.90",
             "data_vencimento": "2026-11-25", "status": "aguardando_pagamento"},
            {"id_fatura": 72, "id_cliente_servico": 1000004, "valor": "129.90",
             "data_vencimento": "2026-10-25", "status": "vencido"},
            {"valor": "1.00"}
        ], "paginacao": {"pagina_atual": 1, "itens_por_pagina": 500, "total_registros": 3}});
        let (invoices, records, total) = parse_invoice_page(&body, TODAY).unwrap();
        assert_eq!((records, total), (3, Some(3)));
        assert_eq!(invoices.len(), 2);
        assert_eq!(invoices[0].contract_id.as_deref(), Some("1000004"));
        assert_eq!(invoices[0].status, InvoiceStatus::Open);
        assert_eq!(invoices[1].status, InvoiceStatus::Overdue);
        assert!(matches!(
            parse_invoice_page(&json!({"status": "success", "msg": "ok"}), TODAY),
            Err(ErpError::InvalidResponse(_))
        ));
        assert_eq!(
            parse_invoice_page(&json!({"status": "error", "msg": "Data inválida"}), TODAY)
                .unwrap_err(),
            ErpError::business("Data inválida")
        );
    }

    #[test]
    fn customers_carry_their_city_when_given() {
        let body = json!({"status": "success", "clientes": [
            {"codigo_cliente": 5, "nome_razaosocial": "Ana", "endereco": {"cidade": "Sobral"}, "servicos": []},
            {"codigo_cliente": 6, "nome_razaosocial": "Rui", "cidade": "Crato"},
            {"codigo_cliente": 7, "nome_razaosocial": "Lia"}
        ]});
        let cities: Vec<_> = parse_customers_with_city(&body)
            .unwrap()
            .into_iter()
            .map(|(_, _, city)| city)
            .collect();
        assert_eq!(
            cities,
            vec![Some("Sobral".into()), Some("Crato".into()), None]
        );
    }

    #[test]
    fn token_answers() {
        let (token, lifetime) = parse_token(&json!({"access_token": "abc", "expires_in": 2592000,
            "refresh_token": "r", "token_type": "Bearer"}))
        .unwrap();
        assert_eq!((token.as_str(), lifetime), ("abc", Some(2592000)));
        assert_eq!(
            parse_token(&json!({"error": "invalid_credentials", "message": "x"})).unwrap_err(),
            ErpError::Unauthorized
        );
    }

    #[test]
    fn customers_with_services() {
        let body = json!({"status": "success", "msg": "Dados consultados com sucesso", "clientes": [{
        "id_cliente": 321, "codigo_cliente": 1001, "nome_razaosocial": "Carla Dias", "tipo_pessoa": "pf",
        "cpf_cnpj": "529.982.247-25", "telefone_primario": "(21) 99876-5432", "email_principal": "carla@example.com",
        "data_cadastro": "05/03/2021",
        "servicos": [
            {"id_cliente_servico": 555, "nome": "FIBRA 500", "valor": "119.90", "status": "Suspenso por débito",
             "status_prefixo": "suspenso_debito", "login": "carla", "ultima_conexao": {"conectado": false}},
            {"id_cliente_servico": 556, "nome": "FIBRA 100", "valor": 79.9, "status": "Habilitado",
             "status_prefixo": "servico_habilitado", "ultima_conexao": {"conectado": true}},
            {"id_cliente_servico": 557, "nome": "FIBRA 100", "status_prefixo": "servico_habilitado",
             "desbloqueio_confianca": {"ativo": true, "data_fim": "24/11/2026"}}
        ]}]});
        let parsed = parse_customers(&body).unwrap();
        let (customer, contracts) = &parsed[0];
        assert_eq!(customer.erp_id, "1001");
        assert_eq!(customer.phones, vec!["21998765432"]);
        assert_eq!(contracts.len(), 3);
        assert_eq!(contracts[2].status, ContractStatus::TrustUnlocked);
        assert_eq!(contracts[0].status, ContractStatus::SuspendedDebt);
        assert_eq!(contracts[0].online, Some(false));
        assert_eq!(contracts[0].monthly_cents, Some(11990));
        assert_eq!(contracts[1].status, ContractStatus::Active);
        assert_eq!(contracts[1].customer_erp_id, "1001");
    }

    #[test]
    fn error_envelopes() {
        assert!(
            parse_customers(&json!({"status": "error", "msg": "Nenhum cliente encontrado"}))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            parse_customers(
                &json!({"status": "error", "msg": "Parâmetro inválido", "errors": ["busca"]})
            )
            .unwrap_err(),
            ErpError::business("Parâmetro inválido (busca)")
        );
        assert!(matches!(
            parse_customers(&json!({"status": "success"})),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn invoices_accept_the_misspelled_status_and_both_date_orders() {
        let waiting = json!({"status": "success", "faturas": [
            {"id_fatura": 1, "valor": "10.00", "data_vencimento": "30/11/2026", "status": "aguardando_pagamento"},
            {"id_fatura": 2, "valor": "10.00", "data_vencimento": "30/10/2026", "status": "vencido"},
            {"id_fatura": 3, "valor": "10.00", "data_vencimento": "30/09/2026", "status": "pago", "quitado": true}
        ]});
        let statuses: Vec<_> = parse_invoices(&waiting, TODAY)
            .unwrap()
            .iter()
            .map(|i| i.status)
            .collect();
        assert_eq!(
            statuses,
            vec![
                InvoiceStatus::Open,
                InvoiceStatus::Overdue,
                InvoiceStatus::Paid
            ]
        );
        let body = json!({"status": "suscess", "faturas": [
            {"id_fatura": 77, "nosso_numero": "123", "linha_digitavel": "34191090080000000000901234567890112340000009990",
             "codigo_barras": "", "link": "http://hub/boleto/77.pdf", "tipo_cobranca": "boleto", "valor": "119.90",
             "data_vencimento": "10/11/2026", "data_pagamento": null, "pix_copia_cola": "0002010102122699"},
            {"id_fatura": 78, "valor": "119.90", "data_vencimento": "2026-10-10", "data_pagamento": "09/10/2026"}
        ]});
        let invoices = parse_invoices(&body, TODAY).unwrap();
        assert_eq!(invoices[0].status, InvoiceStatus::Overdue);
        assert_eq!(invoices[0].due_date, date(2026, 11, 10));
        assert_eq!(invoices[0].pdf_url(), Some("http://hub/boleto/77.pdf"));
        assert_eq!(invoices[0].pix_code(), Some("0002010102122699"));
        assert_eq!(invoices[1].status, InvoiceStatus::Paid);
        assert_eq!(
            invoices[1].paid_at.map(parse::date_in_brazil),
            Some(date(2026, 10, 9))
        );
    }

    #[test]
    fn unlock_success_date_and_refusal() {
        let ok = parse_unlock(
            &json!({"status": "success", "msg": "Desbloqueio realizado até a data 24/11/2026"}),
            3,
        )
        .unwrap();
        assert!(ok.granted);
        assert_eq!(ok.until, Some(date(2026, 11, 24)));
        let refused = parse_unlock(
            &json!({"status": "error", "msg": "Quantidade de dias acima do máximo permitido"}),
            9,
        )
        .unwrap();
        assert_eq!(refused.refusal, Some(UnlockRefusal::ExceedsPolicy));
        let used = parse_unlock(
            &json!({"status": "error", "msg": "Desbloqueio em confiança já utilizado neste mês"}),
            3,
        )
        .unwrap();
        assert_eq!(used.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
    }

    #[test]
    fn ticket_protocol() {
        let request = NewTicket {
            customer_erp_id: "1001".into(),
            contract_erp_id: Some("555".into()),
            subject: "Lentidão".into(),
            description: "Internet lenta".into(),
            contact_name: None,
            contact_phone: None,
        };
        let body = json!({"status": "success", "msg": "ok", "atendimento": {"id_atendimento": 9, "protocolo": "202611210009",
            "status": {"descricao": "Aberto"}, "ordens_servico": []}});
        let ticket = parse_ticket(&body, &request).unwrap();
        assert_eq!(ticket.protocol, "202611210009");
        assert_eq!(ticket.status.as_deref(), Some("Aberto"));
        assert!(
            parse_ticket(
                &json!({"status": "error", "msg": "Serviço inválido"}),
                &request
            )
            .is_err()
        );
    }
}
