//! The one trait every management system is driven through.

use crate::error::ErpError;
use crate::model::{
    ConnectionStatus, Contract, Customer, Invoice, NewTicket, PaymentEvent, System, Ticket,
    UnlockResult,
};
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use jiff::civil::Date;
use std::sync::Arc;

/// A provider management system. Object safe: the product holds an `Arc<dyn ErpAdapter>` built
/// by [`crate::connect`]. Operations a system lacks return [`ErpError::NotSupported`], so the
/// product can offer the human path instead.
#[async_trait]
pub trait ErpAdapter: Send + Sync {
    fn system(&self) -> System;

    /// The customer holding this CPF/CNPJ, or `None`.
    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError>;

    /// Customers registered with this phone, in either 9th-digit form (ERPs keep legacy 8-digit
    /// mobiles). Empty when nobody matches.
    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError>;

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError>;

    /// Open and overdue (and partially paid) invoices, with every payment method the ERP gives:
    /// boleto line and PDF link, Pix copy-and-paste code, payment page.
    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError>;

    /// One invoice read fresh (never cached), to check its status right before a message about it
    /// goes out. [`ErpError::NotFound`] when the ERP no longer lists it (MK-Auth only lists open
    /// titles, so there it also means "no longer open").
    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError>;

    /// The boleto PDF bytes (always starting with `%PDF`).
    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError>;

    /// Asks for a trust unlock ("liberação em confiança"). A refusal by policy is `Ok` with
    /// `granted: false` and a typed [`crate::UnlockRefusal`].
    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError>;

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError>;

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError>;

    /// Invoices paid on the days `from..=until` (dates in Brazil: every system keeps payment days,
    /// some without the time). No system calls back when an invoice is paid, so this is polled,
    /// a bounded window at a time. Systems that query payments by date (SGP, IXC, Hubsoft) ignore
    /// `customers`; systems that only list a customer's titles (Voalle, RadiusNet) poll each of
    /// `customers`. Windows overlap between polls: deduplicate by invoice id. A window larger
    /// than the adapter can page through fails with `InvalidResponse` rather than being cut.
    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError>;
}

#[async_trait]
impl<T: ErpAdapter + ?Sized> ErpAdapter for Arc<T> {
    fn system(&self) -> System {
        (**self).system()
    }
    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        (**self).find_customer_by_document(document).await
    }
    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        (**self).find_customers_by_phone(phone).await
    }
    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        (**self).contracts(customer).await
    }
    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        (**self).invoice(customer, invoice_id).await
    }
    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        (**self).open_invoices(customer).await
    }
    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        (**self).invoice_pdf(invoice).await
    }
    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        (**self).trust_unlock(contract).await
    }
    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        (**self).connection_status(contract).await
    }
    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        (**self).open_ticket(ticket).await
    }
    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        (**self).payments_between(from, until, customers).await
    }
}
