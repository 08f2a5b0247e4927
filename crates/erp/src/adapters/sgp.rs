//! SGP (TSMX), "URA" integration API: every request is a POST to `/api/ura/<name>/` with `token`
//! and `app` in the form body. Business errors are HTTP 200 with `status != 1` and a `msg`.
//!
//! Auth keys: `token`, `app`. Optional: `ticket_type` (the provider's `ocorrenciatipo` for tickets
//! opened by the bot, default "1").

use super::{
    Settings, boleto_method, document_of, download_pdf, link_method, listing_too_long, open_status,
    payment_events, pix_method, push_unique, too_many_pages,
};
use crate::adapter::ErpAdapter;
use crate::error::ErpError;
use crate::http::{Http, form_encode, join};
use crate::model::*;
use crate::parse::{self, field, flag_at, id_at, int_at, list, text_at};
use crate::receivables;
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde_json::Value;

/// SGP caps `titulos` pages at 250 and `clientes` pages at 100.
const TITLES_PAGE: usize = 250;
const CLIENTS_PAGE: usize = 100;
const MAX_PAGES: usize = 200;
/// Pages of `clientes` a receivables listing walks: two million customers.
const MAX_CLIENT_PAGES: usize = 20_000;

pub struct Sgp {
    http: Http,
    base: String,
    token: String,
    app: String,
    ticket_type: String,
}

impl Sgp {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        Ok(Sgp {
            http: settings.http(None)?,
            base: settings.base_url.clone(),
            token: settings.key("token"),
            app: settings.key("app"),
            ticket_type: settings
                .optional("ticket_type")
                .unwrap_or_else(|| "1".into()),
        })
    }

    async fn post(&self, endpoint: &str, fields: &[(&str, &str)]) -> Result<Value, ErpError> {
        let mut pairs: Vec<(&str, &str)> = vec![("token", &self.token), ("app", &self.app)];
        pairs.extend_from_slice(fields);
        let url = join(&self.base, &format!("api/ura/{endpoint}/"));
        let request = self
            .http
            .client()
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_encode(&pairs));
        self.http.send(request).await?.check()?.json()
    }

    async fn customers_where(&self, filter: (&str, &str)) -> Result<Vec<Customer>, ErpError> {
        Ok(
            parse_customers(&self.post("consultacliente", &[filter]).await?)?
                .into_iter()
                .map(|(customer, _)| customer)
                .collect(),
        )
    }

    async fn titles(
        &self,
        filters: &[(&str, &str)],
        today: Date,
    ) -> Result<Vec<Invoice>, ErpError> {
        let mut out = Vec::new();
        let limit = TITLES_PAGE.to_string();
        for page in 0..MAX_PAGES {
            let offset = (page * TITLES_PAGE).to_string();
            let mut fields = filters.to_vec();
            fields.extend([("offset", offset.as_str()), ("limit", limit.as_str())]);
            let body = self.post("titulos", &fields).await?;
            let (invoices, raw_count, total) = parse_titles(&body, today)?;
            out.extend(invoices);
            let seen = page * TITLES_PAGE + raw_count;
            if raw_count < TITLES_PAGE || total.is_some_and(|t| seen >= t) {
                return Ok(out);
            }
        }
        Err(too_many_pages(MAX_PAGES * TITLES_PAGE))
    }
}

/// The error an SGP envelope carries, if it is one (`status` present and not 1).
fn envelope_error(body: &Value) -> Option<ErpError> {
    let status = int_at(body, &["status"])?;
    if status == 1 {
        return None;
    }
    let message = text_at(body, &["msg", "mensagem", "message"]).unwrap_or_default();
    Some(if parse::mentions_auth_failure(&message) {
        ErpError::Unauthorized
    } else if parse::mentions_not_found(&message) {
        ErpError::NotFound
    } else {
        ErpError::business(if message.is_empty() {
            format!("status {status}")
        } else {
            message
        })
    })
}

/// Contract status from SGP's display text, else its certain integer codes.
fn contract_status(display: Option<&str>, code: Option<i64>) -> ContractStatus {
    match display.map(parse::contract_status_from_text) {
        Some(status) if status != ContractStatus::Other => status,
        _ => match code {
            Some(1) => ContractStatus::Active,
            Some(3) => ContractStatus::Cancelled,
            _ => ContractStatus::Other,
        },
    }
}

/// SGP's display text is coarse ("Suspenso", "Bloqueado", "Ativo"); `motivo_status` tells a
/// manual block or a suspension by request from one for debt, and an active contract that is
/// only active by a trust unlock.
fn refine_with_reason(status: ContractStatus, reason: Option<&str>) -> ContractStatus {
    let Some(by_reason) = reason.map(parse::contract_status_from_text) else {
        return status;
    };
    match (status, by_reason) {
        (ContractStatus::Active, ContractStatus::TrustUnlocked) => ContractStatus::TrustUnlocked,
        (
            ContractStatus::SuspendedDebt,
            refined @ (ContractStatus::SuspendedManual | ContractStatus::SuspendedByRequest),
        ) => refined,
        _ => status,
    }
}

fn raw_status(display: Option<&str>, code: Option<i64>) -> String {
    match (display, code) {
        (Some(d), Some(c)) => format!("{d} ({c})"),
        (Some(d), None) => d.to_owned(),
        (None, Some(c)) => c.to_string(),
        (None, None) => String::new(),
    }
}

/// Customers with their contracts from `consultacliente` (`{msg, contratos:[…]}`, one entry per
/// contract) or `clientes` (`{clientes:[{…, contratos:[…]}]}`).
pub(crate) fn parse_customers(body: &Value) -> Result<Vec<(Customer, Vec<Contract>)>, ErpError> {
    if let Some(clients) = body.get("clientes").and_then(Value::as_array) {
        return Ok(clients.iter().filter_map(parse_client_entry).collect());
    }
    let Some(contracts) = body.get("contratos").and_then(Value::as_array) else {
        return match envelope_error(body) {
            Some(ErpError::NotFound) => Ok(Vec::new()),
            Some(error) => Err(error),
            None => {
                let message = text_at(body, &["msg", "mensagem"]).unwrap_or_default();
                if parse::mentions_not_found(&message) {
                    Ok(Vec::new())
                } else if parse::mentions_auth_failure(&message) {
                    Err(ErpError::Unauthorized)
                } else {
                    Err(ErpError::InvalidResponse(
                        "SGP: resposta sem \"contratos\" nem \"clientes\"".into(),
                    ))
                }
            }
        };
    };
    let mut out: Vec<(Customer, Vec<Contract>)> = Vec::new();
    for entry in contracts {
        let Some(document_text) = text_at(entry, &["cpfCnpj", "cpfcnpj", "cpf_cnpj"]) else {
            continue;
        };
        let customer_id = id_at(entry, &["clienteId", "cliente_id", "idCliente"])
            .unwrap_or_else(|| parse::digits(&document_text));
        let Some(contract_id) = id_at(entry, &["contratoId", "contrato", "id"]) else {
            continue;
        };
        let display = text_at(entry, &["contratoStatusDisplay", "statusDisplay"]);
        let code = int_at(entry, &["contratoStatus", "status"]);
        let reason = text_at(entry, &["motivo_status", "motivoStatus"]);
        let contract = Contract {
            erp_id: contract_id,
            customer_erp_id: customer_id.clone(),
            plan_name: text_at(entry, &["planointernet", "servico_plano", "plano"]),
            monthly_cents: parse::cents_at(
                entry,
                &["planointernet_valor", "servico_valor", "valor"],
            ),
            status: refine_with_reason(
                contract_status(display.as_deref(), code),
                reason.as_deref(),
            ),
            raw_status: match &reason {
                Some(r) => format!("{} — {r}", raw_status(display.as_deref(), code)),
                None => raw_status(display.as_deref(), code),
            },
            online: None,
            login: text_at(entry, &["servico_login", "login"]),
        };
        match out.iter_mut().find(|(c, _)| c.erp_id == customer_id) {
            Some((_, contracts)) => contracts.push(contract),
            None => {
                let customer = Customer {
                    system: System::Sgp,
                    erp_id: customer_id,
                    document: parse::document(&document_text),
                    name: text_at(entry, &["razaoSocial", "nome", "razao_social"])
                        .unwrap_or_default(),
                    phones: parse::phones_from(parse::strings(
                        field(entry, &["telefones", "telefone", "celular"]),
                        &["numero", "telefone", "contato", "fone"],
                    )),
                    emails: parse::strings(
                        field(entry, &["emails", "email"]),
                        &["email", "contato"],
                    ),
                };
                out.push((customer, vec![contract]));
            }
        }
    }
    Ok(out)
}

fn parse_client_entry(client: &Value) -> Option<(Customer, Vec<Contract>)> {
    let document_text = text_at(client, &["cpfcnpj", "cpfCnpj", "cpf_cnpj"])?;
    let customer_id = id_at(client, &["id", "clienteId", "cliente_id"])
        .unwrap_or_else(|| parse::digits(&document_text));
    let contracts = list(client, &["contratos"])
        .iter()
        .filter_map(|c| {
            let erp_id = id_at(c, &["contrato", "contratoId", "id"])?;
            let services = list(c, &["servicos"]);
            let first_service = services.first();
            let display = text_at(c, &["statusDisplay", "contratoStatusDisplay"])
                .or_else(|| c.get("status").and_then(Value::as_str).map(str::to_owned))
                .filter(|s| s.parse::<i64>().is_err());
            let code = int_at(c, &["status", "contratoStatus"]);
            let online = services.iter().find_map(|s| {
                s.get("onu")
                    .and_then(|onu| onu.get("conexao"))
                    .and_then(|conn| flag_at(conn, &["status", "online"]))
            });
            Some(Contract {
                erp_id,
                customer_erp_id: customer_id.clone(),
                plan_name: first_service.and_then(|s| {
                    s.get("plano")
                        .and_then(|p| text_at(p, &["descricao", "nome"]))
                        .or_else(|| text_at(s, &["plano"]))
                }),
                monthly_cents: first_service.and_then(|s| {
                    s.get("plano")
                        .and_then(|p| parse::cents_at(p, &["valor"]))
                        .or_else(|| parse::cents_at(s, &["valor"]))
                }),
                status: contract_status(display.as_deref(), code),
                raw_status: raw_status(display.as_deref(), code),
                online,
                login: first_service.and_then(|s| text_at(s, &["login"])),
            })
        })
        .collect();
    let customer = Customer {
        system: System::Sgp,
        erp_id: customer_id,
        document: parse::document(&document_text),
        name: text_at(client, &["nome", "razaoSocial", "razao_social"]).unwrap_or_default(),
        phones: parse::phones_from(parse::strings(
            field(client, &["telefones", "telefone", "celular"]),
            &["numero", "telefone", "contato", "fone"],
        )),
        emails: parse::strings(field(client, &["emails", "email"]), &["email", "contato"]),
    };
    Some((customer, contracts))
}

/// One customer of a `clientes` page with its contracts and titles.
pub(crate) type ClientEntry = (Customer, Vec<Contract>, Vec<Invoice>);

/// A `clientes` page (`{clientes:[{…, contratos:[…], titulos:[…]}], paginacao:{total}}`): its
/// customers, how many records it held, and the total if given.
pub(crate) fn parse_client_page(
    body: &Value,
    today: Date,
) -> Result<(Vec<ClientEntry>, usize, Option<usize>), ErpError> {
    let Some(clients) = body.get("clientes").and_then(Value::as_array) else {
        return match envelope_error(body) {
            Some(ErpError::NotFound) => Ok((Vec::new(), 0, None)),
            Some(error) => Err(error),
            None => Err(ErpError::InvalidResponse(
                "SGP: resposta de clientes sem \"clientes\"".into(),
            )),
        };
    };
    let total = body
        .get("paginacao")
        .and_then(|p| int_at(p, &["total", "totalRegistros", "total_registros"]))
        .and_then(|t| usize::try_from(t).ok());
    let entries = clients
        .iter()
        .filter_map(|client| {
            let (customer, contracts) = parse_client_entry(client)?;
            let titles = list(client, &["titulos"])
                .iter()
                .filter_map(|t| parse_title(t, today))
                .collect();
            Some((customer, contracts, titles))
        })
        .collect();
    Ok((entries, clients.len(), total))
}

/// One title of `/api/ura/titulos/`.
pub(crate) fn parse_title(title: &Value, today: Date) -> Option<Invoice> {
    let erp_id = id_at(title, &["id", "titulo", "numeroDocumento"])?;
    let due_date = parse::date_at(title, &["dataVencimento", "vencimento", "data_vencimento"])?;
    let amount_cents = parse::cents_at(title, &["valor", "valorOriginal", "valor_original"])?;
    let raw_status = text_at(title, &["status", "situacao"]).unwrap_or_else(|| "aberto".into());
    let paid_at = parse::timestamp_at(title, &["dataPagamento", "data_pagamento"]);
    let folded = parse::fold(&raw_status);
    let status = if folded.contains("cancel") {
        InvoiceStatus::Cancelled
    } else if folded.contains("parcial") {
        InvoiceStatus::Partial
    } else if folded.starts_with("pag") || folded.contains("quitad") || folded.contains("baixad") {
        InvoiceStatus::Paid
    } else {
        open_status(
            due_date,
            today,
            int_at(title, &["diasAtraso", "dias_atraso"]),
        )
    };
    let payment_methods = [
        boleto_method(
            text_at(
                title,
                &["linhaDigitavel", "linhadigitavel", "linha_digitavel"],
            ),
            text_at(title, &["codigoBarras", "codigobarras", "codigo_barras"]),
            text_at(title, &["link", "link_boleto"]),
        ),
        pix_method(text_at(title, &["codigoPix", "codigopix", "pix"])),
        link_method(text_at(title, &["link_cobranca", "linkCobranca"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Invoice {
        erp_id,
        contract_id: id_at(title, &["contrato", "contratoId"]),
        due_date,
        amount_cents,
        amount_due_cents: parse::cents_at(title, &["valorCorrigido", "valor_corrigido"]),
        fine_cents: parse::cents_at(title, &["valorMulta", "multa"]),
        interest_cents: parse::cents_at(title, &["valorJuros", "juros"]),
        paid_cents: parse::cents_at(title, &["valorPago", "valor_pago"]).filter(|c| *c > 0),
        status,
        paid_at,
        payment_methods,
    })
}

/// A `titulos` page: the invoices, how many records the page held, and the total if given.
pub(crate) fn parse_titles(
    body: &Value,
    today: Date,
) -> Result<(Vec<Invoice>, usize, Option<usize>), ErpError> {
    let records = list(body, &["titulos", "data", "registros", "faturas"]);
    if records.is_empty()
        && let Some(error) = envelope_error(body)
    {
        return match error {
            ErpError::NotFound => Ok((Vec::new(), 0, None)),
            other => Err(other),
        };
    }
    let total = body
        .get("paginacao")
        .and_then(|p| int_at(p, &["total", "totalRegistros", "total_registros"]))
        .and_then(|t| usize::try_from(t).ok());
    let invoices = records
        .iter()
        .filter_map(|t| {
            let parsed = parse_title(t, today);
            if parsed.is_none() {
                tracing::warn!("SGP: título sem id, vencimento ou valor ignorado");
            }
            parsed
        })
        .collect();
    Ok((invoices, records.len(), total))
}

/// `liberacaopromessa`: `{status:1, liberado:true, liberado_dias:3, protocolo, msg}` or a refusal
/// (`liberado:false` or `status != 1`).
pub(crate) fn parse_unlock(body: &Value, today: Date) -> Result<UnlockResult, ErpError> {
    let status = int_at(body, &["status"]);
    let released = flag_at(body, &["liberado"]);
    let message = text_at(body, &["msg", "mensagem"]).map(|m| parse::strip_tags(&m));
    if status.is_none() && released.is_none() {
        return Err(ErpError::InvalidResponse(
            "SGP: resposta de liberação sem status".into(),
        ));
    }
    if status.is_none_or(|s| s == 1) && released != Some(false) {
        let days = int_at(body, &["liberado_dias", "dias"]).and_then(|d| u32::try_from(d).ok());
        let until = message
            .as_deref()
            .and_then(parse::date_in_message)
            .or_else(|| days.and_then(|d| today.checked_add(i64::from(d).days()).ok()));
        return Ok(UnlockResult {
            granted: true,
            until,
            days,
            protocol: text_at(body, &["protocolo"]),
            refusal: None,
            erp_message: message,
        });
    }
    if let Some(m) = &message
        && parse::mentions_auth_failure(m)
    {
        return Err(ErpError::Unauthorized);
    }
    let refusal = message
        .as_deref()
        .map(parse::refusal_from_message)
        .unwrap_or(UnlockRefusal::Unknown);
    Ok(UnlockResult::refused(refusal, message))
}

/// `verificaacesso`: `status` 1 online / 0 offline, `msg` "Serviço Online|Offline", the contract
/// status under the misspelled `staus` (also accepted spelled right).
pub(crate) fn parse_access(body: &Value) -> Result<ConnectionStatus, ErpError> {
    let message = text_at(body, &["msg", "mensagem"]);
    let folded = message.as_deref().map(parse::fold).unwrap_or_default();
    let online = if folded.contains("offline") {
        Some(false)
    } else if folded.contains("online") {
        Some(true)
    } else {
        match (int_at(body, &["status"]), message.as_deref()) {
            (Some(1), _) => Some(true),
            (Some(_), Some(m)) if parse::mentions_auth_failure(m) => {
                return Err(ErpError::Unauthorized);
            }
            (Some(_), Some(m)) if parse::mentions_not_found(m) => return Err(ErpError::NotFound),
            (Some(0), None) => Some(false),
            (Some(_), Some(m)) => return Err(ErpError::business(m)),
            _ => {
                return Err(ErpError::InvalidResponse(
                    "SGP: verificaacesso sem status".into(),
                ));
            }
        }
    };
    let contract_status = body
        .get("staus")
        .or_else(|| body.get("status_contrato"))
        .or_else(|| body.get("contratoStatusDisplay"))
        .and_then(|v| match v {
            Value::String(s) if s.parse::<i64>().is_err() => {
                Some(parse::contract_status_from_text(s))
            }
            other => parse::int(other).map(|code| contract_status(None, Some(code))),
        });
    Ok(ConnectionStatus {
        online,
        blocked: contract_status.map(|s| s.is_blocked_for_debt()),
        contract_status,
        erp_message: message,
    })
}

/// `chamado`: `{status:1, protocolo, msg, contratoId}`.
pub(crate) fn parse_ticket(body: &Value, ticket: &NewTicket) -> Result<Ticket, ErpError> {
    if let Some(error) = envelope_error(body) {
        return Err(error);
    }
    let protocol = text_at(body, &["protocolo", "protocol"]).ok_or_else(|| {
        ErpError::InvalidResponse("SGP: chamado aberto sem protocolo na resposta".into())
    })?;
    Ok(Ticket {
        erp_id: id_at(body, &["chamadoId", "id", "ocorrenciaId"]).or(Some(protocol.clone())),
        protocol,
        kind: None,
        status: text_at(body, &["msg"]),
        opened_at: Timestamp::now(),
        description: ticket.description.clone(),
    })
}

#[async_trait]
impl ErpAdapter for Sgp {
    fn system(&self) -> System {
        System::Sgp
    }

    fn lists_receivables_in_bulk(&self) -> bool {
        true
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        Ok(self
            .customers_where(("cpfcnpj", document.as_str()))
            .await?
            .into_iter()
            .next())
    }

    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        let mut found = Vec::new();
        let limit = CLIENTS_PAGE.to_string();
        for form in parse::phone_search_forms(phone) {
            let body = self
                .post(
                    "clientes",
                    &[("telefone", &form), ("offset", "0"), ("limit", &limit)],
                )
                .await?;
            let customers = parse_customers(&body)?
                .into_iter()
                .map(|(c, _)| c)
                .filter(|c| {
                    c.phones.is_empty() || c.phones.iter().any(|p| parse::phone_matches(p, phone))
                });
            push_unique(&mut found, customers);
        }
        Ok(found)
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        let document = document_of(customer)?;
        let body = self
            .post("consultacliente", &[("cpfcnpj", document.as_str())])
            .await?;
        Ok(parse_customers(&body)?
            .into_iter()
            .filter(|(c, _)| c.erp_id == customer.erp_id)
            .flat_map(|(_, contracts)| contracts)
            .collect())
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let document = document_of(customer)?;
        let today = parse::today_in_brazil();
        Ok(self
            .titles(
                &[("cpfcnpj", document.as_str()), ("status", "abertos")],
                today,
            )
            .await?
            .into_iter()
            .filter(|i| i.status.is_payable())
            .collect())
    }

    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        let document = document_of(customer)?;
        let today = parse::today_in_brazil();
        for status in ["abertos", "pagos", "cancelados"] {
            let found = self
                .titles(&[("cpfcnpj", document.as_str()), ("status", status)], today)
                .await?
                .into_iter()
                .find(|i| i.erp_id == invoice_id);
            if let Some(invoice) = found {
                return Ok(invoice);
            }
        }
        Err(ErpError::NotFound)
    }

    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        download_pdf(&self.http, invoice).await
    }

    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let body = self
            .post(
                "liberacaopromessa",
                &[
                    ("contrato", &contract.erp_id),
                    (
                        "conteudo",
                        "Liberação em confiança pedida pelo assinante no WhatsApp",
                    ),
                ],
            )
            .await?;
        parse_unlock(&body, parse::today_in_brazil())
    }

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        parse_access(
            &self
                .post("verificaacesso", &[("contrato", &contract.erp_id)])
                .await?,
        )
    }

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let contract = ticket.contract_erp_id.as_deref().ok_or_else(|| {
            ErpError::business("o SGP abre chamados por contrato: informe o contrato")
        })?;
        let content = format!("{}\n\n{}", ticket.subject, ticket.description);
        let body = self
            .post(
                "chamado",
                &[
                    ("contrato", contract),
                    ("ocorrenciatipo", &self.ticket_type),
                    ("conteudo", &content),
                    ("contato_nome", ticket.contact_name.as_deref().unwrap_or("")),
                    (
                        "contato_telefone",
                        ticket.contact_phone.as_deref().unwrap_or(""),
                    ),
                ],
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
        let paid = self
            .titles(
                &[
                    ("status", "pagos"),
                    ("data_pagamento_inicio", &from_text),
                    ("data_pagamento_fim", &to_text),
                ],
                today,
            )
            .await?;
        Ok(payment_events(
            paid,
            from,
            until,
            DetectedBy::PaymentDateWindow,
        ))
    }

    /// In bulk, ignoring `customers`: one pass over `POST /api/ura/clientes/` (no filter, 100 a
    /// page), which answers every customer with their contracts and titles; the titles owed in
    /// the window are kept. (`titulos` can filter by due date but carries no customer, so it
    /// would need this pass anyway.) The `clientes` contract status is only SGP's display text:
    /// a suspension by request ("Suspenso") reads as one for debt. No city or plan value there.
    async fn receivables(
        &self,
        due_from: Date,
        due_until: Date,
        _customers: &[Customer],
    ) -> Result<Vec<Receivable>, ErpError> {
        let mut rows = Vec::new();
        if due_from > due_until {
            return Ok(rows);
        }
        let today = parse::today_in_brazil();
        let limit = CLIENTS_PAGE.to_string();
        for page in 0..MAX_CLIENT_PAGES {
            let offset = (page * CLIENTS_PAGE).to_string();
            let body = self
                .post("clientes", &[("offset", &offset), ("limit", &limit)])
                .await?;
            let (entries, raw_count, total) = parse_client_page(&body, today)?;
            for (customer, contracts, titles) in entries {
                for invoice in titles {
                    if receivables::is_receivable(&invoice, due_from, due_until) {
                        let contract = receivables::contract_for(&invoice, &contracts);
                        rows.push(Receivable::new(customer.clone(), invoice, contract, None));
                    }
                }
            }
            let seen = page * CLIENTS_PAGE + raw_count;
            if raw_count < CLIENTS_PAGE || total.is_some_and(|t| seen >= t) {
                return Ok(receivables::finish(rows));
            }
        }
        Err(listing_too_long(MAX_CLIENT_PAGES * CLIENTS_PAGE))
    }

    /// SGP documents no release action but the trust unlock (`liberacaopromessa`: a few days,
    /// once a month — not to be spent on a paid invoice); it lifts a debt block itself when it
    /// posts the payment. This reads the contract (`consultacliente` by `contrato`, whose
    /// `motivo_status` tells a block for debt from a manual one) and reports its status.
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let body = self
            .post("consultacliente", &[("contrato", &contract.erp_id)])
            .await?;
        let current = parse_customers(&body)?
            .into_iter()
            .flat_map(|(_, contracts)| contracts)
            .find(|c| c.erp_id == contract.erp_id);
        Ok(match current {
            Some(current) => receivables::restore_by_status(System::Sgp, current.status),
            None => UnlockResult::refused(UnlockRefusal::NotFound, None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    const TODAY: Date = date(2026, 11, 21);

    #[test]
    fn consultacliente_groups_contracts_by_customer() {
        let body = json!({
            "msg": "",
            "contratos": [
                {"contratoId": 101, "clienteId": 7, "razaoSocial": "Maria da Silva", "cpfCnpj": "529.982.247-25",
                 "telefones": ["(11) 98765-4321", "(11) 3265-4321"], "emails": ["maria@example.com"],
                 "contratoStatus": 1, "contratoStatusDisplay": "Ativo", "planointernet": "300 MEGA",
                 "servico_login": "maria"},
                {"contratoId": "102", "clienteId": "7", "razaoSocial": "Maria da Silva", "cpfCnpj": "52998224725",
                 "telefones": [], "emails": [], "contratoStatus": 4, "contratoStatusDisplay": "Suspenso",
                 "motivo_status": "Débito", "planointernet": "100 MEGA"},
                {"contratoId": 103, "clienteId": 7, "cpfCnpj": "52998224725", "contratoStatus": 3},
                {"contratoId": 104, "clienteId": 7, "cpfCnpj": "52998224725", "contratoStatus": 5,
                 "contratoStatusDisplay": "Bloqueado", "motivo_status": "Bloqueio manual"},
                {"contratoId": 105, "clienteId": 7, "cpfCnpj": "52998224725", "contratoStatus": 4,
                 "contratoStatusDisplay": "Suspenso", "motivo_status": "Solicitação do cliente"},
                {"contratoId": 106, "clienteId": 7, "cpfCnpj": "52998224725", "contratoStatus": 1,
                 "contratoStatusDisplay": "Ativo", "motivo_status": "Liberação por confiança até 24/11/2026"}
            ]
        });
        let parsed = parse_customers(&body).unwrap();
        assert_eq!(parsed.len(), 1);
        let (customer, contracts) = &parsed[0];
        assert_eq!(customer.erp_id, "7");
        assert_eq!(customer.document.as_ref().unwrap().as_str(), "52998224725");
        assert_eq!(customer.phones, vec!["11987654321", "1132654321"]);
        assert_eq!(customer.emails, vec!["maria@example.com"]);
        let statuses: Vec<_> = contracts
            .iter()
            .map(|c| (c.erp_id.as_str(), c.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("101", ContractStatus::Active),
                ("102", ContractStatus::SuspendedDebt),
                ("103", ContractStatus::Cancelled),
                ("104", ContractStatus::SuspendedManual),
                ("105", ContractStatus::SuspendedByRequest),
                ("106", ContractStatus::TrustUnlocked)
            ]
        );
        assert_eq!(contracts[0].login.as_deref(), Some("maria"));
        assert_eq!(contracts[0].raw_status, "Ativo (1)");
    }

    #[test]
    fn clientes_shape_is_read_too() {
        let body = json!({"clientes": [{
            "nome": "João Souza", "cpfcnpj": "52998224725", "telefones": [{"numero": "11 8765-4321"}],
            "contratos": [{"contrato": 55, "status": "Ativo V. Reduzida",
                "servicos": [{"plano": {"id": 3, "descricao": "500 MEGA"}, "login": "joao",
                              "onu": {"conexao": {"status": "online"}}}]}]
        }]});
        let parsed = parse_customers(&body).unwrap();
        let (customer, contracts) = &parsed[0];
        assert_eq!(
            customer.erp_id, "52998224725",
            "no id: the document identifies the customer"
        );
        assert_eq!(customer.phones, vec!["11987654321"]);
        assert_eq!(contracts[0].erp_id, "55");
        assert_eq!(contracts[0].status, ContractStatus::ReducedSpeed);
        assert_eq!(contracts[0].plan_name.as_deref(), Some("500 MEGA"));
        assert_eq!(contracts[0].online, Some(true));
    }

    #[test]
    fn client_pages_carry_titles_and_the_total() {
        let body = json!({"clientes": [{
            "id": 7, "nome": "Maria da Silva", "cpfcnpj": "52998224725", "telefones": ["11987654321"],
            "contratos": [{"contrato": 101, "status": "Suspenso", "servicos": []}],
            "titulos": [
                {"id": 9001, "contrato": 101, "status": "aberto", "valor": "99.90", "dataVencimento": "2026-11-18"},
                {"id": 9002, "status": "aberto", "valor": 99.9, "dataVencimento": "2026-12-18"}
            ]
        }], "paginacao": {"offset": 0, "limit": 100, "total": 1}});
        let (entries, raw, total) = parse_client_page(&body, TODAY).unwrap();
        assert_eq!((raw, total), (1, Some(1)));
        let (customer, contracts, titles) = &entries[0];
        assert_eq!(customer.erp_id, "7");
        assert_eq!(contracts[0].status, ContractStatus::SuspendedDebt);
        assert_eq!(titles.len(), 2);
        assert_eq!(titles[0].status, InvoiceStatus::Overdue);
        assert_eq!(
            parse_client_page(&json!({"status": 0, "msg": "Token ou app inválido"}), TODAY)
                .unwrap_err(),
            ErpError::Unauthorized
        );
        assert!(matches!(
            parse_client_page(&json!({"contratos": []}), TODAY),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn not_found_and_auth_envelopes() {
        assert!(
            parse_customers(&json!({"msg": "Cliente não encontrado", "contratos": []}))
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_customers(&json!({"status": 0, "msg": "Nenhum cliente encontrado"}))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            parse_customers(&json!({"status": 0, "msg": "Token ou app inválido"})).unwrap_err(),
            ErpError::Unauthorized
        );
        assert!(matches!(
            parse_customers(&json!({"foo": 1})),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn titles_with_all_payment_methods_and_statuses() {
        let body = json!({"titulos": [
            {"id": 9001, "numeroDocumento": "9001", "contrato": 101, "status": "aberto", "valor": "99.90",
             "valorCorrigido": "101.50", "diasAtraso": 3, "codigoBarras": "",
             "linhaDigitavel": "34191.09008 00000.000009 01234.567890 1 12340000009990",
             "codigoPix": "00020101021226", "link": "http://sgp/boleto/9001.pdf",
             "link_cobranca": "http://sgp/pagar/9001", "dataVencimento": "2026-11-18"},
            {"id": "9002", "status": "pago", "valor": 99.9, "valorPago": "99.90",
             "dataVencimento": "2026-10-18", "dataPagamento": "2026-10-17 14:03:00"},
            {"id": 9003, "status": "aberto", "valor": "99,90", "dataVencimento": "21/11/2026"},
            {"status": "aberto"}
        ], "paginacao": {"offset": 0, "limit": 250, "total": 4}});
        let (invoices, raw, total) = parse_titles(&body, TODAY).unwrap();
        assert_eq!((raw, total), (4, Some(4)));
        assert_eq!(invoices.len(), 3, "the record without id is dropped");
        let first = &invoices[0];
        assert_eq!(first.status, InvoiceStatus::Overdue);
        assert_eq!(first.amount_cents, 9990);
        assert_eq!(first.amount_due_cents, Some(10150));
        assert_eq!(first.contract_id.as_deref(), Some("101"));
        assert_eq!(
            first.digitable_line(),
            Some("34191090080000000000901234567890112340000009990")
        );
        assert_eq!(first.pix_code(), Some("00020101021226"));
        assert_eq!(first.pdf_url(), Some("http://sgp/boleto/9001.pdf"));
        assert!(first.payment_methods.contains(&PaymentMethod::Link {
            url: "http://sgp/pagar/9001".into()
        }));
        assert_eq!(invoices[1].status, InvoiceStatus::Paid);
        assert_eq!(
            invoices[1].paid_at.unwrap().to_string(),
            "2026-10-17T17:03:00Z"
        );
        assert_eq!(
            invoices[2].status,
            InvoiceStatus::Open,
            "due today is not overdue"
        );
    }

    #[test]
    fn titles_error_envelope() {
        assert_eq!(
            parse_titles(
                &json!({"status": 0, "msg": "Nenhum título encontrado"}),
                TODAY
            )
            .unwrap()
            .0,
            vec![]
        );
        assert_eq!(
            parse_titles(&json!({"status": 2, "msg": "Filtro inválido"}), TODAY).unwrap_err(),
            ErpError::business("Filtro inválido")
        );
    }

    #[test]
    fn unlock_success_and_refusals() {
        let ok = parse_unlock(
            &json!({"status": 1, "liberado": true, "liberado_dias": 3, "protocolo": "2026112100001",
                    "razaoSocial": "Maria", "msg": "Liberado com sucesso", "contratoId": 101}),
            TODAY,
        )
        .unwrap();
        assert!(ok.granted);
        assert_eq!((ok.days, ok.until), (Some(3), Some(date(2026, 11, 24))));
        assert_eq!(ok.protocol.as_deref(), Some("2026112100001"));
        let used = parse_unlock(
            &json!({"status": 1, "liberado": false, "msg": "Liberação por confiança já utilizada neste mês"}),
            TODAY,
        )
        .unwrap();
        assert!(!used.granted);
        assert_eq!(used.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
        let not_blocked = parse_unlock(
            &json!({"status": 0, "msg": "Contrato não está bloqueado"}),
            TODAY,
        )
        .unwrap();
        assert_eq!(not_blocked.refusal, Some(UnlockRefusal::NotBlocked));
        assert!(parse_unlock(&json!({}), TODAY).is_err());
    }

    #[test]
    fn access_reads_online_and_misspelled_status() {
        let online =
            parse_access(&json!({"status": 1, "msg": "Serviço Online", "staus": "Ativo"})).unwrap();
        assert_eq!(online.online, Some(true));
        assert_eq!(online.contract_status, Some(ContractStatus::Active));
        let offline =
            parse_access(&json!({"status": 0, "msg": "Serviço Offline", "staus": 4})).unwrap();
        assert_eq!(offline.online, Some(false));
        assert_eq!(offline.contract_status, Some(ContractStatus::Other));
        let suspended =
            parse_access(&json!({"status": 0, "msg": "Serviço Offline", "staus": "Suspenso"}))
                .unwrap();
        assert_eq!(suspended.blocked, Some(true));
        assert_eq!(
            parse_access(&json!({"status": 0, "msg": "Contrato não encontrado"})).unwrap_err(),
            ErpError::NotFound
        );
    }

    #[test]
    fn ticket_protocol_or_error() {
        let request = NewTicket {
            customer_erp_id: "7".into(),
            contract_erp_id: Some("101".into()),
            subject: "Sem conexão".into(),
            description: "Internet caiu".into(),
            contact_name: None,
            contact_phone: None,
        };
        let ticket = parse_ticket(&json!({"status": 1, "protocolo": "20261121123", "msg": "Chamado aberto", "contratoId": 101}), &request).unwrap();
        assert_eq!(ticket.protocol, "20261121123");
        assert_eq!(
            parse_ticket(
                &json!({"status": 0, "msg": "Tipo de ocorrência inválido"}),
                &request
            )
            .unwrap_err(),
            ErpError::business("Tipo de ocorrência inválido")
        );
        assert!(matches!(
            parse_ticket(&json!({"status": 1}), &request),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn payment_events_keep_paid_invoices_inside_the_window() {
        let body = json!({"titulos": [
            {"id": 1, "status": "pago", "valor": "10.00", "valorPago": "10.00", "dataVencimento": "2026-11-10", "dataPagamento": "2026-11-20"},
            {"id": 2, "status": "pago", "valor": "10.00", "dataVencimento": "2026-10-10", "dataPagamento": "2026-10-09"},
            {"id": 3, "status": "aberto", "valor": "10.00", "dataVencimento": "2026-11-10"}
        ]});
        let (invoices, _, _) = parse_titles(&body, TODAY).unwrap();
        let events = payment_events(
            invoices.clone(),
            date(2026, 11, 1),
            date(2026, 11, 21),
            DetectedBy::PaymentDateWindow,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].invoice_id, "1");
        assert_eq!(events[0].amount_cents, 1000);
        let before = payment_events(
            invoices,
            date(2026, 10, 1),
            date(2026, 11, 19),
            DetectedBy::PaymentDateWindow,
        );
        assert_eq!(before.len(), 1, "the window's end is kept too");
        assert_eq!(before[0].invoice_id, "2");
    }
}
