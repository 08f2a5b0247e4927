//! The billing ladder's report facts on SQLite: one keyset-paged query over `ladder_sends` by
//! (workspace, local date, id), each row joined by key to its snapshot row, message and payment
//! event, with two indexed existence checks (a reply, an opt-out) bounded by the follow-up window.

use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::*;
use balcao_store::*;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite};

const FACTS: &str = "
    SELECT s.id, s.invoice_id, s.step_key, s.status, s.variant, s.detail, s.local_date,
           s.created_at,
           r.due_date, r.late_payments, r.paid_at AS ladder_paid_at,
           m.status AS delivery, m.error_code, m.error_title, m.pricing_category,
           COALESCE(m.billable, 0) AS billable,
           p.paid_at AS payment_paid_at, p.recorded_at AS payment_recorded_at,
           (m.contact_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM messages i
               WHERE i.contact_id = m.contact_id AND i.direction = 'in'
                 AND i.created_at > s.created_at AND i.created_at <= s.created_at + $6
           )) AS replied,
           (m.contact_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM contacts c
               JOIN ladder_consent_log l
                 ON l.workspace_id = c.workspace_id AND l.wa_key = c.match_key
               WHERE c.id = m.contact_id AND l.opted_out = 1
                 AND l.created_at > s.created_at AND l.created_at <= s.created_at + $6
           )) AS opted_out
    FROM ladder_sends s
    LEFT JOIN ladder_receivables r
      ON r.workspace_id = s.workspace_id AND r.invoice_id = s.invoice_id
    LEFT JOIN messages m ON m.id = s.message_id
    LEFT JOIN payment_events p
      ON p.workspace_id = s.workspace_id AND p.invoice_erp_id = s.invoice_id
    WHERE s.workspace_id = $1 AND (s.local_date, s.id) > ($2, $3) AND s.local_date <= $4
    ORDER BY s.local_date, s.id
    LIMIT $5";

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(db_err)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn facts_from(row: &SqliteRow) -> Result<LadderSendFacts> {
    let status: String = get(row, "status")?;
    let local_date: String = get(row, "local_date")?;
    let due: Option<String> = get(row, "due_date")?;
    let late: Option<i64> = get(row, "late_payments")?;
    let delivery: Option<String> = get(row, "delivery")?;
    Ok(LadderSendFacts {
        id: get(row, "id")?,
        invoice_id: get(row, "invoice_id")?,
        step_key: get(row, "step_key")?,
        status: LadderSendStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        variant: get(row, "variant")?,
        detail: get(row, "detail")?,
        local_date: parse_date(&local_date)?,
        recorded_at: get(row, "created_at")?,
        due: due.as_deref().map(parse_date).transpose()?,
        late_payments_last_12m: late
            .map(|l| u32::try_from(l).map_err(|_| corrupt("late", l)))
            .transpose()?,
        delivery: delivery
            .map(|d| DeliveryStatus::parse(&d).ok_or_else(|| corrupt("delivery", &d)))
            .transpose()?,
        error_code: get(row, "error_code")?,
        error_title: get(row, "error_title")?,
        pricing_category: get(row, "pricing_category")?,
        billable: get(row, "billable")?,
        replied: get(row, "replied")?,
        opted_out: get(row, "opted_out")?,
        ladder_paid_at: get(row, "ladder_paid_at")?,
        payment_paid_at: get(row, "payment_paid_at")?,
        payment_recorded_at: get(row, "payment_recorded_at")?,
    })
}

#[async_trait]
impl LadderMetricsStore for SqliteStore {
    async fn ladder_send_facts(
        &self,
        workspace: WorkspaceId,
        query: &LadderFactsQuery,
        after: Option<(LadderDate, i64)>,
        limit: u32,
    ) -> Result<Vec<LadderSendFacts>> {
        // Ids start at 1, so `(from, 0)` precedes every record of the first day.
        let (after_date, after_id) = match after {
            Some((date, id)) if date >= query.from => (date, id),
            _ => (query.from, 0),
        };
        let rows = sqlx::query(FACTS)
            .bind(workspace.0)
            .bind(date_text(after_date))
            .bind(after_id)
            .bind(date_text(query.to))
            .bind(i64::from(limit))
            .bind(query.follow_up_millis)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        rows.iter().map(facts_from).collect()
    }

    async fn record_ladder_payment_time(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
        at: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let set = sqlx::query(
            "UPDATE ladder_receivables SET paid_at = $3
             WHERE workspace_id = $1 AND invoice_id = $2 AND paid_at IS NULL",
        )
        .bind(workspace.0)
        .bind(invoice_id)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(set > 0)
    }
}
