//! The one trait every management system is driven through.

use crate::error::ErpError;
use crate::model::{
    ConnectionStatus, Contract, Customer, Invoice, NewTicket, PaymentEvent, Receivable, System,
    Ticket, UnlockResult,
};
use crate::receivables;
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

    /// The customer of a connection login (PPPoE/hotspot user), or `None`. Only MK-Auth looks
    /// customers up by login (`/api/cliente/show/{login}`: each MK-Auth customer is one login);
    /// the others answer [`ErpError::NotSupported`].
    async fn find_customer_by_login(&self, _login: &str) -> Result<Option<Customer>, ErpError> {
        Err(ErpError::not_supported(
            crate::error::Operation::FindCustomerByLogin,
        ))
    }

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

    /// Every invoice still owed (open, overdue, partially paid) falling due on
    /// `due_from..=due_until` (Brazilian dates), with its customer and what the system says about
    /// the contract: the provider's receivables, which the billing ladder plans over. One row per
    /// invoice, ordered by due date then invoice id.
    ///
    /// Systems that list receivables in bulk (SGP, IXC, Hubsoft) ignore `customers`; systems that
    /// only list one customer's titles (MK-Auth, Voalle, RadiusNet) ask for each of `customers`
    /// (Voalle at its ~30 requests a minute). A listing longer than the adapter pages through
    /// fails with `InvalidResponse` rather than being cut; an empty window (`due_from` after
    /// `due_until`) is an empty list. Each row holds a whole `Customer`: for very large bases ask
    /// for a few days at a time.
    ///
    /// The default is the per-customer fallback every system supports: `open_invoices` and, when
    /// any falls in the window, `contracts` of each of `customers`.
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
                .open_invoices(customer)
                .await?
                .into_iter()
                .filter(|i| receivables::is_receivable(i, due_from, due_until))
                .collect();
            if owed.is_empty() {
                continue;
            }
            let contracts = match self.contracts(customer).await {
                Ok(contracts) => contracts,
                Err(ErpError::NotSupported { .. }) => Vec::new(),
                Err(other) => return Err(other),
            };
            for invoice in owed {
                let contract = receivables::contract_for(&invoice, &contracts);
                rows.push(Receivable::new(customer.clone(), invoice, contract, None));
            }
        }
        Ok(receivables::finish(rows))
    }

    /// Whether [`ErpAdapter::receivables`] lists the whole base by due date (SGP, IXC, Hubsoft)
    /// and ignores `customers`. When `false` (MK-Auth, Voalle, RadiusNet: titles only per
    /// CPF/CNPJ or login, and no endpoint lists the customers), the caller must pass the
    /// customers to ask about. The default is `false`, as the default `receivables` is the
    /// per-customer fallback.
    fn lists_receivables_in_bulk(&self) -> bool {
        false
    }

    /// Restores a contract blocked for debt once its debt is paid (Anatel: within a day of the
    /// payment). Call it only when the debt behind the block is paid: a release does not look at
    /// other invoices. `granted` means the contract is not blocked any more — released by this
    /// call or already released by the system; a refusal says why not: `NotSupported` (still
    /// blocked and nothing Balcão can ask the system for: check again later or hand over to a
    /// person), `ExceedsPolicy` (a manual block or a suspension by request, which a payment does
    /// not lift), `ContractInactive`.
    ///
    /// The default reads [`ErpAdapter::connection_status`], for systems that lift a debt block
    /// themselves when they post the payment.
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        receivables::restore_from_check(self.system(), self.connection_status(contract).await)
    }
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
    async fn find_customer_by_login(&self, login: &str) -> Result<Option<Customer>, ErpError> {
        (**self).find_customer_by_login(login).await
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
    async fn receivables(
        &self,
        due_from: Date,
        due_until: Date,
        customers: &[Customer],
    ) -> Result<Vec<Receivable>, ErpError> {
        (**self).receivables(due_from, due_until, customers).await
    }
    fn lists_receivables_in_bulk(&self) -> bool {
        (**self).lists_receivables_in_bulk()
    }
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        (**self).restore_after_payment(contract).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn auth(system: System) -> BTreeMap<String, String> {
        crate::required_auth_keys(system)
            .iter()
            .map(|k| {
                let value = match *k {
                    "token_url" => "http://127.0.0.1:1/connect/token",
                    "token" if system == System::Ixc => "1:abc",
                    _ => "x",
                };
                ((*k).to_owned(), value.to_owned())
            })
            .collect()
    }

    /// The runner decides from this whether to pass customers to `receivables`: a wrong answer
    /// would sync nothing (or ask a bulk system per customer), so every adapter is pinned,
    /// through the resilience wrapper and the `Arc` the product holds.
    #[test]
    fn bulk_listing_capability_per_system() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        for system in System::ALL {
            let adapter = crate::connect(system, "http://127.0.0.1:1", &auth(system))
                .unwrap_or_else(|e| panic!("{system}: {e}"));
            let bulk = matches!(system, System::Sgp | System::Ixc | System::Hubsoft);
            assert_eq!(adapter.lists_receivables_in_bulk(), bulk, "{system}");
        }
    }

    #[tokio::test]
    async fn only_mkauth_looks_customers_up_by_login() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        for system in System::ALL {
            if system == System::MkAuth {
                continue;
            }
            let adapter = crate::connect(system, "http://127.0.0.1:1", &auth(system)).unwrap();
            assert_eq!(
                adapter.find_customer_by_login("joao").await,
                Err(ErpError::not_supported(
                    crate::error::Operation::FindCustomerByLogin
                )),
                "{system}"
            );
        }
    }
}
