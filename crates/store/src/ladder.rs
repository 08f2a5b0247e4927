//! The billing ladder's storage boundary: the receivables snapshot the planner runs over, the
//! record of each (invoice, step) handled, and the subscribers' opt-outs and opt-ins.
//!
//! Contracts every backend keeps (checked by `contract_ladder`):
//! - Every method takes a [`WorkspaceId`] and never reads or writes another workspace's rows.
//! - **Exactly once**: `ladder_sends` is unique per (workspace, invoice, step).
//!   [`LadderStore::record_ladder_send`] inserts that row and the outbound message in ONE
//!   transaction, so concurrent recorders (several nodes, a restart mid-run) queue at most one
//!   message per (invoice, step), and a crash never leaves a message without its record or the
//!   reverse.
//! - The snapshot is read in pages ordered by (customer, invoice), keyset-paged, so a run over a
//!   million invoices never holds them all; each row carries what the planner asks about it
//!   (steps already handled, the customer's last ladder day, opt-out), so planning a page costs
//!   one query.
//! - Opt-outs are keyed by the WhatsApp id's 9th-digit-free form (`WaId::match_key`): both forms
//!   of a number are one subscriber. Every change is also appended to a log with its time and
//!   source (the record the law asks for).

use crate::{Enqueued, NewOutbound, Result};
use async_trait::async_trait;
use balcao_domain::br::DocumentKind;
use balcao_domain::*;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The civil date type of the ladder's rows (`jiff::civil::Date`), re-exported for backends.
pub type LadderDate = Date;

/// An invoice still owed, as the sync from the management system writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReceivable {
    pub invoice_id: String,
    pub customer_id: String,
    /// The customer's name as the system writes it (messages use the first name only).
    pub customer_name: String,
    pub contract_id: Option<String>,
    pub due: Date,
    pub amount_cents: i64,
    pub person: Option<DocumentKind>,
    pub plan_value_cents: Option<i64>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub late_payments_last_12m: u32,
    pub suspended: bool,
    pub wa_id: Option<WaId>,
    /// IANA name; `None` uses the workspace's.
    pub time_zone: Option<String>,
}

/// A snapshot row with what the planner needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderReceivable {
    pub workspace_id: WorkspaceId,
    pub receivable: NewReceivable,
    /// A payment was recorded for it.
    pub paid: bool,
    /// The last sync covering its due date no longer listed it (paid elsewhere, cancelled).
    pub removed: bool,
    /// The subscriber's WhatsApp id opted out of the ladder.
    pub opted_out: bool,
    /// Step keys already handled for this invoice (any status: sent, obsolete, cancelled...).
    pub handled_steps: Vec<String>,
    /// The latest subscriber-local date on which a ladder message was sent to this customer.
    pub last_sent_on: Option<Date>,
    pub synced_at: Millis,
}

impl LadderReceivable {
    pub fn handled(&self, step_key: &str) -> bool {
        self.handled_steps.iter().any(|s| s == step_key)
    }
}

/// What became of an (invoice, step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderSendStatus {
    /// The message was queued in the outbox (with this record).
    Sent,
    /// A later step went out first (catch-up): never sent.
    Obsolete,
    /// The invoice was found paid right before sending.
    SkippedPaid,
    /// Cancelled (payment, opt-out) before it went out.
    Cancelled,
    /// Could not be built or queued (no template approved, invalid content...).
    Failed,
}

impl LadderSendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LadderSendStatus::Sent => "sent",
            LadderSendStatus::Obsolete => "obsolete",
            LadderSendStatus::SkippedPaid => "skipped_paid",
            LadderSendStatus::Cancelled => "cancelled",
            LadderSendStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "sent" => LadderSendStatus::Sent,
            "obsolete" => LadderSendStatus::Obsolete,
            "skipped_paid" => LadderSendStatus::SkippedPaid,
            "cancelled" => LadderSendStatus::Cancelled,
            "failed" => LadderSendStatus::Failed,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLadderSend {
    pub invoice_id: String,
    pub customer_id: String,
    pub step_key: String,
    pub status: LadderSendStatus,
    /// The A/B arm's template, when the step has variants.
    pub variant: Option<String>,
    /// The subscriber-local date the send belongs to (one ladder message per subscriber per day).
    pub local_date: Date,
    /// Why it failed or was skipped, for people.
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderSend {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub invoice_id: String,
    pub customer_id: String,
    pub step_key: String,
    pub status: LadderSendStatus,
    pub variant: Option<String>,
    pub local_date: Date,
    pub message_id: Option<MessageId>,
    pub detail: Option<String>,
    pub created_at: Millis,
}

/// The outcome of [`LadderStore::record_ladder_send`].
#[derive(Clone, Debug, PartialEq)]
pub enum LadderRecorded {
    /// Newly recorded; `enqueued` is the outbound message queued with it, when one was given.
    Recorded {
        send: LadderSend,
        enqueued: Option<Box<Enqueued>>,
    },
    /// This (invoice, step) was already handled: nothing was written or queued.
    AlreadyHandled(LadderSend),
}

/// An opt-out or opt-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChange {
    pub wa_id: WaId,
    pub customer_id: Option<String>,
    pub opted_out: bool,
    /// Where it came from: `text:SAIR`, `button`, `agent:<id>`, `api`...
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderConsent {
    pub wa_id: WaId,
    pub customer_id: Option<String>,
    pub opted_out: bool,
    pub source: String,
    pub changed_at: Millis,
}

#[async_trait]
pub trait LadderStore: Send + Sync + 'static {
    /// Inserts or refreshes snapshot rows (by workspace and invoice id), setting `synced_at = now`
    /// and clearing `removed`; `paid` is kept (a recorded payment wins over a lagging listing).
    /// `late_payments_last_12m` is counted from the payments the ladder logged for the customer
    /// (due in the 12 months before the invoice's due date) when there are any; the given value
    /// stands for a customer with no logged payment yet.
    /// Call in chunks for large syncs. Returns the rows written.
    async fn upsert_receivables(
        &self,
        workspace: WorkspaceId,
        rows: &[NewReceivable],
        now: Millis,
    ) -> Result<u64>;

    /// After a sync of due dates `due_from..=due_until` that started at `sync_started`: rows of
    /// that window not refreshed since are marked `removed`. Returns how many.
    async fn close_unseen_receivables(
        &self,
        workspace: WorkspaceId,
        due_from: Date,
        due_until: Date,
        sync_started: Millis,
    ) -> Result<u64>;

    /// Open rows (not paid, not removed) ordered by (customer id, invoice id), strictly after
    /// `after` = (customer id, invoice id), at most `limit`.
    async fn ladder_receivables_page(
        &self,
        workspace: WorkspaceId,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<LadderReceivable>>;

    /// One row, open or not.
    async fn ladder_receivable(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
    ) -> Result<Option<LadderReceivable>>;

    /// Records an (invoice, step) and, when given, queues `outbound` (as `enqueue_outbound`
    /// does) in the SAME transaction, linking the message. When the (invoice, step) is already
    /// recorded nothing is written or queued. `NotFound` when the outbound's number is not the
    /// workspace's (and then nothing is recorded).
    async fn record_ladder_send(
        &self,
        workspace: WorkspaceId,
        send: &NewLadderSend,
        outbound: Option<NewOutbound>,
        now: Millis,
    ) -> Result<LadderRecorded>;

    /// Records many (invoice, step)s with no message (the steps a catch-up made obsolete) in ONE
    /// transaction; ones already recorded are left as they are. Returns how many were new.
    async fn record_ladder_skips(
        &self,
        workspace: WorkspaceId,
        sends: &[NewLadderSend],
        now: Millis,
    ) -> Result<u64>;

    /// The records of an invoice, oldest first.
    async fn ladder_sends(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
    ) -> Result<Vec<LadderSend>>;

    /// Whether a ladder message (status `sent`) was recorded for the customer on that local date.
    async fn ladder_sent_today(
        &self,
        workspace: WorkspaceId,
        customer_id: &str,
        local_date: Date,
    ) -> Result<bool>;

    /// A payment was recorded (`paid_at`: when it was paid, as best known): marks the row paid
    /// and returns it as it was before (so the
    /// caller knows whether the contract was suspended). `None` when the invoice is not in the
    /// snapshot. Repeating it returns the row with `paid: true`.
    ///
    /// The payment is logged (on time or late, see [`paid_late`]) for the customer's behaviour.
    /// In the same transaction, the invoice's ladder messages still `queued` and never tried
    /// by a sender are pulled back: the message becomes `failed` with a pt-BR reason and its
    /// record `cancelled`. A message already claimed goes out (its re-check ran before).
    async fn ladder_invoice_paid(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
        paid_at: Millis,
    ) -> Result<Option<LadderReceivable>>;

    /// Records an opt-out or opt-in (current state and the log). Returns `true` when the state
    /// changed (a repeated "SAIR" is logged but changes nothing).
    async fn set_ladder_consent(
        &self,
        workspace: WorkspaceId,
        change: &ConsentChange,
        now: Millis,
    ) -> Result<bool>;

    /// The current consent of a WhatsApp id (any 9th-digit form); `None`: never stated.
    async fn ladder_consent(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Option<LadderConsent>>;

    /// The consent log of a WhatsApp id (any 9th-digit form), oldest first.
    async fn ladder_consent_log(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Vec<LadderConsent>>;
}

/// The error title of a ladder message pulled back because its invoice was paid first.
pub const PULLED_BACK_PAID: &str = "Cancelada: a fatura foi paga antes do envio";

/// Rows per multi-row INSERT of [`LadderStore::record_ladder_skips`] (8 parameters each).
pub const SKIPS_CHUNK: usize = 1000;

/// Whether a payment at `paid_at` came after its due date ended. Brazilian due dates end at
/// midnight in Brasília time (UTC−3, no daylight saving since 2019); a day's difference at the
/// edges of the other Brazilian zones does not change a subscriber's behaviour class.
pub fn paid_late(due: Date, paid_at: Millis) -> bool {
    let end = due
        .checked_add(jiff::Span::new().days(1))
        .ok()
        .and_then(|next| {
            next.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(-3)))
                .ok()
        })
        .map(|z| z.timestamp().as_millisecond());
    end.is_some_and(|end| paid_at >= end)
}

/// The payments logged for the customers of a sync chunk, read in one query, and what each
/// row's behaviour count becomes (backends compute it here rather than with a subquery per row).
#[derive(Debug, Default)]
pub struct PaymentHistory {
    by_customer: std::collections::HashMap<String, Vec<(Date, bool)>>,
}

impl PaymentHistory {
    /// The earliest due date the chunk's rows look back to (bind it in the log query).
    pub fn since(rows: &[NewReceivable]) -> Option<Date> {
        rows.iter().map(|r| history_since(r.due)).min()
    }

    /// One `ladder_payment_log` row.
    pub fn add(&mut self, customer_id: &str, due_date: &str, late: bool) -> Result<()> {
        let due = parse_date(due_date)?;
        self.by_customer
            .entry(customer_id.to_owned())
            .or_default()
            .push((due, late));
        Ok(())
    }

    /// Late payments in the 12 months before `row`'s due date, when the customer has any logged
    /// payment in that window; the row's own value otherwise (no history yet).
    pub fn late_payments(&self, row: &NewReceivable) -> u32 {
        let since = history_since(row.due);
        let mut seen = false;
        let mut late = 0;
        for &(due, was_late) in self.by_customer.get(&row.customer_id).into_iter().flatten() {
            if due >= since && due < row.due {
                seen = true;
                late += u32::from(was_late);
            }
        }
        if seen {
            late
        } else {
            row.late_payments_last_12m
        }
    }
}

/// The first due date whose payment counts for an invoice due on `due` (12 months before).
pub fn history_since(due: Date) -> Date {
    due.checked_sub(jiff::Span::new().days(365)).unwrap_or(due)
}

/// `YYYY-MM-DD`, the form dates are stored in (sorts as text).
pub fn date_text(date: Date) -> String {
    date.to_string()
}

/// Parses a stored date.
pub fn parse_date(text: &str) -> Result<Date> {
    text.parse()
        .map_err(|e| crate::StoreError::Corrupt(format!("data {text:?}: {e}")))
}

/// What was handled for the customers of one snapshot page, read in one range query and
/// merged into the page (backends read a page without per-row subqueries).
#[derive(Debug, Default)]
pub struct PageHandled {
    steps: std::collections::HashMap<String, Vec<String>>,
    last_sent: std::collections::HashMap<String, Date>,
}

impl PageHandled {
    /// One `ladder_sends` row: its customer, invoice, step, whether it was sent, and its day.
    pub fn add(
        &mut self,
        customer_id: &str,
        invoice_id: &str,
        step_key: &str,
        sent: bool,
        local_date: &str,
    ) -> Result<()> {
        self.steps
            .entry(invoice_id.to_owned())
            .or_default()
            .push(step_key.to_owned());
        if sent {
            let day = parse_date(local_date)?;
            let last = self.last_sent.entry(customer_id.to_owned()).or_insert(day);
            *last = (*last).max(day);
        }
        Ok(())
    }

    /// Sets each row's handled steps and the customer's last ladder day.
    pub fn fill(mut self, page: &mut [LadderReceivable]) {
        for row in page {
            let r = &row.receivable;
            row.handled_steps = self.steps.remove(&r.invoice_id).unwrap_or_default();
            row.last_sent_on = self.last_sent.get(&r.customer_id).copied();
        }
    }
}
