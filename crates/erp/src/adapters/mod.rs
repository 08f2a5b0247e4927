//! One adapter per system. Each module keeps its HTTP calls thin and its answer parsing in pure
//! functions over `serde_json::Value`, unit-tested on literal JSON in the shapes of the spec
//! (including the quirky variants and error envelopes).

pub mod hubsoft;
pub mod ixc;
pub mod mkauth;
pub mod radiusnet;
pub mod sgp;
pub mod voalle;

use crate::error::{ErpError, Operation};
use crate::http::{Http, RateLimit};
use crate::model::{Customer, DetectedBy, Invoice, InvoiceStatus, PaymentEvent, PaymentMethod};
use crate::parse;
use balcao_domain::br::{Boleto, Document};
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::time::Duration;

/// What [`crate::build_adapter`] hands each adapter (auth keys already checked).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub base_url: String,
    pub auth: BTreeMap<String, String>,
    pub request_timeout: Duration,
    pub rate_limit: Option<RateLimit>,
}

impl Settings {
    /// A required key (presence was checked by `build_adapter`).
    pub(crate) fn key(&self, name: &str) -> String {
        self.auth
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        self.auth
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The HTTP core, with `system_rate` unless the options override it.
    pub(crate) fn http(&self, system_rate: Option<RateLimit>) -> Result<Http, ErpError> {
        Http::new(self.request_timeout, self.rate_limit.or(system_rate))
    }
}

/// Open or overdue, from the due date (and the ERP's days-late count when it gives one).
pub(crate) fn open_status(due: Date, today: Date, days_late: Option<i64>) -> InvoiceStatus {
    if due < today || days_late.is_some_and(|d| d > 0) {
        InvoiceStatus::Overdue
    } else {
        InvoiceStatus::Open
    }
}

/// A boleto from its line and/or barcode (digits kept; the line is derived from a valid barcode
/// when the ERP only sends the barcode).
pub(crate) fn boleto_method(
    line: Option<String>,
    barcode: Option<String>,
    pdf_url: Option<String>,
) -> Option<PaymentMethod> {
    let line = line.map(|l| parse::digits(&l)).filter(|l| !l.is_empty());
    let barcode = barcode.map(|b| parse::digits(&b)).filter(|b| !b.is_empty());
    let digitable_line = match (&line, &barcode) {
        (Some(l), _) => l.clone(),
        (None, Some(b)) => Boleto::parse(b).ok()?.digitable_line(),
        (None, None) => return None,
    };
    let barcode = barcode.or_else(|| {
        line.as_deref()
            .and_then(|l| Boleto::parse(l).ok())
            .map(|b| b.barcode().to_owned())
    });
    Some(PaymentMethod::Boleto {
        digitable_line,
        barcode,
        pdf_url: pdf_url.filter(|u| !u.is_empty()),
    })
}

pub(crate) fn pix_method(code: Option<String>) -> Option<PaymentMethod> {
    code.filter(|c| c.starts_with("000201"))
        .map(|copy_paste| PaymentMethod::Pix {
            copy_paste,
            expires_at: None,
        })
}

pub(crate) fn link_method(url: Option<String>) -> Option<PaymentMethod> {
    url.filter(|u| u.starts_with("http"))
        .map(|url| PaymentMethod::Link { url })
}

/// The document a customer is queried by in systems keyed on CPF/CNPJ.
pub(crate) fn document_of(customer: &Customer) -> Result<&Document, ErpError> {
    customer.document.as_ref().ok_or_else(|| {
        ErpError::InvalidResponse(format!(
            "cliente {} sem CPF/CNPJ válido no sistema de gestão",
            customer.erp_id
        ))
    })
}

/// Merges customers found through several queries, first occurrence wins.
pub(crate) fn push_unique(into: &mut Vec<Customer>, found: impl IntoIterator<Item = Customer>) {
    for customer in found {
        if !into.iter().any(|c| c.erp_id == customer.erp_id) {
            into.push(customer);
        }
    }
}

/// Paid invoices on or after `from` (by São Paulo date) as events; the filter is repeated here
/// because not every ERP honours its date window.
/// A listing longer than an adapter pages through: refusing it is safer than acting on part of
/// it (a cut payment list would lose payments). Callers ask for smaller windows.
pub(crate) fn too_many_pages(records: usize) -> ErpError {
    ErpError::InvalidResponse(format!(
        "a listagem passou de {records} registros; consulte um intervalo menor"
    ))
}

/// A listing of the whole base (not a window the caller can narrow) longer than an adapter pages
/// through: refused rather than cut.
pub(crate) fn listing_too_long(records: usize) -> ErpError {
    ErpError::InvalidResponse(format!(
        "a listagem passou de {records} registros, o máximo que o Balcão percorre"
    ))
}

pub(crate) fn payment_events(
    invoices: Vec<Invoice>,
    from: Date,
    until: Date,
    detected_by: DetectedBy,
) -> Vec<PaymentEvent> {
    invoices
        .into_iter()
        .filter(|i| i.status == InvoiceStatus::Paid)
        .filter_map(|i| {
            let paid_at = i.paid_at?;
            let day = parse::date_in_brazil(paid_at);
            (from <= day && day <= until).then(|| PaymentEvent {
                invoice_id: i.erp_id,
                contract_id: i.contract_id,
                paid_at,
                amount_cents: i
                    .paid_cents
                    .or(i.amount_due_cents)
                    .unwrap_or(i.amount_cents),
                detected_by,
            })
        })
        .collect()
}

/// Fetches the PDF behind an invoice's boleto link and checks it is one.
pub(crate) async fn download_pdf(http: &Http, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
    let url = invoice
        .pdf_url()
        .ok_or_else(|| ErpError::not_supported(Operation::InvoicePdf))?;
    let reply = http.send(http.client().get(url)).await?.check()?;
    if reply.body.starts_with(b"%PDF") {
        Ok(reply.body)
    } else {
        Err(ErpError::InvalidResponse(
            "o link do boleto não devolveu um PDF".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_domain::br::BankBarcode;
    use jiff::civil::date;

    #[test]
    fn overdue_is_past_due_or_days_late() {
        let today = date(2026, 11, 21);
        assert_eq!(
            open_status(date(2026, 11, 20), today, None),
            InvoiceStatus::Overdue
        );
        assert_eq!(
            open_status(date(2026, 11, 21), today, None),
            InvoiceStatus::Open
        );
        assert_eq!(
            open_status(date(2026, 11, 21), today, Some(2)),
            InvoiceStatus::Overdue
        );
    }

    #[test]
    fn boleto_line_is_derived_from_the_barcode_when_missing() {
        let barcode = BankBarcode::build(
            "341",
            Some(date(2026, 12, 10)),
            12990,
            "1234567890123456789012345",
        )
        .unwrap();
        let line = barcode.to_line();
        let from_barcode = boleto_method(None, Some(barcode.as_str().to_owned()), None).unwrap();
        assert_eq!(
            from_barcode,
            PaymentMethod::Boleto {
                digitable_line: line.as_str().to_owned(),
                barcode: Some(barcode.as_str().to_owned()),
                pdf_url: None
            }
        );
        let from_formatted_line =
            boleto_method(Some(line.formatted()), None, Some("http://x/b.pdf".into())).unwrap();
        assert_eq!(
            from_formatted_line,
            PaymentMethod::Boleto {
                digitable_line: line.as_str().to_owned(),
                barcode: Some(barcode.as_str().to_owned()),
                pdf_url: Some("http://x/b.pdf".into())
            }
        );
        assert_eq!(boleto_method(None, None, None), None);
    }

    #[test]
    fn pix_and_links_need_their_shapes() {
        assert!(pix_method(Some("000201010212".into())).is_some());
        assert!(pix_method(Some("".into())).is_none());
        assert!(link_method(Some("https://pay".into())).is_some());
        assert!(link_method(Some("javascript:x".into())).is_none());
    }
}
