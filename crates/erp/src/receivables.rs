//! Pure rules behind [`crate::ErpAdapter::receivables`] and
//! [`crate::ErpAdapter::restore_after_payment`]: which invoices belong in a due window, the order
//! and uniqueness of the listing, and what a restore after payment should do given a contract's
//! status. No IO: the adapters feed them what their systems answered.

use crate::error::{ErpError, Operation};
use crate::model::{
    ConnectionStatus, Contract, ContractStatus, Customer, Invoice, Receivable, System,
    UnlockRefusal, UnlockResult,
};
use jiff::civil::Date;
use std::collections::HashSet;

/// Whether `invoice` is still owed and falls due on `from..=until`.
pub fn is_receivable(invoice: &Invoice, from: Date, until: Date) -> bool {
    invoice.status.is_payable() && from <= invoice.due_date && invoice.due_date <= until
}

/// The listing as callers get it: one row per invoice (the first seen wins; systems repeat a
/// title across overlapping pages), ordered by due date, then invoice id (numerically when both
/// ids are numbers), so two reads of the same data compare equal.
pub fn finish(rows: Vec<Receivable>) -> Vec<Receivable> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut unique: Vec<Receivable> = rows
        .into_iter()
        .filter(|r| seen.insert(r.invoice.erp_id.clone()))
        .collect();
    unique.sort_by(|a, b| {
        a.invoice
            .due_date
            .cmp(&b.invoice.due_date)
            .then_with(|| id_order(&a.invoice.erp_id, &b.invoice.erp_id))
    });
    unique
}

fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The contract an invoice bills: the one it names, or the customer's only contract when it names
/// none.
pub fn contract_for<'a>(invoice: &Invoice, contracts: &'a [Contract]) -> Option<&'a Contract> {
    match invoice.contract_id.as_deref() {
        Some(id) => contracts.iter().find(|c| c.erp_id == id),
        None if contracts.len() == 1 => contracts.first(),
        None => None,
    }
}

/// `customers` without repeats (by ERP id), in order: systems polled per customer ask once each.
pub fn unique_customers(customers: &[Customer]) -> Vec<&Customer> {
    let mut seen = HashSet::new();
    customers
        .iter()
        .filter(|c| seen.insert(c.erp_id.as_str()))
        .collect()
}

/// What restoring a contract after payment calls for, from its current status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreNeed {
    /// Not blocked (any more): nothing to do.
    AlreadyReleased,
    /// Blocked for debt: the system must lift it.
    Release,
    /// A state a payment does not lift (manual block, suspension by request, cancelled…).
    Refuse(UnlockRefusal),
}

pub fn restore_need(status: ContractStatus) -> RestoreNeed {
    match status {
        ContractStatus::Active | ContractStatus::TrustUnlocked => RestoreNeed::AlreadyReleased,
        ContractStatus::SuspendedDebt | ContractStatus::ReducedSpeed => RestoreNeed::Release,
        ContractStatus::SuspendedManual | ContractStatus::SuspendedByRequest => {
            RestoreNeed::Refuse(UnlockRefusal::ExceedsPolicy)
        }
        ContractStatus::Cancelled | ContractStatus::PendingInstall => {
            RestoreNeed::Refuse(UnlockRefusal::ContractInactive)
        }
        ContractStatus::Other => RestoreNeed::Refuse(UnlockRefusal::Unknown),
    }
}

/// The answer of a system that lifts debt blocks by itself when it posts a payment (and offers no
/// release action but the trust unlock, which must not be spent on a paid invoice): released, or
/// still blocked (`NotSupported`: nothing Balcão can ask for; check again later or hand over to a
/// person), or a state a payment does not lift. Messages are for attendants (pt-BR).
pub fn restore_by_status(system: System, status: ContractStatus) -> UnlockResult {
    let name = system.display_name();
    match restore_need(status) {
        RestoreNeed::AlreadyReleased => {
            UnlockResult::released(Some(format!("Situação no {name}: {}", status.label())))
        }
        RestoreNeed::Release => UnlockResult::refused(
            UnlockRefusal::NotSupported,
            Some(format!(
                "O contrato ainda consta como \"{}\" no {name}, que religa sozinho ao dar baixa no \
                 pagamento; confira a baixa ou religue pelo sistema",
                status.label()
            )),
        ),
        RestoreNeed::Refuse(refusal) => UnlockResult::refused(
            refusal,
            Some(format!(
                "Situação no {name}: {} (o pagamento não religa este contrato)",
                status.label()
            )),
        ),
    }
}

/// [`restore_by_status`] from a connection check; a check that only says blocked or not (MK-Auth)
/// is read as debt when blocked.
pub fn restore_by_connection(system: System, connection: &ConnectionStatus) -> UnlockResult {
    match (connection.contract_status, connection.blocked) {
        (Some(status), _) => restore_by_status(system, status),
        (None, Some(false)) => restore_by_status(system, ContractStatus::Active),
        (None, Some(true)) => restore_by_status(system, ContractStatus::SuspendedDebt),
        (None, None) => {
            UnlockResult::refused(UnlockRefusal::Unknown, connection.erp_message.clone())
        }
    }
}

/// [`restore_by_connection`] over a connection check's outcome: a contract the system does not
/// know is a `NotFound` refusal, a system without the check cannot restore.
pub fn restore_from_check(
    system: System,
    check: Result<ConnectionStatus, ErpError>,
) -> Result<UnlockResult, ErpError> {
    match check {
        Ok(connection) => Ok(restore_by_connection(system, &connection)),
        Err(ErpError::NotFound) => Ok(UnlockResult::refused(UnlockRefusal::NotFound, None)),
        Err(ErpError::NotSupported { .. }) => {
            Err(ErpError::not_supported(Operation::RestoreAfterPayment))
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InvoiceStatus;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn customer(id: &str) -> Customer {
        Customer {
            system: System::Sgp,
            erp_id: id.into(),
            document: None,
            name: format!("Cliente {id}"),
            phones: vec![],
            emails: vec![],
        }
    }

    fn invoice(id: u32, due: Date, status: InvoiceStatus) -> Invoice {
        Invoice {
            erp_id: id.to_string(),
            contract_id: None,
            due_date: due,
            amount_cents: 9990,
            amount_due_cents: None,
            fine_cents: None,
            interest_cents: None,
            paid_cents: None,
            status,
            paid_at: None,
            payment_methods: vec![],
        }
    }

    fn contract(status: ContractStatus) -> Contract {
        Contract {
            erp_id: "77".into(),
            customer_erp_id: "1".into(),
            plan_name: Some("300 MEGA".into()),
            monthly_cents: Some(9990),
            status,
            raw_status: String::new(),
            online: None,
            login: None,
        }
    }

    #[test]
    fn window_keeps_owed_invoices_inside_both_ends() {
        let (from, until) = (date(2026, 11, 10), date(2026, 11, 20));
        let owed = |d, s| is_receivable(&invoice(1, d, s), from, until);
        assert!(owed(from, InvoiceStatus::Open));
        assert!(owed(until, InvoiceStatus::Overdue));
        assert!(owed(date(2026, 11, 15), InvoiceStatus::Partial));
        assert!(!owed(date(2026, 11, 9), InvoiceStatus::Open));
        assert!(!owed(date(2026, 11, 21), InvoiceStatus::Open));
        assert!(!owed(date(2026, 11, 15), InvoiceStatus::Paid));
        assert!(!owed(date(2026, 11, 15), InvoiceStatus::Cancelled));
    }

    #[test]
    fn a_row_takes_the_contract_it_bills() {
        let mut billed = invoice(5, date(2026, 11, 10), InvoiceStatus::Overdue);
        let suspended = contract(ContractStatus::SuspendedDebt);
        let row = Receivable::new(
            customer("1"),
            billed.clone(),
            Some(&suspended),
            Some("Fortaleza".into()),
        );
        assert_eq!(row.contract_id.as_deref(), Some("77"), "from the contract");
        assert!(row.suspended);
        assert_eq!(row.contract_status, Some(ContractStatus::SuspendedDebt));
        assert_eq!(row.plan_value_cents, Some(9990));
        assert_eq!(row.city.as_deref(), Some("Fortaleza"));
        billed.contract_id = Some("12".into());
        let row = Receivable::new(customer("1"), billed, None, Some(" ".into()));
        assert_eq!(row.contract_id.as_deref(), Some("12"), "the invoice's own");
        assert!(!row.suspended, "unknown is not suspended");
        assert_eq!((row.contract_status, row.city), (None, None));
        let slowed = Receivable::new(
            customer("1"),
            invoice(6, date(2026, 11, 10), InvoiceStatus::Open),
            Some(&contract(ContractStatus::ReducedSpeed)),
            None,
        );
        assert!(slowed.suspended, "reduced speed is a debt block too");
    }

    #[test]
    fn an_invoice_without_contract_goes_to_the_only_one() {
        let mut other = contract(ContractStatus::Active);
        other.erp_id = "78".into();
        let only = [contract(ContractStatus::SuspendedDebt)];
        let both = [contract(ContractStatus::SuspendedDebt), other];
        let mut billed = invoice(1, date(2026, 11, 10), InvoiceStatus::Open);
        assert_eq!(contract_for(&billed, &only).unwrap().erp_id, "77");
        assert!(contract_for(&billed, &both).is_none(), "ambiguous");
        billed.contract_id = Some("78".into());
        assert_eq!(contract_for(&billed, &both).unwrap().erp_id, "78");
        assert!(contract_for(&billed, &only).is_none(), "names another");
    }

    #[test]
    fn customers_are_asked_once() {
        let list = [customer("1"), customer("2"), customer("1")];
        let ids: Vec<_> = unique_customers(&list)
            .iter()
            .map(|c| c.erp_id.as_str())
            .collect();
        assert_eq!(ids, ["1", "2"]);
    }

    #[test]
    fn restore_depends_on_the_status() {
        use ContractStatus as S;
        assert_eq!(restore_need(S::Active), RestoreNeed::AlreadyReleased);
        assert_eq!(restore_need(S::TrustUnlocked), RestoreNeed::AlreadyReleased);
        assert_eq!(restore_need(S::SuspendedDebt), RestoreNeed::Release);
        assert_eq!(restore_need(S::ReducedSpeed), RestoreNeed::Release);
        assert_eq!(
            restore_need(S::SuspendedManual),
            RestoreNeed::Refuse(UnlockRefusal::ExceedsPolicy)
        );
        assert_eq!(
            restore_need(S::Cancelled),
            RestoreNeed::Refuse(UnlockRefusal::ContractInactive)
        );
        let released = restore_by_status(System::Sgp, S::Active);
        assert!(released.granted && released.refusal.is_none());
        let blocked = restore_by_status(System::Hubsoft, S::SuspendedDebt);
        assert!(!blocked.granted);
        assert_eq!(blocked.refusal, Some(UnlockRefusal::NotSupported));
        assert!(blocked.erp_message.unwrap().contains("Hubsoft"));
        let by_flag = |blocked| ConnectionStatus {
            online: None,
            blocked,
            contract_status: None,
            erp_message: None,
        };
        assert!(restore_by_connection(System::MkAuth, &by_flag(Some(false))).granted);
        assert_eq!(
            restore_by_connection(System::MkAuth, &by_flag(Some(true))).refusal,
            Some(UnlockRefusal::NotSupported)
        );
        assert_eq!(
            restore_by_connection(System::MkAuth, &by_flag(None)).refusal,
            Some(UnlockRefusal::Unknown)
        );
    }

    fn any_status() -> impl Strategy<Value = InvoiceStatus> {
        prop_oneof![
            Just(InvoiceStatus::Open),
            Just(InvoiceStatus::Overdue),
            Just(InvoiceStatus::Partial),
            Just(InvoiceStatus::Paid),
            Just(InvoiceStatus::Cancelled),
        ]
    }

    proptest! {
        /// Filtering then finishing keeps exactly the owed invoices of the window, once each,
        /// ordered by due date and id.
        #[test]
        fn listing_is_the_window_once_in_order(
            drawn in prop::collection::vec((0u32..40, any_status()), 0..80),
            start in 0i64..60,
            length in 0i64..30,
        ) {
            let day = |n: i64| date(2026, 11, 1).checked_add(jiff::Span::new().days(n)).unwrap();
            let (from, until) = (day(start), day(start + length));
            let rows: Vec<Receivable> = drawn
                .iter()
                // An id always has the same due date, as in a real listing repeating a title.
                .map(|&(id, status)| invoice(id, day(i64::from(id * 7 % 60)), status))
                .filter(|i| is_receivable(i, from, until))
                .map(|i| Receivable::new(customer("1"), i, None, None))
                .collect();
            let listed = finish(rows.clone());
            let ids: HashSet<&str> = listed.iter().map(|r| r.invoice.erp_id.as_str()).collect();
            prop_assert_eq!(ids.len(), listed.len(), "one row per invoice");
            let expected: HashSet<&str> = rows.iter().map(|r| r.invoice.erp_id.as_str()).collect();
            prop_assert_eq!(ids, expected);
            for pair in listed.windows(2) {
                let key = |r: &Receivable| (r.invoice.due_date, r.invoice.erp_id.parse::<u32>().unwrap());
                prop_assert!(key(&pair[0]) < key(&pair[1]));
            }
            for row in &listed {
                prop_assert!(is_receivable(&row.invoice, from, until));
            }
        }
    }
}
