//! The running fake's data: the data set plus the indexes that make every lookup O(1), and the
//! mutations the APIs perform (trust unlock, payments, tickets, blocks).

use crate::codec::digits;
use crate::dataset::{
    DataSet, FakeContract, FakeContractStatus, FakeInvoice, FakeInvoiceStatus, FakeTicket,
    Subscriber,
};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use std::collections::{BTreeSet, HashMap};

/// Position of a contract or invoice: (subscriber index, index inside the subscriber).
pub(crate) type Slot = (usize, usize);

pub(crate) struct Db {
    pub(crate) data: DataSet,
    by_document: HashMap<String, usize>,
    by_subscriber_id: HashMap<u64, usize>,
    /// DDD + last 8 digits → subscribers with a phone ending so (either 9th-digit form).
    by_phone_tail: HashMap<String, Vec<usize>>,
    by_contract: HashMap<u64, Slot>,
    by_login: HashMap<String, Slot>,
    by_invoice: HashMap<u64, Slot>,
    /// (paid at in ms, invoice id) of every paid invoice, for payment-window queries.
    paid: BTreeSet<(i64, u64)>,
    /// (due date, invoice id) of every invoice, for due-date queries (due dates never change).
    due: BTreeSet<(Date, u64)>,
    next_protocol: u64,
    next_ticket_id: u64,
}

/// A phone as the ERPs store it: national digits, 10 (landline or old mobile) or 11.
pub(crate) fn national(phone: &str) -> String {
    let d = digits(phone);
    match d.len() {
        12 | 13 if d.starts_with("55") => d[2..].to_owned(),
        11 | 12 if d.starts_with('0') => d[1..].to_owned(),
        _ => d,
    }
}

/// The key both 9th-digit forms of a number share: DDD + last 8 digits.
fn phone_tail(national_digits: &str) -> Option<String> {
    (national_digits.len() >= 10).then(|| {
        format!(
            "{}{}",
            &national_digits[..2],
            &national_digits[national_digits.len() - 8..]
        )
    })
}

/// Why a trust unlock is refused; every system words it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnlockRefusal {
    NotFound,
    /// The contract is not blocked.
    NotBlocked,
    /// Already used this month (and the debt is still unpaid).
    AlreadyUsed,
    /// Cancelled or not installed yet.
    ContractInactive,
    /// Blocked for a reason a trust unlock does not lift (manual block, suspension by request).
    NotAllowed,
    /// More days asked than the policy allows.
    ExceedsPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnlockGrant {
    pub(crate) days: u32,
    pub(crate) until: Date,
    pub(crate) protocol: String,
}

/// The provider's trust-unlock policy applied to one contract (pure).
pub(crate) fn unlock_decision(
    contract: &FakeContract,
    requested_days: Option<u32>,
    default_days: u32,
    max_days: u32,
) -> Result<u32, UnlockRefusal> {
    use FakeContractStatus as S;
    match contract.status {
        S::Cancelled | S::PendingInstall => Err(UnlockRefusal::ContractInactive),
        S::Active => Err(UnlockRefusal::NotBlocked),
        S::TrustUnlocked => Err(UnlockRefusal::AlreadyUsed),
        S::SuspendedManual | S::SuspendedByRequest => Err(UnlockRefusal::NotAllowed),
        S::SuspendedDebt | S::ReducedSpeed if contract.unlock_used_this_month => {
            Err(UnlockRefusal::AlreadyUsed)
        }
        S::SuspendedDebt | S::ReducedSpeed => match requested_days {
            Some(days) if days > max_days => Err(UnlockRefusal::ExceedsPolicy),
            Some(0) | None => Ok(default_days),
            Some(days) => Ok(days),
        },
    }
}

impl Db {
    pub(crate) fn new(data: DataSet) -> Db {
        let mut db = Db {
            by_document: HashMap::with_capacity(data.subscribers.len()),
            by_subscriber_id: HashMap::with_capacity(data.subscribers.len()),
            by_phone_tail: HashMap::with_capacity(data.subscribers.len() * 2),
            by_contract: HashMap::with_capacity(data.subscribers.len() * 2),
            by_login: HashMap::with_capacity(data.subscribers.len() * 2),
            by_invoice: HashMap::with_capacity(data.subscribers.len() * 5),
            paid: BTreeSet::new(),
            due: BTreeSet::new(),
            next_protocol: 1 + data.tickets.len() as u64,
            next_ticket_id: 1 + data.tickets.iter().map(|t| t.id).max().unwrap_or(70_000),
            data,
        };
        for (si, s) in db.data.subscribers.iter().enumerate() {
            db.by_document.insert(s.document.clone(), si);
            db.by_subscriber_id.insert(s.id, si);
            for phone in &s.phones {
                if let Some(tail) = phone_tail(&national(phone)) {
                    let entry = db.by_phone_tail.entry(tail).or_default();
                    if !entry.contains(&si) {
                        entry.push(si);
                    }
                }
            }
            for (ci, c) in s.contracts.iter().enumerate() {
                db.by_contract.insert(c.id, (si, ci));
                db.by_login.insert(c.login.clone(), (si, ci));
            }
            for (ii, inv) in s.invoices.iter().enumerate() {
                db.by_invoice.insert(inv.id, (si, ii));
                db.due.insert((inv.due_date, inv.id));
                if let Some(at) = inv.paid_at {
                    db.paid.insert((at.as_millisecond(), inv.id));
                }
            }
        }
        db
    }

    pub(crate) fn today(&self) -> Date {
        self.data.today
    }

    pub(crate) fn subscribers(&self) -> &[Subscriber] {
        &self.data.subscribers
    }

    pub(crate) fn subscriber(&self, index: usize) -> &Subscriber {
        &self.data.subscribers[index]
    }

    /// By CPF/CNPJ, masked or not.
    pub(crate) fn find_document(&self, document: &str) -> Option<usize> {
        let key: String = document
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        self.by_document.get(&key).copied()
    }

    pub(crate) fn find_subscriber_id(&self, id: u64) -> Option<usize> {
        self.by_subscriber_id.get(&id).copied()
    }

    /// Subscribers with a phone registered exactly as `phone` (punctuation, country code and trunk
    /// zero ignored, the 9th digit NOT): a number registered in the old 8-digit form is found only
    /// by that form, like in the real systems.
    pub(crate) fn find_phone_exact(&self, phone: &str) -> Vec<usize> {
        let wanted = national(phone);
        self.find_phone_tail(&wanted)
            .into_iter()
            .filter(|&si| {
                self.subscriber(si)
                    .phones
                    .iter()
                    .any(|p| national(p) == wanted)
            })
            .collect()
    }

    /// Candidates sharing DDD + last 8 digits with `phone`, whatever the 9th digit.
    pub(crate) fn find_phone_tail(&self, phone: &str) -> Vec<usize> {
        phone_tail(&national(phone))
            .and_then(|tail| self.by_phone_tail.get(&tail).cloned())
            .unwrap_or_default()
    }

    pub(crate) fn find_contract(&self, id: u64) -> Option<Slot> {
        self.by_contract.get(&id).copied()
    }

    pub(crate) fn find_login(&self, login: &str) -> Option<Slot> {
        self.by_login.get(login).copied()
    }

    pub(crate) fn find_invoice(&self, id: u64) -> Option<Slot> {
        self.by_invoice.get(&id).copied()
    }

    pub(crate) fn contract(&self, slot: Slot) -> &FakeContract {
        &self.data.subscribers[slot.0].contracts[slot.1]
    }

    pub(crate) fn invoice(&self, slot: Slot) -> &FakeInvoice {
        &self.data.subscribers[slot.0].invoices[slot.1]
    }

    /// Invoices paid in `[from, to]` (milliseconds), oldest first.
    pub(crate) fn paid_between(&self, from_ms: i64, to_ms: i64) -> Vec<Slot> {
        if from_ms > to_ms {
            return Vec::new();
        }
        self.paid
            .range((from_ms, 0)..=(to_ms, u64::MAX))
            .filter_map(|&(_, id)| self.find_invoice(id))
            .collect()
    }

    /// Invoices falling due on `from..=until`, in invoice-id order.
    pub(crate) fn due_between(&self, from: Date, until: Date) -> Vec<Slot> {
        if from > until {
            return Vec::new();
        }
        let mut ids: Vec<u64> = self
            .due
            .range((from, 0)..=(until, u64::MAX))
            .map(|&(_, id)| id)
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.find_invoice(id))
            .collect()
    }

    /// Anatel-style protocol: the business day and a sequence.
    pub(crate) fn next_protocol(&mut self) -> String {
        let n = self.next_protocol;
        self.next_protocol += 1;
        format!("{}{:06}", self.today().strftime("%Y%m%d"), n)
    }

    /// Applies the trust-unlock policy and, when granted, unlocks the contract.
    pub(crate) fn trust_unlock(
        &mut self,
        contract_id: u64,
        requested_days: Option<u32>,
    ) -> Result<UnlockGrant, UnlockRefusal> {
        let slot = self
            .find_contract(contract_id)
            .ok_or(UnlockRefusal::NotFound)?;
        let provider = &self.data.provider;
        let days = unlock_decision(
            self.contract(slot),
            requested_days,
            provider.unlock_days,
            provider.unlock_max_days,
        )?;
        let until = self.today() + i64::from(days).days();
        let contract = &mut self.data.subscribers[slot.0].contracts[slot.1];
        contract.status = FakeContractStatus::TrustUnlocked;
        contract.unlock_used_this_month = true;
        contract.unlock_until = Some(until);
        contract.online = true;
        Ok(UnlockGrant {
            days,
            until,
            protocol: self.next_protocol(),
        })
    }

    /// Marks an unpaid invoice paid at `at`; once a contract has nothing overdue it is released,
    /// as the ERPs do after a payment is confirmed. `None` when the invoice does not exist.
    pub(crate) fn mark_paid(&mut self, invoice_id: u64, at: Timestamp) -> Option<FakeInvoice> {
        let (si, ii) = self.find_invoice(invoice_id)?;
        let subscriber = &mut self.data.subscribers[si];
        let invoice = &mut subscriber.invoices[ii];
        if let Some(previous) = invoice.paid_at {
            self.paid.remove(&(previous.as_millisecond(), invoice.id));
        }
        invoice.status = FakeInvoiceStatus::Paid;
        invoice.paid_at = Some(at);
        invoice.paid_cents = invoice.amount_due_cents();
        self.paid.insert((at.as_millisecond(), invoice.id));
        let contract_id = invoice.contract_id;
        let snapshot = invoice.clone();
        let still_overdue = subscriber
            .invoices
            .iter()
            .any(|i| i.contract_id == contract_id && i.status == FakeInvoiceStatus::Overdue);
        if !still_overdue
            && let Some(contract) = subscriber
                .contracts
                .iter_mut()
                .find(|c| c.id == contract_id)
            && matches!(
                contract.status,
                FakeContractStatus::ReducedSpeed
                    | FakeContractStatus::SuspendedDebt
                    | FakeContractStatus::TrustUnlocked
            )
        {
            contract.status = FakeContractStatus::Active;
            contract.unlock_until = None;
            contract.online = true;
        }
        Some(snapshot)
    }

    /// Sets a contract's status (IXC's release and manual-block actions).
    pub(crate) fn set_contract_status(
        &mut self,
        contract_id: u64,
        status: FakeContractStatus,
    ) -> Option<()> {
        let (si, ci) = self.find_contract(contract_id)?;
        let contract = &mut self.data.subscribers[si].contracts[ci];
        contract.status = status;
        contract.online = status == FakeContractStatus::Active;
        Some(())
    }

    /// Records a ticket and gives it a protocol.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_ticket(
        &mut self,
        subscriber_id: u64,
        contract_id: Option<u64>,
        kind: &str,
        description: &str,
        contact_name: &str,
        contact_phone: &str,
        now: Timestamp,
    ) -> FakeTicket {
        let ticket = FakeTicket {
            id: self.next_ticket_id,
            protocol: self.next_protocol(),
            subscriber_id,
            contract_id,
            kind: kind.to_owned(),
            description: description.to_owned(),
            contact_name: contact_name.to_owned(),
            contact_phone: contact_phone.to_owned(),
            opened_at: now,
        };
        self.next_ticket_id += 1;
        self.data.tickets.push(ticket.clone());
        ticket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Db {
        Db::new(DataSet::generate(12, 5, Date::new(2026, 11, 16).unwrap()))
    }

    #[test]
    fn national_forms() {
        assert_eq!(national("+55 (85) 99999-1234"), "85999991234");
        assert_eq!(national("558599991234"), "8599991234");
        assert_eq!(national("085999991234"), "85999991234");
        assert_eq!(national("8532345678"), "8532345678");
    }

    #[test]
    fn phone_lookup_is_exact_about_the_ninth_digit() {
        let db = db();
        let old = db.subscriber(1).phones[0].clone();
        assert_eq!(old.len(), 12);
        let new_form = format!("{}9{}", &old[..4], &old[4..]);
        assert_eq!(db.find_phone_exact(&old), vec![1]);
        assert!(db.find_phone_exact(&new_form).is_empty());
        assert_eq!(db.find_phone_tail(&new_form), vec![1]);
    }

    #[test]
    fn unlock_once_then_refused_and_payment_releases() {
        let mut db = db();
        let contract = db.subscriber(2).contracts[0].id;
        let grant = db
            .trust_unlock(contract, None)
            .expect("first unlock granted");
        assert_eq!(grant.days, 3);
        assert_eq!(
            db.trust_unlock(contract, None),
            Err(UnlockRefusal::AlreadyUsed)
        );
        let overdue: Vec<u64> = db
            .subscriber(2)
            .invoices
            .iter()
            .filter(|i| i.status.is_unpaid())
            .map(|i| i.id)
            .collect();
        let at = Timestamp::from_second(1_795_000_000).unwrap();
        for id in &overdue {
            db.mark_paid(*id, at).unwrap();
        }
        assert_eq!(
            db.subscriber(2).contracts[0].status,
            FakeContractStatus::Active
        );
        let ms = at.as_millisecond();
        assert_eq!(db.paid_between(ms, ms).len(), overdue.len());
        assert!(db.mark_paid(1, at).is_none());
    }

    #[test]
    fn due_dates_are_indexed() {
        let db = db();
        let all: Vec<(u64, Date)> = db
            .subscribers()
            .iter()
            .flat_map(|s| s.invoices.iter().map(|i| (i.id, i.due_date)))
            .collect();
        let (from, until) = (db.today() - 20.days(), db.today() + 5.days());
        let mut expected: Vec<u64> = all
            .iter()
            .filter(|(_, due)| from <= *due && *due <= until)
            .map(|(id, _)| *id)
            .collect();
        expected.sort_unstable();
        let found: Vec<u64> = db
            .due_between(from, until)
            .into_iter()
            .map(|slot| db.invoice(slot).id)
            .collect();
        assert!(!found.is_empty());
        assert_eq!(found, expected);
        assert!(db.due_between(until, from).is_empty());
    }

    #[test]
    fn policy_refusals() {
        let db = db();
        let decide = |si: usize, days| unlock_decision(&db.subscriber(si).contracts[0], days, 3, 5);
        assert_eq!(decide(0, None), Err(UnlockRefusal::NotBlocked));
        assert_eq!(decide(1, None), Ok(3));
        assert_eq!(decide(2, Some(6)), Err(UnlockRefusal::ExceedsPolicy));
        assert_eq!(decide(2, Some(2)), Ok(2));
        assert_eq!(decide(3, None), Err(UnlockRefusal::NotAllowed));
        assert_eq!(decide(5, None), Err(UnlockRefusal::AlreadyUsed));
        assert_eq!(decide(6, None), Err(UnlockRefusal::ContractInactive));
        assert_eq!(decide(7, None), Err(UnlockRefusal::ContractInactive));
        assert_eq!(decide(10, None), Err(UnlockRefusal::AlreadyUsed));
    }
}
