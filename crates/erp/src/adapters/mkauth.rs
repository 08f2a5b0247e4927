//! MK-Auth API: `GET /api/` with Basic `client_id:client_secret` answers the raw JWT (about 600 s
//! of life), then `Authorization: Bearer`. "Not found" is the bare string `NULL`. There is no
//! search by phone, no ticket creation and no payment listing; connection status is only the
//! `bloqueado` flag. Each MK-Auth customer is one login, so it has exactly one contract (the login).
//!
//! Auth keys: `client_id`, `client_secret`.

use super::{Settings, boleto_method, document_of, open_status, pix_method};
use crate::adapter::ErpAdapter;
use crate::error::{ErpError, Operation};
use crate::http::{Http, TokenCache, basic_authorization, encode_component, join};
use crate::model::*;
use crate::parse::{self, id_at, list, text_at};
use crate::receivables;
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

pub struct MkAuth {
    http: Http,
    base: String,
    basic: String,
    tokens: TokenCache,
}

/// The body of `GET /api/`: the JWT as bare text (tolerating quotes or a `{token}` object).
pub(crate) fn parse_token(body: &str) -> Result<String, ErpError> {
    let trimmed = body.trim();
    let token = if trimmed.starts_with('{') {
        serde_json::from_str::<Value>(trimmed)
            .ok()
            .and_then(|v| text_at(&v, &["token", "jwt", "access_token"]))
    } else {
        Some(trimmed.trim_matches('"').to_owned())
    };
    match token {
        Some(t) if t.split('.').count() == 3 && !t.contains(char::is_whitespace) => Ok(t),
        _ if trimmed.starts_with('<') => Err(ErpError::InvalidResponse(
            "MK-Auth: página HTML em vez do token".into(),
        )),
        // A JWT cut short in transit (its header always starts with "eyJ").
        Some(t) if t.starts_with("eyJ") => Err(ErpError::InvalidResponse(
            "MK-Auth: token JWT incompleto".into(),
        )),
        _ => Err(ErpError::Unauthorized),
    }
}

/// Whether a body is MK-Auth's "nothing here".
pub(crate) fn is_null(body: &str) -> bool {
    let t = body.trim().trim_matches('"');
    t.eq_ignore_ascii_case("null") || t.is_empty()
}

/// The error an MK-Auth JSON answer carries, if any.
fn envelope_error(body: &Value) -> Option<ErpError> {
    let failed = text_at(body, &["status"])
        .map(|s| matches!(parse::fold(&s).as_str(), "erro" | "error" | "false"))
        .unwrap_or(false)
        || body
            .get("erro")
            .is_some_and(|e| !e.is_null() && e != &json!(false))
        || body
            .get("error")
            .is_some_and(|e| !e.is_null() && e != &json!(false));
    if !failed {
        return None;
    }
    let message = text_at(body, &["mensagem", "msg", "message", "erro", "error"])
        .unwrap_or_else(|| "erro sem mensagem".into());
    Some(if parse::mentions_auth_failure(&message) {
        ErpError::Unauthorized
    } else if parse::mentions_not_found(&message) {
        ErpError::NotFound
    } else {
        ErpError::business(message)
    })
}

/// The customer record of `/api/cliente/show/...` (bare, in an array, or under `dados`/`cliente`).
fn customer_record(body: &Value) -> Option<&Value> {
    let inner = match body {
        Value::Array(items) => items.first()?,
        Value::Object(map) => ["dados", "cliente", "clientes"]
            .iter()
            .find_map(|k| map.get(*k))
            .map(|v| match v {
                Value::Array(items) => items.first(),
                other => Some(other),
            })
            .unwrap_or(Some(body))?,
        _ => return None,
    };
    inner.is_object().then_some(inner)
}

/// A login's state. The spec only knows `bloqueado` (sim/nao); `cli_ativado` (a disabled login),
/// `status_corte` ("down": speed cut) and a running trust unlock noted in `observacao` (with a
/// date not yet past) refine it where present.
fn login_status(record: &Value, today: Date) -> ContractStatus {
    let enabled = text_at(record, &["cli_ativado"]).and_then(|v| parse::flag(&Value::String(v)));
    let blocked = parse::flag_at(record, &["bloqueado"]);
    let cut = text_at(record, &["status_corte"]).map(|c| parse::fold(&c));
    let trust_until = text_at(record, &["observacao", "obs"])
        .filter(|note| parse::fold(note).contains("confianca"))
        .and_then(|note| parse::date_in_message(&note));
    if enabled == Some(false) {
        ContractStatus::Cancelled
    } else if blocked == Some(true) {
        ContractStatus::SuspendedDebt
    } else if cut.as_deref() == Some("down") {
        ContractStatus::ReducedSpeed
    } else if trust_until.is_some_and(|until| until >= today) {
        ContractStatus::TrustUnlocked
    } else if blocked == Some(false) {
        ContractStatus::Active
    } else {
        ContractStatus::Other
    }
}

pub(crate) fn parse_customer(
    body: &Value,
    today: Date,
) -> Result<Option<(Customer, Contract)>, ErpError> {
    if let Some(error) = envelope_error(body) {
        return match error {
            ErpError::NotFound => Ok(None),
            other => Err(other),
        };
    }
    let Some(record) = customer_record(body) else {
        return Ok(None);
    };
    let login = text_at(record, &["login"]);
    let Some(erp_id) = id_at(record, &["uuid_cliente", "uuid", "id"]).or_else(|| login.clone())
    else {
        return Err(ErpError::InvalidResponse(
            "MK-Auth: cliente sem uuid nem login".into(),
        ));
    };
    let status = login_status(record, today);
    let customer = Customer {
        system: System::MkAuth,
        erp_id: erp_id.clone(),
        document: text_at(record, &["cpf_cnpj", "cpf"]).and_then(|d| parse::document(&d)),
        name: text_at(record, &["nome", "razao"]).unwrap_or_default(),
        phones: parse::phones_from(
            ["celular", "fone", "telefone", "celular2"]
                .iter()
                .filter_map(|k| text_at(record, &[k])),
        ),
        emails: text_at(record, &["email"]).into_iter().collect(),
    };
    let contract = Contract {
        erp_id: login.clone().unwrap_or_else(|| erp_id.clone()),
        customer_erp_id: erp_id,
        plan_name: text_at(record, &["plano"]),
        monthly_cents: parse::cents_at(record, &["valor_plano", "mensalidade"]),
        status,
        raw_status: ["bloqueado", "status_corte", "cli_ativado"]
            .iter()
            .filter_map(|k| text_at(record, &[k]).map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" "),
        online: None,
        login,
    };
    Ok(Some((customer, contract)))
}

/// `/api/titulo/aberto/...`: `{Total, titulos:[{uuid, titulo, valor, valorpag, datavenc, nossonum,
/// linhadig, status, pix, pix_link, pix_qr}]}`. MK-Auth gives no PDF link; its boleto page is
/// `/boleto/21boleto.php?titulo=N` on the same host.
pub(crate) fn parse_titles(
    body: &Value,
    base: &str,
    today: Date,
) -> Result<Vec<Invoice>, ErpError> {
    if let Some(error) = envelope_error(body) {
        return match error {
            ErpError::NotFound => Ok(Vec::new()),
            other => Err(other),
        };
    }
    Ok(list(body, &["titulos", "Titulos", "dados"])
        .iter()
        .filter_map(|t| {
            let number = id_at(t, &["titulo", "id"]);
            let erp_id = number.clone().or_else(|| id_at(t, &["uuid"]))?;
            let due_date = parse::date_at(t, &["datavenc", "vencimento"])?;
            let amount_cents = parse::cents_at(t, &["valor"])?;
            let paid_cents = parse::cents_at(t, &["valorpag"]).filter(|c| *c > 0);
            let status_text = text_at(t, &["status"]).map(|s| parse::fold(&s));
            let status = match status_text.as_deref() {
                Some(s) if s.contains("pago") => InvoiceStatus::Paid,
                Some(s) if s.contains("cancel") => InvoiceStatus::Cancelled,
                _ if paid_cents.is_some_and(|p| p < amount_cents) => InvoiceStatus::Partial,
                _ => open_status(due_date, today, None),
            };
            // The boleto page is HTML, not a PDF: it is offered as a link.
            let page = number.map(|n| {
                join(
                    base,
                    &format!("boleto/21boleto.php?titulo={}", encode_component(&n)),
                )
            });
            let payment_methods = [
                boleto_method(text_at(t, &["linhadig", "linha_digitavel"]), None, None),
                pix_method(text_at(t, &["pix", "pix_copia_cola"])),
                super::link_method(page),
                super::link_method(text_at(t, &["pix_link"])),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(Invoice {
                erp_id,
                contract_id: text_at(t, &["login"]),
                due_date,
                amount_cents,
                amount_due_cents: None,
                fine_cents: None,
                interest_cents: None,
                paid_cents,
                status,
                paid_at: parse::timestamp_at(t, &["datapag", "data_pagamento"]),
                payment_methods,
            })
        })
        .collect())
}

/// Unlock answers vary between MK-Auth versions: JSON with a status/message, or text.
pub(crate) fn parse_unlock(reply_text: &str) -> Result<UnlockResult, ErpError> {
    let body = serde_json::from_str::<Value>(reply_text).ok();
    if let Some(body) = &body
        && let Some(error) = envelope_error(body)
    {
        return match error {
            ErpError::Unauthorized => Err(ErpError::Unauthorized),
            ErpError::NotFound => Ok(UnlockResult::refused(UnlockRefusal::NotFound, None)),
            ErpError::Business { message } => Ok(UnlockResult::refused(
                parse::refusal_from_message(&message),
                Some(message),
            )),
            other => Err(other),
        };
    }
    let message = body
        .as_ref()
        .and_then(|b| text_at(b, &["mensagem", "msg", "message"]))
        .or_else(|| (!reply_text.trim().is_empty()).then(|| reply_text.trim().to_owned()))
        .map(|m| parse::strip_tags(&m));
    Ok(UnlockResult {
        granted: true,
        until: message.as_deref().and_then(parse::date_in_message),
        days: None,
        protocol: None,
        refusal: None,
        erp_message: message,
    })
}

impl MkAuth {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        Ok(MkAuth {
            http: settings.http(None)?,
            base: settings.base_url.clone(),
            basic: basic_authorization(&format!(
                "{}:{}",
                settings.key("client_id"),
                settings.key("client_secret")
            )),
            tokens: TokenCache::new(Duration::from_secs(600)),
        })
    }

    async fn fetch_token(&self) -> Result<(String, Option<u64>), ErpError> {
        let request = self
            .http
            .client()
            .get(join(&self.base, "api/"))
            .header(reqwest::header::AUTHORIZATION, &self.basic);
        let reply = self.http.send(request).await?.check()?;
        Ok((parse_token(&reply.text())?, None))
    }

    /// Text of an authenticated call, renewing the JWT once on 401.
    async fn authed(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<String, ErpError> {
        let token = self.tokens.get(|| self.fetch_token()).await?;
        let reply = self.http.send(build(&token)).await?;
        let reply = if reply.status == 401 {
            self.tokens.invalidate(&token).await;
            let fresh = self.tokens.get(|| self.fetch_token()).await?;
            self.http.send(build(&fresh)).await?
        } else {
            reply
        };
        let reply = reply.check()?;
        if reply.is_html() {
            // An HTML page instead of data: let the decoder word the error.
            reply.json()?;
        }
        Ok(reply.text())
    }

    /// JSON of a GET, `None` for MK-Auth's `NULL`.
    async fn get(&self, path: &str) -> Result<Option<Value>, ErpError> {
        let url = join(&self.base, path);
        let text = self
            .authed(|token| self.http.client().get(&url).bearer_auth(token))
            .await?;
        if is_null(&text) {
            return Ok(None);
        }
        parse::decode_json(text.as_bytes()).map(Some)
    }

    async fn show(&self, key: &str) -> Result<Option<(Customer, Contract)>, ErpError> {
        Ok(self
            .show_with_city(key)
            .await?
            .map(|(customer, contract, _)| (customer, contract)))
    }

    /// The login record with, when it has one, its `cidade`.
    async fn show_with_city(
        &self,
        key: &str,
    ) -> Result<Option<(Customer, Contract, Option<String>)>, ErpError> {
        match self
            .get(&format!("api/cliente/show/{}", encode_component(key)))
            .await
        {
            Ok(Some(body)) => Ok(parse_customer(&body, parse::today_in_brazil())?.map(
                |(customer, contract)| {
                    let city = customer_record(&body).and_then(|r| text_at(r, &["cidade"]));
                    (customer, contract, city)
                },
            )),
            Ok(None) | Err(ErpError::NotFound) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// `GET /api/titulo/aberto/{cpf}`: the open titles of every login of the CPF/CNPJ.
    async fn open_titles(&self, document: &Document) -> Result<Vec<Invoice>, ErpError> {
        let body = match self
            .get(&format!("api/titulo/aberto/{}", document.as_str()))
            .await
        {
            Ok(Some(body)) => body,
            Ok(None) | Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(other) => return Err(other),
        };
        parse_titles(&body, &self.base, parse::today_in_brazil())
    }

    async fn show_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<(Customer, Contract)>, ErpError> {
        for form in [document.as_str().to_owned(), document.masked()] {
            if let Some(found) = self.show(&form).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl ErpAdapter for MkAuth {
    fn system(&self) -> System {
        System::MkAuth
    }

    /// Titles only per customer: the caller passes the customers to ask about.
    fn lists_receivables_in_bulk(&self) -> bool {
        false
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        Ok(self.show_by_document(document).await?.map(|(c, _)| c))
    }

    /// `GET /api/cliente/show/{login}`: the same record a CPF/CNPJ finds.
    async fn find_customer_by_login(&self, login: &str) -> Result<Option<Customer>, ErpError> {
        let login = login.trim();
        if login.is_empty() {
            return Ok(None);
        }
        Ok(self.show(login).await?.map(|(c, _)| c))
    }

    async fn find_customers_by_phone(&self, _phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        Err(ErpError::not_supported(Operation::FindCustomersByPhone))
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        let document = document_of(customer)?;
        Ok(self
            .show_by_document(document)
            .await?
            .map(|(_, contract)| contract)
            .into_iter()
            .collect())
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let document = document_of(customer)?;
        Ok(self
            .open_titles(document)
            .await?
            .into_iter()
            .filter(|i| i.status.is_payable())
            .collect())
    }

    /// `GET /api/titulo/show/{titulo}` where the MK-Auth has it (fresh status, payment date);
    /// otherwise the open list, where a title that left it is reported as not found.
    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        let today = parse::today_in_brazil();
        match self
            .get(&format!("api/titulo/show/{}", encode_component(invoice_id)))
            .await
        {
            Ok(Some(title)) => {
                let wrapped = json!({"titulos": [title]});
                return parse_titles(&wrapped, &self.base, today)?
                    .into_iter()
                    .find(|i| i.erp_id == invoice_id)
                    .ok_or(ErpError::NotFound);
            }
            Ok(None) => return Err(ErpError::NotFound),
            Err(ErpError::NotFound) => {}
            Err(other) => return Err(other),
        }
        self.open_invoices(customer)
            .await?
            .into_iter()
            .find(|i| i.erp_id == invoice_id)
            .ok_or(ErpError::NotFound)
    }

    /// MK-Auth has no PDF, only its HTML boleto page (offered as a link with each invoice).
    async fn invoice_pdf(&self, _invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        Err(ErpError::not_supported(Operation::InvoicePdf))
    }

    /// `GET /api/cliente/desbloqueio/{uuid}`, which applies MK-Auth's own rules. Where that route
    /// does not exist (the sources disagree on which a version has), the login is unblocked with
    /// `PUT /api/cliente/editar` — a plain edit, so the login's state is checked first.
    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let url = join(
            &self.base,
            &format!(
                "api/cliente/desbloqueio/{}",
                encode_component(&contract.customer_erp_id)
            ),
        );
        match self
            .authed(|token| self.http.client().get(&url).bearer_auth(token))
            .await
        {
            Err(ErpError::NotFound) => {}
            other => return parse_unlock(&other?),
        }
        let key = contract.login.as_deref().unwrap_or(&contract.erp_id);
        let Some((customer, current)) = self.show(key).await? else {
            return Ok(UnlockResult::refused(UnlockRefusal::NotFound, None));
        };
        match current.status {
            ContractStatus::Active | ContractStatus::TrustUnlocked => {
                return Ok(UnlockResult::refused(
                    UnlockRefusal::NotBlocked,
                    Some(current.raw_status),
                ));
            }
            ContractStatus::Cancelled => {
                return Ok(UnlockResult::refused(UnlockRefusal::ContractInactive, None));
            }
            _ => {}
        }
        let url = join(&self.base, "api/cliente/editar");
        let body = json!({"uuid": customer.erp_id, "bloqueado": "nao"}).to_string();
        let text = self
            .authed(|token| {
                self.http
                    .client()
                    .put(&url)
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        parse_unlock(&text)
    }

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        let key = contract.login.as_deref().unwrap_or(&contract.erp_id);
        let (_, current) = self.show(key).await?.ok_or(ErpError::NotFound)?;
        Ok(ConnectionStatus {
            online: None,
            blocked: Some(current.status == ContractStatus::SuspendedDebt),
            contract_status: Some(current.status),
            erp_message: Some(current.raw_status),
        })
    }

    async fn open_ticket(&self, _ticket: &NewTicket) -> Result<Ticket, ErpError> {
        Err(ErpError::not_supported(Operation::OpenTicket))
    }

    async fn payments_between(
        &self,
        _from: Date,
        _until: Date,
        _customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        Err(ErpError::not_supported(Operation::Payments))
    }

    /// Per customer: the spec names no MK-Auth endpoint listing every title (it only says MK-Auth
    /// pages with `limite=`/`pagina=` in the path), so each of `customers` with a CPF/CNPJ is
    /// asked `GET /api/titulo/aberto/{cpf}` (the titles of all their logins); when one falls in
    /// the window, each login billed is read once (`/api/cliente/show/{login}`) for its
    /// `bloqueado` flag and city. Rows keep the customer as passed in.
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
                tracing::warn!(customer = %customer.erp_id, "MK-Auth: cliente sem CPF/CNPJ fora da listagem");
                continue;
            };
            let owed: Vec<Invoice> = self
                .open_titles(document)
                .await?
                .into_iter()
                .filter(|i| receivables::is_receivable(i, due_from, due_until))
                .collect();
            let mut logins: HashMap<String, Option<(Contract, Option<String>)>> = HashMap::new();
            for invoice in owed {
                if let Some(login) = &invoice.contract_id
                    && !logins.contains_key(login)
                {
                    let found = self
                        .show_with_city(login)
                        .await?
                        .map(|(_, contract, city)| (contract, city));
                    logins.insert(login.clone(), found);
                }
                let known = invoice
                    .contract_id
                    .as_ref()
                    .and_then(|login| logins.get(login))
                    .and_then(Option::as_ref);
                let (contract, city) = match known {
                    Some((contract, city)) => (Some(contract), city.clone()),
                    None => (None, None),
                };
                rows.push(Receivable::new(customer.clone(), invoice, contract, city));
            }
        }
        Ok(receivables::finish(rows))
    }

    /// The spec's two MK-Auth unlocks (`PUT /api/cliente/editar` with `bloqueado=nao`, `GET
    /// /api/cliente/desbloqueio/{uuid}`) are its trust unlock, which must not be spent on a paid
    /// invoice; MK-Auth lifts a debt block itself when it posts the payment. This reads the
    /// login's `bloqueado` flag and reports it (a manual block reads as one for debt).
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        receivables::restore_from_check(System::MkAuth, self.connection_status(contract).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3NjM3MDAwMDB9.c2lnbmF0dXJl";

    #[test]
    fn token_is_the_raw_body() {
        assert_eq!(parse_token(&format!("{JWT}\n")).unwrap(), JWT);
        assert_eq!(parse_token(&format!("\"{JWT}\"")).unwrap(), JWT);
        assert_eq!(
            parse_token(&format!("{{\"token\":\"{JWT}\"}}")).unwrap(),
            JWT
        );
        assert_eq!(
            parse_token("Acesso negado").unwrap_err(),
            ErpError::Unauthorized
        );
        assert!(matches!(
            parse_token("<html>erro</html>"),
            Err(ErpError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_token(&JWT[..20]),
            Err(ErpError::InvalidResponse(_))
        ));
    }

    #[test]
    fn null_means_not_found() {
        assert!(is_null("NULL"));
        assert!(is_null(" null\n"));
        assert!(is_null("\"NULL\""));
        assert!(!is_null("{}"));
    }

    #[test]
    fn customer_and_its_login_contract() {
        let today = date(2026, 11, 21);
        let body = json!({"nome": "Pedro Alves", "cpf_cnpj": "529.982.247-25", "login": "pedro",
            "celular": "(31) 8877-6655", "bloqueado": "sim", "uuid_cliente": "a1b2c3", "plano": "50MB"});
        let (customer, contract) = parse_customer(&body, today).unwrap().unwrap();
        assert_eq!(customer.erp_id, "a1b2c3");
        assert_eq!(customer.phones, vec!["31988776655"]);
        assert_eq!(contract.erp_id, "pedro");
        assert_eq!(contract.customer_erp_id, "a1b2c3");
        assert_eq!(contract.status, ContractStatus::SuspendedDebt);
        assert_eq!(contract.raw_status, "bloqueado=sim");
        let unblocked =
            json!([{"nome": "X", "login": "x", "bloqueado": "nao", "uuid_cliente": "u"}]);
        assert_eq!(
            parse_customer(&unblocked, today).unwrap().unwrap().1.status,
            ContractStatus::Active
        );
        assert!(
            parse_customer(
                &json!({"status": "erro", "mensagem": "Cliente não encontrado"}),
                today
            )
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn login_states_beyond_bloqueado() {
        let today = date(2026, 11, 21);
        let status = |extra: Value| {
            let mut record =
                json!({"login": "x", "uuid_cliente": "u", "bloqueado": "nao", "cli_ativado": "s"});
            record
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse_customer(&record, today).unwrap().unwrap().1.status
        };
        assert_eq!(
            status(json!({"cli_ativado": "n"})),
            ContractStatus::Cancelled
        );
        assert_eq!(
            status(json!({"status_corte": "down"})),
            ContractStatus::ReducedSpeed
        );
        assert_eq!(
            status(json!({"observacao": "Desbloqueio de confiança até 24/11/2026"})),
            ContractStatus::TrustUnlocked
        );
        assert_eq!(
            status(json!({"observacao": "Desbloqueio de confiança até 24/10/2026"})),
            ContractStatus::Active,
            "an old note does not make the login unlocked"
        );
    }

    #[test]
    fn open_titles_link_the_boleto_page() {
        let body = json!({"Total": 2, "titulos": [
            {"uuid": "t-1", "titulo": "8812", "valor": "89.90", "valorpag": "0.00", "datavenc": "2026-11-10",
             "nossonum": "000123", "linhadig": "34191.09008 00000.000009 01234.567890 1 12340000008990",
             "status": "aberto", "pix": "000201010212", "pix_link": "https://pix.example/t-1", "pix_qr": "data:..."},
            {"uuid": "t-2", "titulo": "8813", "valor": "89,90", "datavenc": "10/12/2026", "status": "aberto"},
            {"uuid": "t-3", "titulo": "8700", "valor": "89.90", "valorpag": "89.90", "datavenc": "2026-10-10",
             "datapag": "2026-10-09", "status": "pago"}
        ]});
        let invoices = parse_titles(&body, "http://mk:8080", date(2026, 11, 21)).unwrap();
        assert_eq!(invoices.len(), 3);
        assert_eq!(invoices[0].erp_id, "8812");
        assert_eq!(invoices[0].status, InvoiceStatus::Overdue);
        assert_eq!(invoices[0].pdf_url(), None, "the page is HTML, not a PDF");
        assert!(invoices[0].payment_methods.contains(&PaymentMethod::Link {
            url: "http://mk:8080/boleto/21boleto.php?titulo=8812".into()
        }));
        assert_eq!(invoices[0].pix_code(), Some("000201010212"));
        assert_eq!(invoices[1].status, InvoiceStatus::Open);
        assert_eq!(
            invoices[1].digitable_line(),
            None,
            "no line: no boleto method"
        );
        assert_eq!(invoices[2].status, InvoiceStatus::Paid);
        assert!(invoices[2].paid_at.is_some());
    }

    #[test]
    fn unlock_answers() {
        assert!(
            parse_unlock(r#"{"status":"ok","mensagem":"Cliente desbloqueado"}"#)
                .unwrap()
                .granted
        );
        assert!(
            parse_unlock("Cliente desbloqueado com sucesso")
                .unwrap()
                .granted
        );
        let refused =
            parse_unlock(r#"{"status":"erro","mensagem":"Desbloqueio já utilizado neste mês"}"#)
                .unwrap();
        assert_eq!(refused.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
    }
}
