//! Grupo Voalle third-party integration: client-credentials token from a separate port
//! (`{token_url}/connect/token`, production 45700) and the API on another (45715). Answers are
//! `{success, messages:[{message, code, type}], response}`; pages are `{data[], totalRecords, page,
//! pageSize, totalPages}`. No lookup by phone, no connection status; about 30 requests a minute.
//!
//! Auth keys: `client_id`, `client_secret`, `syndata`, `token_url`.

use super::{
    Settings, boleto_method, document_of, download_pdf, link_method, open_status, payment_events,
    pix_method,
};
use crate::adapter::ErpAdapter;
use crate::error::{ErpError, Operation};
use crate::http::{Http, RateLimit, TokenCache, encode_component, form_encode, join};
use crate::model::*;
use crate::parse::{self, id_at, int_at, list, text_at};
use crate::receivables;
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::time::Duration;

const API: &str = "external/integrations/thirdparty";
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 50;

/// Under the ~30 requests a minute Voalle is reported to allow, with a small burst so a lookup
/// (token, person, titles) goes out at once.
pub const VOALLE_RATE_LIMIT: RateLimit = RateLimit {
    per_minute: 25,
    burst: 5,
};

pub struct Voalle {
    http: Http,
    base: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    syndata: String,
    tokens: TokenCache,
}

/// The messages of an envelope, joined.
fn messages(body: &Value) -> String {
    let joined = list(body, &["messages"])
        .iter()
        .filter_map(|m| text_at(m, &["message", "text"]))
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        text_at(body, &["message", "error_description", "error"]).unwrap_or_default()
    } else {
        joined
    }
}

/// `Err` when `success` is false (or an `Error` message without `success`).
pub(crate) fn check_envelope(body: &Value) -> Result<(), ErpError> {
    let success = parse::flag_at(body, &["success"]);
    let has_error_message = list(body, &["messages"])
        .iter()
        .any(|m| text_at(m, &["type"]).is_some_and(|t| parse::fold(&t) == "error"));
    if success == Some(true) || (success.is_none() && !has_error_message) {
        return Ok(());
    }
    let message = messages(body);
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

pub(crate) fn parse_token(body: &Value) -> Result<(String, Option<u64>), ErpError> {
    let token = text_at(body, &["access_token"]).ok_or(ErpError::Unauthorized)?;
    Ok((
        token,
        int_at(body, &["expires_in"]).and_then(|s| u64::try_from(s).ok()),
    ))
}

/// The records of `response`: an array, a page (`data`), or a single object.
fn records(body: &Value) -> &[Value] {
    match body.get("response") {
        Some(Value::Array(items)) => items,
        Some(object @ Value::Object(_)) => {
            let inner = list(object, &["data", "titles", "items"]);
            if inner.is_empty() && object.get("id").is_some() {
                std::slice::from_ref(object)
            } else {
                inner
            }
        }
        _ => list(body, &["data"]),
    }
}

fn total_pages(body: &Value) -> Option<usize> {
    let page = body
        .get("response")
        .filter(|r| r.is_object())
        .unwrap_or(body);
    int_at(page, &["totalPages"]).and_then(|t| usize::try_from(t).ok())
}

pub(crate) fn parse_contract(record: &Value, customer_erp_id: &str) -> Option<Contract> {
    let erp_id = id_at(record, &["contractNumber", "number", "id", "contractId"])?;
    let raw_status = text_at(record, &["status", "stage", "situation"]).unwrap_or_default();
    Some(Contract {
        erp_id,
        customer_erp_id: customer_erp_id.to_owned(),
        plan_name: text_at(
            record,
            &["plan", "planName", "description", "serviceProduct"],
        ),
        monthly_cents: parse::cents_at(record, &["amount", "value", "monthlyAmount"]),
        status: contract_status(&raw_status),
        raw_status,
        online: parse::flag_at(record, &["online", "connected"]),
        login: text_at(record, &["login", "username"]),
    })
}

/// Voalle's contract stages: "Normal", "Bloqueio Financeiro", "Bloqueio Administrativo",
/// "Suspenso" (a suspension the customer asked for, distinct from the blocks), "Reduzido",
/// "Desbloqueio de Confiança"…, or their English names in some installations.
pub(crate) fn contract_status(raw: &str) -> ContractStatus {
    let f = parse::fold(raw);
    match f.as_str() {
        "normal" | "ativo" | "active" => ContractStatus::Active,
        "suspenso" | "suspensao" | "suspended" => ContractStatus::SuspendedByRequest,
        "bloqueio financeiro" | "financial block" | "blocked" => ContractStatus::SuspendedDebt,
        _ if f.contains("trust") => ContractStatus::TrustUnlocked,
        _ if f.contains("cancel") => ContractStatus::Cancelled,
        _ if f.contains("reduced") => ContractStatus::ReducedSpeed,
        _ if f.contains("request") => ContractStatus::SuspendedByRequest,
        _ if f.contains("pending") || f.contains("install") => ContractStatus::PendingInstall,
        _ => parse::contract_status_from_text(raw),
    }
}

/// A person and, when the answer lists them, their contracts.
type Person = (Customer, Option<Vec<Contract>>);

/// `people/txid/{cpf}`: `response:{id, name, txId, email, status, phone, cellPhone, contracts?}`.
pub(crate) fn parse_person(body: &Value) -> Result<Option<Person>, ErpError> {
    match check_envelope(body) {
        Err(ErpError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
        Ok(()) => {}
    }
    let Some(person) = body.get("response").filter(|r| r.is_object()) else {
        return Ok(None);
    };
    let erp_id = id_at(person, &["id", "personId"])
        .ok_or_else(|| ErpError::InvalidResponse("Voalle: pessoa sem id".into()))?;
    let contracts = person
        .get("contracts")
        .or_else(|| person.get("contratos"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| parse_contract(c, &erp_id))
                .collect()
        });
    let customer = Customer {
        system: System::Voalle,
        document: text_at(person, &["txId", "txid", "cpfCnpj"]).and_then(|d| parse::document(&d)),
        name: text_at(person, &["name", "nome"]).unwrap_or_default(),
        phones: parse::phones_from(
            ["cellPhone", "phone", "cellPhone2", "whatsapp"]
                .iter()
                .filter_map(|k| text_at(person, &[k])),
        ),
        emails: text_at(person, &["email"]).into_iter().collect(),
        erp_id,
    };
    Ok(Some((customer, contracts)))
}

/// The person's city, where the answer has it (`city`, `cidade` or an address object).
pub(crate) fn person_city(body: &Value) -> Option<String> {
    let person = body.get("response").filter(|r| r.is_object())?;
    text_at(person, &["city", "cidade"]).or_else(|| {
        person
            .get("address")
            .or_else(|| person.get("endereco"))
            .and_then(|a| text_at(a, &["city", "cidade"]))
    })
}

/// One title: `{id, status?, billet:{expirationDate, typefulLine, barcode, pixQRCode,
/// amount:{value, finalValue, fine, interest}}}`.
pub(crate) fn parse_title(title: &Value, today: Date) -> Option<Invoice> {
    let erp_id = id_at(title, &["id", "titleId"])?;
    let billet = title.get("billet").unwrap_or(title);
    let amount = billet.get("amount").unwrap_or(billet);
    let due_date = parse::date_at(billet, &["expirationDate", "dueDate"])
        .or_else(|| parse::date_at(title, &["expirationDate", "dueDate"]))?;
    let amount_cents = parse::cents_at(amount, &["value", "originalValue"])
        .or_else(|| parse::cents_at(title, &["value", "amount"]))?;
    let status_text = text_at(title, &["status", "situation"]).map(|s| parse::fold(&s));
    let paid_at = parse::timestamp_at(
        title,
        &["paymentDate", "paidDate", "payDate", "receiptDate"],
    );
    let status = match status_text.as_deref() {
        Some(s) if s.starts_with("pag") || s.starts_with("paid") || s.contains("quitad") => {
            InvoiceStatus::Paid
        }
        Some(s) if s.starts_with("cancel") => InvoiceStatus::Cancelled,
        Some(s) if s.contains("parcial") || s.contains("partial") => InvoiceStatus::Partial,
        Some(s) if s.contains("vencid") || s.contains("overdue") => InvoiceStatus::Overdue,
        _ => open_status(due_date, today, None),
    };
    let payment_methods = [
        boleto_method(
            text_at(billet, &["typefulLine", "digitableLine"]),
            text_at(billet, &["barcode", "barCode"]),
            text_at(billet, &["url", "link", "pdf", "billetUrl", "printUrl"])
                .or_else(|| text_at(title, &["billetUrl", "pdfUrl"])),
        ),
        pix_method(text_at(billet, &["pixQRCode", "pixQrCode", "pixCopyPaste"])),
        link_method(text_at(title, &["paymentLink"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Invoice {
        erp_id,
        contract_id: id_at(title, &["contractId", "contractNumber"]),
        due_date,
        amount_cents,
        amount_due_cents: parse::cents_at(amount, &["finalValue"]),
        fine_cents: parse::cents_at(amount, &["fine"]),
        interest_cents: parse::cents_at(amount, &["interest"]),
        paid_cents: parse::cents_at(title, &["paidValue", "paidAmount"]).filter(|c| *c > 0),
        status,
        paid_at,
        payment_methods,
    })
}

/// A title listing page; "Cliente não possui títulos em aberto." is an empty list.
pub(crate) fn parse_titles(body: &Value, today: Date) -> Result<Vec<Invoice>, ErpError> {
    match check_envelope(body) {
        Err(ErpError::NotFound) => return Ok(Vec::new()),
        Err(other) => return Err(other),
        Ok(()) => {}
    }
    Ok(records(body)
        .iter()
        .filter_map(|t| parse_title(t, today))
        .collect())
}

pub(crate) fn parse_unlock(body: &Value) -> Result<UnlockResult, ErpError> {
    match check_envelope(body) {
        Ok(()) => {
            let response = body.get("response").unwrap_or(&Value::Null);
            let message = messages(body);
            Ok(UnlockResult {
                granted: true,
                until: parse::date_at(
                    response,
                    &["unlockedUntil", "until", "unlockUntil", "endDate"],
                )
                .or_else(|| parse::date_in_message(&message)),
                days: int_at(response, &["days"]).and_then(|d| u32::try_from(d).ok()),
                protocol: text_at(response, &["protocol", "protocolo"]),
                refusal: None,
                erp_message: (!message.is_empty()).then_some(message),
            })
        }
        Err(ErpError::Unauthorized) => Err(ErpError::Unauthorized),
        Err(ErpError::NotFound) => Ok(UnlockResult::refused(
            UnlockRefusal::NotFound,
            Some(messages(body)),
        )),
        Err(_) => {
            let message = messages(body);
            Ok(UnlockResult::refused(
                parse::refusal_from_message(&message),
                Some(message),
            ))
        }
    }
}

pub(crate) fn parse_ticket(body: &Value, ticket: &NewTicket) -> Result<Ticket, ErpError> {
    check_envelope(body)?;
    let response = body.get("response").unwrap_or(&Value::Null);
    let id = id_at(response, &["id", "solicitationId"]);
    let protocol = text_at(response, &["protocol", "protocolo"])
        .or_else(|| parse::text(response).filter(|_| !response.is_object()))
        .or_else(|| id.clone())
        .ok_or_else(|| ErpError::InvalidResponse("Voalle: solicitação sem protocolo".into()))?;
    Ok(Ticket {
        erp_id: id,
        protocol,
        kind: text_at(response, &["type", "incidentType"]),
        status: text_at(response, &["status"]),
        opened_at: Timestamp::now(),
        description: ticket.description.clone(),
    })
}

impl Voalle {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        let token_url = settings.key("token_url");
        if !token_url.starts_with("http") {
            return Err(ErpError::Config(
                "token_url do Voalle deve ser o endereço da porta de token (http://host:45700)"
                    .into(),
            ));
        }
        Ok(Voalle {
            http: settings.http(Some(VOALLE_RATE_LIMIT))?,
            base: settings.base_url.clone(),
            token_url,
            client_id: settings.key("client_id"),
            client_secret: settings.key("client_secret"),
            syndata: settings.key("syndata"),
            tokens: TokenCache::new(Duration::from_secs(3600)),
        })
    }

    async fn fetch_token(&self) -> Result<(String, Option<u64>), ErpError> {
        let form = form_encode(&[
            ("grant_type", "client_credentials"),
            ("scope", "syngw"),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("syndata", &self.syndata),
        ]);
        let request = self
            .http
            .client()
            .post(join(&self.token_url, "connect/token"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let reply = self.http.send(request).await?;
        if reply.status == 400 || reply.status == 401 {
            return Err(ErpError::Unauthorized);
        }
        parse_token(&reply.check()?.json()?)
    }

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
        // Voalle answers some "not found"s as 404 with the envelope.
        if reply.status == 404 && reply.json().is_ok() {
            return reply.json();
        }
        reply.check()?.json()
    }

    async fn get(&self, path: &str) -> Result<Value, ErpError> {
        let url = join(&self.base, &format!("{API}/{path}"));
        self.authed(|token| self.http.client().get(&url).bearer_auth(token))
            .await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, ErpError> {
        let url = join(&self.base, &format!("{API}/{path}"));
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

    async fn person(&self, document: &Document) -> Result<Option<Person>, ErpError> {
        let body = self
            .get(&format!(
                "people/txid/{}",
                encode_component(document.as_str())
            ))
            .await?;
        parse_person(&body)
    }

    /// Every page of a title listing; more pages than [`MAX_PAGES`] fail rather than being cut.
    async fn titles(&self, endpoint: &str, document: &Document) -> Result<Vec<Invoice>, ErpError> {
        let today = parse::today_in_brazil();
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let body = self
                .get(&format!(
                    "{endpoint}/{}?page={page}&pageSize={PAGE_SIZE}",
                    encode_component(document.as_str())
                ))
                .await?;
            out.extend(parse_titles(&body, today)?);
            if total_pages(&body).is_none_or(|total| page >= total) {
                return Ok(out);
            }
        }
        Err(super::too_many_pages(MAX_PAGES * PAGE_SIZE))
    }

    /// The person's contracts (when the answer lists them) and city.
    async fn person_details(
        &self,
        document: &Document,
    ) -> Result<(Vec<Contract>, Option<String>), ErpError> {
        let body = self
            .get(&format!(
                "people/txid/{}",
                encode_component(document.as_str())
            ))
            .await?;
        let city = person_city(&body);
        let contracts = parse_person(&body)?
            .and_then(|(_, contracts)| contracts)
            .unwrap_or_default();
        Ok((contracts, city))
    }
}

#[async_trait]
impl ErpAdapter for Voalle {
    fn system(&self) -> System {
        System::Voalle
    }

    /// Titles only per customer: the caller passes the customers to ask about.
    fn lists_receivables_in_bulk(&self) -> bool {
        false
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        Ok(self.person(document).await?.map(|(c, _)| c))
    }

    async fn find_customers_by_phone(&self, _phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        Err(ErpError::not_supported(Operation::FindCustomersByPhone))
    }

    /// The person answer's contracts; a Voalle that does not list them there cannot be asked.
    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        let document = document_of(customer)?;
        match self.person(document).await? {
            Some((_, Some(contracts))) => Ok(contracts),
            Some((_, None)) => Err(ErpError::not_supported(Operation::Contracts)),
            None => Ok(Vec::new()),
        }
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let document = document_of(customer)?;
        Ok(self
            .titles("getopentitlesbytxid", document)
            .await?
            .into_iter()
            .filter(|i| i.status.is_payable())
            .collect())
    }

    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        let document = document_of(customer)?;
        self.titles("gettitlesbytxid", document)
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
                &format!("contracts/unlock/{}", encode_component(&contract.erp_id)),
                &json!({}),
            )
            .await?;
        parse_unlock(&body)
    }

    async fn connection_status(&self, _contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        Err(ErpError::not_supported(Operation::ConnectionStatus))
    }

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let body = self
            .post(
                "opensolicitation",
                &json!({
                    "description": format!("{}\n\n{}", ticket.subject, ticket.description),
                    "clientId": ticket.customer_erp_id,
                    "contractId": ticket.contract_erp_id,
                }),
            )
            .await?;
        parse_ticket(&body, ticket)
    }

    /// Voalle lists titles per customer only: each of `customers` is polled (mind the rate limit).
    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        let mut events = Vec::new();
        for customer in customers {
            let Some(document) = customer.document.as_ref() else {
                continue;
            };
            let titles = self.titles("gettitlesbytxid", document).await?;
            events.extend(payment_events(titles, from, until, DetectedBy::StatusPoll));
        }
        Ok(events)
    }

    /// Per customer: Voalle lists titles only by CPF/CNPJ (`getopentitlesbytxid/{cpf}`), so each
    /// of `customers` with a document is asked, and, when a title falls in the window, the person
    /// (`people/txid/{cpf}`) for the contracts' status and value and the city. Voalle allows
    /// about 30 requests a minute: a base of N tracked customers takes about N/25 minutes. Rows
    /// keep the customer as passed in.
    async fn receivables(
        &self,
        due_from: Date,
        due_until: Date,
        customers: &[Customer],
    ) -> Result<Vec<Receivable>, ErpError> {
        let mut rows = Vec::new();
        if due_from > due_until {
            return Ok(rows);
        }
        for customer in receivables::unique_customers(customers) {
            let Some(document) = customer.document.as_ref() else {
                tracing::warn!(customer = %customer.erp_id, "Voalle: cliente sem CPF/CNPJ fora da listagem");
                continue;
            };
            let owed: Vec<Invoice> = self
                .titles("getopentitlesbytxid", document)
                .await?
                .into_iter()
                .filter(|i| receivables::is_receivable(i, due_from, due_until))
                .collect();
            if owed.is_empty() {
                continue;
            }
            let (contracts, city) = self.person_details(document).await?;
            for invoice in owed {
                let contract = receivables::contract_for(&invoice, &contracts);
                rows.push(Receivable::new(
                    customer.clone(),
                    invoice,
                    contract,
                    city.clone(),
                ));
            }
        }
        Ok(receivables::finish(rows))
    }

    /// Not offered: the spec's only Voalle unlock (`contracts/unlock/{contractNumber}`) is the
    /// trust unlock, which must not be spent on a paid invoice, and Voalle has no connection
    /// status; the contract's status is read only through the person's CPF/CNPJ, which a
    /// `Contract` does not carry. Voalle lifts a debt block itself when it posts the payment:
    /// read [`ErpAdapter::contracts`] of the customer to confirm it.
    async fn restore_after_payment(&self, _contract: &Contract) -> Result<UnlockResult, ErpError> {
        Err(ErpError::not_supported(Operation::RestoreAfterPayment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 21);

    #[test]
    fn the_person_city_is_read_where_given() {
        let flat = json!({"success": true, "response": {"id": 1, "name": "Ana", "city": "Sobral"}});
        assert_eq!(person_city(&flat).as_deref(), Some("Sobral"));
        let nested = json!({"success": true, "response": {"id": 1, "address": {"city": "Crato"}}});
        assert_eq!(person_city(&nested).as_deref(), Some("Crato"));
        assert_eq!(
            person_city(&json!({"success": true, "response": {"id": 1}})),
            None
        );
    }

    #[test]
    fn envelopes() {
        assert!(check_envelope(&json!({"success": true, "messages": [], "response": {}})).is_ok());
        assert_eq!(
            check_envelope(&json!({"success": false, "messages": [{"message": "Cliente não possui títulos em aberto.", "code": 404, "type": "Error"}]})).unwrap_err(),
            ErpError::NotFound
        );
        assert_eq!(
            check_envelope(&json!({"success": false, "messages": [{"message": "Contrato sem bloqueio", "type": "Error"}]})).unwrap_err(),
            ErpError::business("Contrato sem bloqueio")
        );
        assert!(check_envelope(&json!({"messages": [{"message": "x", "type": "Error"}]})).is_err());
    }

    #[test]
    fn person_with_and_without_contracts() {
        let body = json!({"success": true, "messages": [], "response": {"id": 88, "name": "Lúcia Prado",
            "txId": "52998224725", "email": "lu@example.com", "status": "Ativo", "phone": "(48) 3222-1111",
            "cellPhone": "(48) 99111-2222",
            "contracts": [{"id": 10, "contractNumber": "C-10", "status": "Suspenso por débito", "plan": "300M"},
                          {"id": 11, "contractNumber": "C-11", "status": "active"}]}});
        let (customer, contracts) = parse_person(&body).unwrap().unwrap();
        assert_eq!(customer.erp_id, "88");
        assert_eq!(customer.phones, vec!["48991112222", "4832221111"]);
        let contracts = contracts.unwrap();
        assert_eq!(contracts[0].erp_id, "C-10");
        assert_eq!(contracts[0].status, ContractStatus::SuspendedDebt);
        assert_eq!(contracts[1].status, ContractStatus::Active);
        let bare =
            json!({"success": true, "response": {"id": 1, "name": "X", "txId": "52998224725"}});
        assert!(parse_person(&bare).unwrap().unwrap().1.is_none());
        assert!(parse_person(&json!({"success": false, "messages": [{"message": "Pessoa não encontrada", "type": "Error"}]})).unwrap().is_none());
        assert!(
            parse_person(&json!({"success": true, "response": null}))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn titles_as_array_or_page() {
        let title = json!({"id": 700, "status": "Vencida", "billet": {"expirationDate": "2026-11-10T00:00:00",
            "typefulLine": "34191090080000000000901234567890112340000009990", "barcode": "",
            "pixQRCode": "00020101021226", "amount": {"value": 99.9, "finalValue": 101.5, "fine": 1.0, "interest": 0.6}}});
        let as_array = json!({"success": true, "response": [title.clone()]});
        let as_page = json!({"success": true, "response": {"data": [title], "totalRecords": 1, "page": 1, "pageSize": 100, "totalPages": 1}});
        for body in [as_array, as_page] {
            let invoices = parse_titles(&body, TODAY).unwrap();
            assert_eq!(invoices.len(), 1);
            let invoice = &invoices[0];
            assert_eq!(invoice.status, InvoiceStatus::Overdue);
            assert_eq!(
                (invoice.amount_cents, invoice.amount_due_cents),
                (9990, Some(10150))
            );
            assert_eq!(
                (invoice.fine_cents, invoice.interest_cents),
                (Some(100), Some(60))
            );
            assert_eq!(invoice.pix_code(), Some("00020101021226"));
        }
        let none_open = json!({"success": false, "messages": [{"message": "Cliente não possui títulos em aberto.", "type": "Warning"}], "response": null});
        assert!(parse_titles(&none_open, TODAY).unwrap().is_empty());
        let paid = json!({"success": true, "response": [{"id": 1, "status": "Paga", "paymentDate": "2026-11-20T10:00:00",
            "billet": {"expirationDate": "2026-11-10", "amount": {"value": "50.00"}}}]});
        let paid = parse_titles(&paid, TODAY).unwrap();
        assert_eq!(paid[0].status, InvoiceStatus::Paid);
        assert!(paid[0].paid_at.is_some());
    }

    #[test]
    fn unlock_and_ticket() {
        assert!(parse_unlock(&json!({"success": true, "messages": [{"message": "Contrato desbloqueado", "type": "Success"}], "response": {}})).unwrap().granted);
        let refused = parse_unlock(&json!({"success": false, "messages": [{"message": "Desbloqueio de confiança já utilizado neste mês", "type": "Error"}]})).unwrap();
        assert_eq!(refused.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
        let request = NewTicket {
            customer_erp_id: "88".into(),
            contract_erp_id: Some("C-10".into()),
            subject: "s".into(),
            description: "d".into(),
            contact_name: None,
            contact_phone: None,
        };
        assert_eq!(
            parse_ticket(
                &json!({"success": true, "response": {"protocol": "2026-123", "id": 5}}),
                &request
            )
            .unwrap()
            .protocol,
            "2026-123"
        );
        assert_eq!(
            parse_ticket(&json!({"success": true, "response": "2026-124"}), &request)
                .unwrap()
                .protocol,
            "2026-124"
        );
    }

    #[test]
    fn contract_stages() {
        use ContractStatus::*;
        for (raw, expected) in [
            ("Normal", Active),
            ("Reduzido", ReducedSpeed),
            ("Bloqueio Financeiro", SuspendedDebt),
            ("Bloqueio Administrativo", SuspendedManual),
            ("Suspenso", SuspendedByRequest),
            ("Desbloqueio de Confiança", TrustUnlocked),
            ("Aguardando Instalação", PendingInstall),
            ("Cancelado", Cancelled),
            ("active", Active),
            ("trust_unlocked", TrustUnlocked),
        ] {
            assert_eq!(contract_status(raw), expected, "{raw}");
        }
    }

    #[test]
    fn token_answer() {
        assert_eq!(
            parse_token(&json!({"access_token": "x", "expires_in": 3600})).unwrap(),
            ("x".into(), Some(3600))
        );
        assert_eq!(
            parse_token(&json!({"error": "invalid_client"})).unwrap_err(),
            ErpError::Unauthorized
        );
    }
}
