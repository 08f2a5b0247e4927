#![allow(dead_code)]

use balcao_domain::br::DocumentKind;
use balcao_ladder::InvoiceFacts;
use jiff::Timestamp;
use jiff::civil::Date;
use std::cell::RefCell;
use std::collections::HashSet;

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An open, unpaid invoice of a "regular" payer (1 late payment) in the workspace's time zone.
pub fn invoice(id: &str, customer: &str, due: Date) -> InvoiceFacts {
    InvoiceFacts {
        invoice_id: id.into(),
        customer_id: customer.into(),
        contract_id: Some(format!("contrato-{customer}")),
        due,
        amount_cents: 9_990,
        person: DocumentKind::Cpf,
        plan_value_cents: Some(9_990),
        city: Some("Fortaleza".into()),
        region: Some("Centro".into()),
        late_payments_last_12m: 1,
        paid: false,
        suspended: false,
        opted_out: false,
        has_wa_id: true,
        time_zone: None,
    }
}

/// What the store would hold: (invoice, step) handled and the subscribers messaged today.
#[derive(Default)]
pub struct Ledger {
    pub handled: RefCell<HashSet<(String, String)>>,
    /// (subscriber, local date) that got a ladder message.
    pub messaged: RefCell<HashSet<(String, Date)>>,
}

impl Ledger {
    pub fn with_handled(pairs: &[(&str, &str)]) -> Self {
        let ledger = Ledger::default();
        for (i, s) in pairs {
            ledger.mark(i, s);
        }
        ledger
    }

    pub fn mark(&self, invoice: &str, step: &str) {
        self.handled
            .borrow_mut()
            .insert((invoice.to_owned(), step.to_owned()));
    }

    pub fn is_handled(&self, invoice: &str, step: &str) -> bool {
        self.handled
            .borrow()
            .contains(&(invoice.to_owned(), step.to_owned()))
    }

    pub fn messaged_on(&self, customer: &str, date: Date) -> bool {
        self.messaged
            .borrow()
            .contains(&(customer.to_owned(), date))
    }

    pub fn mark_messaged(&self, customer: &str, date: Date) {
        self.messaged
            .borrow_mut()
            .insert((customer.to_owned(), date));
    }

    /// Records a run's sends and final skips, as the engine does.
    pub fn record(&self, plan: &balcao_ladder::Plan<'_>) {
        for send in &plan.sends {
            self.mark(send.invoice_id(), send.step_key());
            self.mark_messaged(send.customer_id(), send.local_date);
        }
        for skip in plan.skips.iter().filter(|s| s.reason.is_final()) {
            self.mark(skip.invoice_id(), skip.step_key());
        }
    }
}
