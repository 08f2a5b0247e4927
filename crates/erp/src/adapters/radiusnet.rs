//! RadiusNet API (known only from third-party code): raw `RTOKEN` header on
//! `{host}/radiusnet/index.php/api/v1`. `GET /cp/{cpf}` lists the customer's plans, `GET
//! /cbc/{filter}/{id_cliente}` the charges, `GET /bc/{id}` a charge's boleto URL, `GET /scp/{id}`
//! its Pix, `PUT /ppg/{id}` registers a payment promise (the trust unlock). No phone lookup,
//! connection status or tickets.
//!
//! Auth key: `token`.

use super::{
    Settings, boleto_method, document_of, download_pdf, open_status, payment_events, pix_method,
};
use crate::adapter::ErpAdapter;
use crate::error::{ErpError, Operation};
use crate::http::{Http, encode_component, join};
use crate::model::*;
use crate::parse::{self, field, id_at, text_at};
use crate::receivables;
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::civil::Date;
use serde_json::Value;

/// `/cbc/{filter}/…` filters.
const OPEN_CHARGES: &str = "abertas";
const PAID_CHARGES: &str = "pagas";
const ALL_CHARGES: &str = "todas";

pub struct RadiusNet {
    http: Http,
    base: String,
    token: String,
}

/// The rows of an answer: `rows`, `data`, `dados`, a bare array, or one object.
fn rows(body: &Value) -> Vec<&Value> {
    if let Value::Array(items) = body {
        return items.iter().collect();
    }
    match field(body, &["rows", "data", "dados", "result"]) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    }
}

fn envelope_error(body: &Value) -> Option<ErpError> {
    let failed = parse::flag_at(body, &["success", "sucesso"]) == Some(false)
        || text_at(body, &["status"]).is_some_and(|s| {
            matches!(
                parse::fold(&s).as_str(),
                "error" | "erro" | "false" | "fail"
            )
        })
        || body.get("error").is_some_and(|e| e.is_string());
    if !failed {
        return None;
    }
    let message = text_at(body, &["message", "mensagem", "msg", "error"])
        .unwrap_or_else(|| "erro sem mensagem".into());
    Some(if parse::mentions_auth_failure(&message) {
        ErpError::Unauthorized
    } else if parse::mentions_not_found(&message) {
        ErpError::NotFound
    } else {
        ErpError::business(message)
    })
}

fn ok_or_empty(body: &Value) -> Result<(), Option<ErpError>> {
    match envelope_error(body) {
        None => Ok(()),
        Some(ErpError::NotFound) => Err(None),
        Some(other) => Err(Some(other)),
    }
}

/// A plan's status word: "ativo", "reduzido", "bloqueado" (for debt), "bloqueado_manual",
/// "suspenso" (at the customer's request, as opposed to "bloqueado"), "liberado_promessa",
/// "instalacao", "cancelado"; 1/0 in older answers.
pub(crate) fn plan_status(raw: &str) -> ContractStatus {
    let f = parse::fold(raw).replace(['_', '-'], " ");
    match f.as_str() {
        "suspenso" | "suspensao" => ContractStatus::SuspendedByRequest,
        "bloqueado" => ContractStatus::SuspendedDebt,
        _ => match parse::flag(&Value::String(raw.to_owned())) {
            Some(true) => ContractStatus::Active,
            Some(false) => ContractStatus::Cancelled,
            None => parse::contract_status_from_text(raw),
        },
    }
}

/// `/cp/{cpf}`: the customer (from the first plan row) and every plan as a contract.
pub(crate) fn parse_plans(body: &Value) -> Result<Option<(Customer, Vec<Contract>)>, ErpError> {
    if let Err(error) = ok_or_empty(body) {
        return error.map_or(Ok(None), Err);
    }
    let rows = rows(body);
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let person = first
        .get("cliente")
        .filter(|c| c.is_object())
        .unwrap_or(first);
    let customer_id = id_at(person, &["id_cliente", "idcliente", "cliente_id", "id"])
        .or_else(|| id_at(first, &["id_cliente", "idcliente", "cliente_id"]))
        .ok_or_else(|| ErpError::InvalidResponse("RadiusNet: plano sem id_cliente".into()))?;
    let contracts = rows
        .iter()
        .filter_map(|row| {
            let erp_id = id_at(
                row,
                &[
                    "id_cliente_plano",
                    "id_plano_cliente",
                    "id_contrato",
                    "id_plano",
                    "id",
                ],
            )?;
            let raw_status =
                text_at(row, &["status", "situacao", "status_plano"]).unwrap_or_default();
            let status = plan_status(&raw_status);
            Some(Contract {
                erp_id,
                customer_erp_id: customer_id.clone(),
                plan_name: text_at(row, &["plano", "nome_plano", "descricao", "plano_nome"]),
                monthly_cents: parse::cents_at(row, &["valor", "valor_plano", "mensalidade"]),
                status,
                raw_status,
                online: parse::flag_at(row, &["online", "conectado"]),
                login: text_at(row, &["login", "usuario"]),
            })
        })
        .collect();
    let customer = Customer {
        system: System::RadiusNet,
        erp_id: customer_id,
        document: text_at(person, &["cpf", "cpf_cnpj", "cnpj", "documento"])
            .and_then(|d| parse::document(&d)),
        name: text_at(person, &["nome", "nome_cliente", "razao_social", "cliente"])
            .unwrap_or_default(),
        phones: parse::phones_from(
            ["celular", "telefone", "fone", "whatsapp"]
                .iter()
                .filter_map(|k| text_at(person, &[k])),
        ),
        emails: text_at(person, &["email"]).into_iter().collect(),
    };
    Ok(Some((customer, contracts)))
}

/// `/cbc/...`: `id_cobranca`, `linha_digitavel`, `data_vencimento`, `valor_total_a_pagar`.
pub(crate) fn parse_charges(body: &Value, today: Date) -> Result<Vec<Invoice>, ErpError> {
    if let Err(error) = ok_or_empty(body) {
        return error.map_or(Ok(Vec::new()), Err);
    }
    Ok(rows(body)
        .into_iter()
        .filter_map(|row| {
            let erp_id = id_at(row, &["id_cobranca", "id"])?;
            let due_date = parse::date_at(row, &["data_vencimento", "vencimento"])?;
            let due_now = parse::cents_at(row, &["valor_total_a_pagar"]);
            let amount_cents =
                parse::cents_at(row, &["valor", "valor_original", "valor_cobranca"]).or(due_now)?;
            let paid_at = parse::timestamp_at(row, &["data_pagamento", "data_baixa"]);
            let status_text = text_at(row, &["status", "situacao"]).map(|s| parse::fold(&s));
            let status = match status_text.as_deref() {
                Some(s) if s.contains("pag") || s.contains("quitad") || s.contains("baixad") => {
                    InvoiceStatus::Paid
                }
                Some(s) if s.contains("cancel") => InvoiceStatus::Cancelled,
                _ if paid_at.is_some() => InvoiceStatus::Paid,
                _ => open_status(due_date, today, None),
            };
            let payment_methods = [
                boleto_method(
                    text_at(row, &["linha_digitavel", "linhadigitavel"]),
                    text_at(row, &["codigo_barras"]),
                    text_at(row, &["url_boleto", "link_boleto"]),
                ),
                pix_method(text_at(row, &["qrcode_copy_paste", "pix_copia_cola"])),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(Invoice {
                erp_id,
                contract_id: id_at(row, &["id_cliente_plano", "id_plano", "id_contrato"]),
                due_date,
                amount_cents,
                amount_due_cents: due_now,
                fine_cents: parse::cents_at(row, &["valor_multa", "multa"]),
                interest_cents: parse::cents_at(row, &["valor_juros", "juros"]),
                paid_cents: parse::cents_at(row, &["valor_pago"]).filter(|c| *c > 0),
                status,
                paid_at,
                payment_methods,
            })
        })
        .collect())
}

/// `/bc/{id}`: the boleto URL, as text or inside JSON.
pub(crate) fn parse_boleto_url(text: &str) -> Option<String> {
    let trimmed = text.trim().trim_matches('"');
    if trimmed.starts_with("http") && !trimmed.contains(char::is_whitespace) {
        return Some(trimmed.to_owned());
    }
    let body: Value = serde_json::from_str(text).ok()?;
    let keys = ["url", "link", "url_boleto", "boleto", "link_boleto"];
    text_at(&body, &keys)
        .or_else(|| rows(&body).iter().find_map(|r| text_at(r, &keys)))
        .filter(|u| u.starts_with("http"))
}

/// `/scp/{id}`: `rows.qrcode_copy_paste`.
pub(crate) fn parse_pix(body: &Value) -> Option<PaymentMethod> {
    let keys = ["qrcode_copy_paste", "pix_copia_cola", "copia_cola"];
    let code = text_at(body, &keys).or_else(|| rows(body).iter().find_map(|r| text_at(r, &keys)));
    pix_method(code)
}

/// `PUT /ppg/{id}`: success or the refusal's words.
pub(crate) fn parse_promise(body: &Value) -> Result<UnlockResult, ErpError> {
    match envelope_error(body) {
        None => {
            let message = text_at(body, &["message", "mensagem", "msg"]);
            let response = rows(body).into_iter().next().unwrap_or(body);
            Ok(UnlockResult {
                granted: true,
                until: parse::date_at(response, &["data_promessa", "liberado_ate", "data_limite"])
                    .or_else(|| message.as_deref().and_then(parse::date_in_message)),
                days: parse::int_at(response, &["dias"]).and_then(|d| u32::try_from(d).ok()),
                protocol: text_at(response, &["protocolo"]),
                refusal: None,
                erp_message: message,
            })
        }
        Some(ErpError::Unauthorized) => Err(ErpError::Unauthorized),
        Some(ErpError::Business { message }) => Ok(UnlockResult::refused(
            parse::refusal_from_message(&message),
            Some(message),
        )),
        Some(ErpError::NotFound) => Ok(UnlockResult::refused(UnlockRefusal::NotFound, None)),
        Some(other) => Err(other),
    }
}

impl RadiusNet {
    pub(crate) fn new(settings: Settings) -> Result<Self, ErpError> {
        Ok(RadiusNet {
            http: settings.http(None)?,
            base: settings.base_url.clone(),
            token: settings.key("token"),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> Result<String, ErpError> {
        let request = self
            .http
            .client()
            .request(method, join(&self.base, path))
            .header("RTOKEN", &self.token);
        let reply = self.http.send(request).await?.check()?;
        if reply.is_html() {
            reply.json()?;
        }
        Ok(reply.text())
    }

    async fn get_json(&self, path: &str) -> Result<Value, ErpError> {
        let text = self.call(reqwest::Method::GET, path).await?;
        parse::decode_json(text.as_bytes())
    }

    async fn plans(
        &self,
        document: &Document,
    ) -> Result<Option<(Customer, Vec<Contract>)>, ErpError> {
        match self
            .get_json(&format!("cp/{}", encode_component(document.as_str())))
            .await
        {
            Ok(body) => parse_plans(&body),
            Err(ErpError::NotFound) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn charges(&self, filter: &str, customer_id: &str) -> Result<Vec<Invoice>, ErpError> {
        match self
            .get_json(&format!("cbc/{filter}/{}", encode_component(customer_id)))
            .await
        {
            Ok(body) => parse_charges(&body, parse::today_in_brazil()),
            Err(ErpError::NotFound) => Ok(Vec::new()),
            Err(other) => Err(other),
        }
    }

    /// Adds the boleto URL and the Pix code, each from its own call; a charge without them keeps
    /// what it has.
    async fn complete(&self, mut invoice: Invoice) -> Result<Invoice, ErpError> {
        let id = encode_component(&invoice.erp_id);
        if invoice.pdf_url().is_none() {
            match self.call(reqwest::Method::GET, &format!("bc/{id}")).await {
                Ok(text) => {
                    if let Some(url) = parse_boleto_url(&text) {
                        attach_pdf_url(&mut invoice, url);
                    }
                }
                Err(ErpError::NotFound | ErpError::Business { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        if invoice.pix_code().is_none() {
            match self.get_json(&format!("scp/{id}")).await {
                Ok(body) => invoice.payment_methods.extend(parse_pix(&body)),
                Err(ErpError::NotFound | ErpError::Business { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(invoice)
    }
}

fn attach_pdf_url(invoice: &mut Invoice, url: String) {
    for method in &mut invoice.payment_methods {
        if let PaymentMethod::Boleto { pdf_url, .. } = method {
            *pdf_url = Some(url);
            return;
        }
    }
    invoice.payment_methods.push(PaymentMethod::Link { url });
}

#[async_trait]
impl ErpAdapter for RadiusNet {
    fn system(&self) -> System {
        System::RadiusNet
    }

    /// Titles only per customer: the caller passes the customers to ask about.
    fn lists_receivables_in_bulk(&self) -> bool {
        false
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        Ok(self.plans(document).await?.map(|(mut customer, _)| {
            customer.document.get_or_insert_with(|| document.clone());
            customer
        }))
    }

    async fn find_customers_by_phone(&self, _phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        Err(ErpError::not_supported(Operation::FindCustomersByPhone))
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        let document = document_of(customer)?;
        Ok(self
            .plans(document)
            .await?
            .map(|(_, contracts)| contracts)
            .unwrap_or_default())
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let mut out = Vec::new();
        for invoice in self.charges(OPEN_CHARGES, &customer.erp_id).await? {
            if invoice.status.is_payable() {
                out.push(self.complete(invoice).await?);
            }
        }
        Ok(out)
    }

    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        let invoice = self
            .charges(ALL_CHARGES, &customer.erp_id)
            .await?
            .into_iter()
            .find(|i| i.erp_id == invoice_id)
            .ok_or(ErpError::NotFound)?;
        if invoice.status.is_payable() {
            self.complete(invoice).await
        } else {
            Ok(invoice)
        }
    }

    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        let mut invoice = invoice.clone();
        if invoice.pdf_url().is_none() {
            let text = self
                .call(
                    reqwest::Method::GET,
                    &format!("bc/{}", encode_component(&invoice.erp_id)),
                )
                .await?;
            let url = parse_boleto_url(&text).ok_or_else(|| {
                ErpError::InvalidResponse("RadiusNet: /bc sem URL do boleto".into())
            })?;
            attach_pdf_url(&mut invoice, url);
        }
        download_pdf(&self.http, &invoice).await
    }

    /// A payment promise on one of the contract's charges (RadiusNet unlocks by promise).
    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let charges = self
            .charges(OPEN_CHARGES, &contract.customer_erp_id)
            .await?;
        let mut candidates: Vec<_> = charges
            .into_iter()
            .filter(|i| i.status.is_payable())
            .filter(|i| {
                i.contract_id
                    .as_deref()
                    .is_none_or(|c| c == contract.erp_id)
            })
            .collect();
        // The promise covers the oldest overdue charge, or else the oldest open one.
        candidates.sort_by_key(|i| (i.status != InvoiceStatus::Overdue, i.due_date));
        let Some(oldest) = candidates.first() else {
            return Ok(UnlockResult::refused(
                UnlockRefusal::NotBlocked,
                Some("nenhuma cobrança em aberto".into()),
            ));
        };
        let text = self
            .call(
                reqwest::Method::PUT,
                &format!("ppg/{}", encode_component(&oldest.erp_id)),
            )
            .await?;
        let body = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            parse::decode_json(text.as_bytes())?
        };
        parse_promise(&body)
    }

    async fn connection_status(&self, _contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        Err(ErpError::not_supported(Operation::ConnectionStatus))
    }

    async fn open_ticket(&self, _ticket: &NewTicket) -> Result<Ticket, ErpError> {
        Err(ErpError::not_supported(Operation::OpenTicket))
    }

    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        let mut events = Vec::new();
        for customer in customers {
            let paid = self.charges(PAID_CHARGES, &customer.erp_id).await?;
            events.extend(payment_events(paid, from, until, DetectedBy::StatusPoll));
        }
        Ok(events)
    }

    /// Per customer: RadiusNet lists charges only by customer (`GET /cbc/abertas/{id_cliente}`),
    /// so each of `customers` is asked, and, when a charge falls in the window and the customer
    /// has a CPF/CNPJ, their plans (`GET /cp/{cpf}`) for status and value. The boleto link and
    /// the Pix cost a request per charge (`/bc`, `/scp`): rows carry the digitable line; read the
    /// invoice before sending. No city in RadiusNet's answers. Rows keep the customer as passed.
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
            let owed: Vec<Invoice> = self
                .charges(OPEN_CHARGES, &customer.erp_id)
                .await?
                .into_iter()
                .filter(|i| receivables::is_receivable(i, due_from, due_until))
                .collect();
            if owed.is_empty() {
                continue;
            }
            let contracts = match &customer.document {
                Some(document) => self
                    .plans(document)
                    .await?
                    .map(|(_, contracts)| contracts)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            for invoice in owed {
                let contract = receivables::contract_for(&invoice, &contracts);
                rows.push(Receivable::new(customer.clone(), invoice, contract, None));
            }
        }
        Ok(receivables::finish(rows))
    }

    /// Not offered: RadiusNet's only unlock is the payment promise (`PUT /ppg/{id}`), a trust
    /// unlock that must not be spent on a paid charge, and it has no connection status; the
    /// plans' status is read only by CPF (`/cp/{cpf}`), which a `Contract` does not carry. Read
    /// [`ErpAdapter::contracts`] of the customer to confirm the release.
    async fn restore_after_payment(&self, _contract: &Contract) -> Result<UnlockResult, ErpError> {
        Err(ErpError::not_supported(Operation::RestoreAfterPayment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    #[test]
    fn plans_give_customer_and_contracts() {
        let body = json!({"rows": [
            {"id_cliente": "31", "nome": "Rita Gomes", "cpf": "529.982.247-25", "celular": "(62) 98888-7777",
             "id_cliente_plano": "400", "plano": "FIBRA 200", "valor": "89.90", "status": "Ativo", "login": "rita"},
            {"id_cliente": "31", "nome": "Rita Gomes", "id_cliente_plano": "401", "plano": "TV", "status": "Cancelado"}
        ]});
        let (customer, contracts) = parse_plans(&body).unwrap().unwrap();
        assert_eq!(customer.erp_id, "31");
        assert_eq!(customer.document.unwrap().as_str(), "52998224725");
        assert_eq!(contracts.len(), 2);
        assert_eq!(contracts[0].status, ContractStatus::Active);
        assert_eq!(contracts[1].status, ContractStatus::Cancelled);
        assert!(parse_plans(&json!({"rows": []})).unwrap().is_none());
        assert!(parse_plans(&json!([])).unwrap().is_none());
        assert!(
            parse_plans(&json!({"status": "erro", "message": "Cliente não encontrado"}))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn charges_pix_and_boleto_url() {
        let body = json!({"rows": [{"id_cobranca": "9", "linha_digitavel": "34191090080000000000901234567890112340000008990",
            "data_vencimento": "2026-11-01", "valor_total_a_pagar": "91.20", "valor": "89.90"}]});
        let charges = parse_charges(&body, date(2026, 11, 21)).unwrap();
        assert_eq!(charges[0].status, InvoiceStatus::Overdue);
        assert_eq!(
            (charges[0].amount_cents, charges[0].amount_due_cents),
            (8990, Some(9120))
        );
        assert_eq!(
            parse_boleto_url("https://rn/boleto/9.pdf").as_deref(),
            Some("https://rn/boleto/9.pdf")
        );
        assert_eq!(
            parse_boleto_url(r#"{"url":"https://rn/b/9"}"#).as_deref(),
            Some("https://rn/b/9")
        );
        assert_eq!(
            parse_boleto_url(r#"{"rows":[{"link":"https://rn/b/9"}]}"#).as_deref(),
            Some("https://rn/b/9")
        );
        assert_eq!(parse_boleto_url("erro"), None);
        assert!(matches!(
            parse_pix(&json!({"rows": {"qrcode_copy_paste": "000201xx"}})),
            Some(PaymentMethod::Pix { .. })
        ));
        assert!(parse_pix(&json!({"rows": []})).is_none());
    }

    #[test]
    fn plan_status_words() {
        use ContractStatus::*;
        for (raw, expected) in [
            ("ativo", Active),
            ("reduzido", ReducedSpeed),
            ("bloqueado", SuspendedDebt),
            ("bloqueado_manual", SuspendedManual),
            ("suspenso", SuspendedByRequest),
            ("liberado_promessa", TrustUnlocked),
            ("instalacao", PendingInstall),
            ("cancelado", Cancelled),
            ("1", Active),
        ] {
            assert_eq!(plan_status(raw), expected, "{raw}");
        }
    }

    #[test]
    fn promise_answers() {
        assert!(
            parse_promise(
                &json!({"status": "ok", "message": "Promessa registrada até 24/11/2026"})
            )
            .unwrap()
            .granted
        );
        let refused = parse_promise(
            &json!({"status": "erro", "message": "Promessa de pagamento já utilizada neste mês"}),
        )
        .unwrap();
        assert_eq!(refused.refusal, Some(UnlockRefusal::AlreadyUsedUnpaid));
    }
}
