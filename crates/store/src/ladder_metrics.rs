//! What the billing ladder's report reads: for every (invoice, step) record, what happened after
//! it — delivery, reply, opt-out, payment, failure, pricing — gathered in ONE keyset-paged query,
//! so a report over a million sends never holds them all (the folding is
//! `balcao_ladder::report`'s, pure). Also the moment a payment became known to the ladder.
//!
//! Contracts every backend keeps (checked by `contract_ladder_metrics`):
//! - Every method takes a [`WorkspaceId`] and never reads or writes another workspace's rows.
//! - [`LadderMetricsStore::ladder_send_facts`] returns the records whose subscriber-local date is
//!   in `from..=to`, ordered by (local date, id), strictly after `after`, at most `limit`.
//! - A reply is an inbound message of the same contact (so both 9th-digit forms of the number)
//!   created after the send and at most `follow_up_millis` later; an opt-out likewise is a
//!   consent-log entry with `opted_out` for the contact's WhatsApp id in that window.
//! - The payment times are given raw (the ladder's own record, the management system's payment
//!   event): which one to believe is a rule of the report, not of the store.

use crate::Result;
use crate::ladder::{LadderDate, LadderSendStatus};
use async_trait::async_trait;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::*;
use serde::{Deserialize, Serialize};

/// Seven days, the follow-up window the report uses for replies and opt-outs.
pub const LADDER_FOLLOW_UP_MILLIS: Millis = 7 * 24 * 3_600_000;

/// Which records a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderFactsQuery {
    /// First and last subscriber-local dates of the sends covered, inclusive.
    pub from: LadderDate,
    pub to: LadderDate,
    /// How long after a send a reply or an opt-out still counts for it.
    pub follow_up_millis: Millis,
}

/// One (invoice, step) record and what followed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderSendFacts {
    /// The `ladder_sends` id (the page key, with `local_date`).
    pub id: i64,
    pub invoice_id: String,
    pub step_key: String,
    pub status: LadderSendStatus,
    /// The A/B arm's template, when the step has variants.
    pub variant: Option<String>,
    pub detail: Option<String>,
    pub local_date: LadderDate,
    /// When the record (and its outbound message) was written.
    pub recorded_at: Millis,
    /// The invoice's due date and the customer's late payments in 12 months, from the snapshot
    /// row (as it is now); `None` when the row is gone.
    pub due: Option<LadderDate>,
    pub late_payments_last_12m: Option<u32>,
    /// The outbound message's delivery status, when a message was queued.
    pub delivery: Option<DeliveryStatus>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    /// PMP pricing recorded from the statuses (`utility`, `marketing`...) and whether billable.
    pub pricing_category: Option<String>,
    pub billable: bool,
    /// An inbound message of the contact within the follow-up window.
    pub replied: bool,
    /// An opt-out of the contact within the follow-up window.
    pub opted_out: bool,
    /// When the ladder learned the invoice was paid ([`LadderMetricsStore::record_ladder_payment_time`]).
    pub ladder_paid_at: Option<Millis>,
    /// The management system's payment event for the invoice: its payment time (often only a
    /// date, at midnight) and when the poller recorded it.
    pub payment_paid_at: Option<Millis>,
    pub payment_recorded_at: Option<Millis>,
}

#[async_trait]
pub trait LadderMetricsStore: Send + Sync + 'static {
    /// A page of the records of `query`, ordered by (local date, id), strictly after `after`.
    async fn ladder_send_facts(
        &self,
        workspace: WorkspaceId,
        query: &LadderFactsQuery,
        after: Option<(LadderDate, i64)>,
        limit: u32,
    ) -> Result<Vec<LadderSendFacts>>;

    /// Records when the ladder learned the invoice was paid (call it with
    /// `ladder_invoice_paid`). The first time wins: returns `false` when a time was already
    /// recorded or the invoice is not in the snapshot.
    async fn record_ladder_payment_time(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
        at: Millis,
    ) -> Result<bool>;
}
