//! The billing ladder on SQLite: the receivables snapshot, the (invoice, step) records and
//! opt-outs. Every write is one `BEGIN IMMEDIATE` transaction on the single writer; a send's
//! record and its outbound message share one (see [`LadderStore::record_ladder_send`]).

use crate::{SqliteStore, db_err, write};
use async_trait::async_trait;
use balcao_domain::br::DocumentKind;
use balcao_domain::*;
use balcao_store::*;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

/// Rows per multi-row INSERT of the sync (18 parameters each, under SQLite's 32,766).
const UPSERT_CHUNK: usize = 1000;

const RECEIVABLE_COLUMNS: &str = "r.workspace_id, r.invoice_id, r.customer_id, r.customer_name, \
    r.contract_id, r.due_date, r.amount_cents, r.person, r.plan_value_cents, r.city, r.region, \
    r.late_payments, r.suspended, r.wa_id, r.time_zone, r.paid, r.removed, r.synced_at, \
    COALESCE(o.opted_out, 0) AS opted_out, \
    (SELECT group_concat(s.step_key, ' ') FROM ladder_sends s \
      WHERE s.workspace_id = r.workspace_id AND s.invoice_id = r.invoice_id) AS handled, \
    (SELECT max(s.local_date) FROM ladder_sends s \
      WHERE s.workspace_id = r.workspace_id AND s.customer_id = r.customer_id \
        AND s.status = 'sent') AS last_sent_on";
/// The page read's columns, in the order [`page_receivable_from`] reads them by index.
const PAGE_COLUMNS: &str = "r.workspace_id, r.invoice_id, r.customer_id, r.customer_name, \
    r.contract_id, r.due_date, r.amount_cents, r.person, r.plan_value_cents, r.city, r.region, \
    r.late_payments, r.suspended, r.wa_id, r.time_zone, r.paid, r.removed, r.synced_at, \
    COALESCE(o.opted_out, 0) AS opted_out";
const RECEIVABLE_FROM: &str = " FROM ladder_receivables r LEFT JOIN ladder_opt_outs o \
    ON o.workspace_id = r.workspace_id AND o.wa_key = r.wa_key";
const SEND_COLUMNS: &str = "id, workspace_id, invoice_id, customer_id, step_key, status, variant, \
    local_date, message_id, detail, created_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(db_err)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn person_text(kind: Option<DocumentKind>) -> Option<&'static str> {
    kind.map(|k| match k {
        DocumentKind::Cpf => "cpf",
        DocumentKind::Cnpj => "cnpj",
    })
}

fn person_of(text: Option<String>) -> Result<Option<DocumentKind>> {
    match text.as_deref() {
        None => Ok(None),
        Some("cpf") => Ok(Some(DocumentKind::Cpf)),
        Some("cnpj") => Ok(Some(DocumentKind::Cnpj)),
        Some(other) => Err(corrupt("person", other)),
    }
}

fn receivable_from(row: &SqliteRow) -> Result<LadderReceivable> {
    let wa_id: Option<String> = get(row, "wa_id")?;
    let late: i64 = get(row, "late_payments")?;
    let handled: Option<String> = get(row, "handled")?;
    let last_sent_on: Option<String> = get(row, "last_sent_on")?;
    let due: String = get(row, "due_date")?;
    Ok(LadderReceivable {
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        receivable: NewReceivable {
            invoice_id: get(row, "invoice_id")?,
            customer_id: get(row, "customer_id")?,
            customer_name: get(row, "customer_name")?,
            contract_id: get(row, "contract_id")?,
            due: parse_date(&due)?,
            amount_cents: get(row, "amount_cents")?,
            person: person_of(get(row, "person")?)?,
            plan_value_cents: get(row, "plan_value_cents")?,
            city: get(row, "city")?,
            region: get(row, "region")?,
            late_payments_last_12m: u32::try_from(late).map_err(|_| corrupt("late", late))?,
            suspended: get(row, "suspended")?,
            wa_id: wa_id
                .map(|w| WaId::parse(&w).map_err(|e| corrupt("wa_id", e)))
                .transpose()?,
            time_zone: get(row, "time_zone")?,
        },
        paid: get(row, "paid")?,
        removed: get(row, "removed")?,
        opted_out: get(row, "opted_out")?,
        handled_steps: handled
            .map(|h| h.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        last_sent_on: last_sent_on.as_deref().map(parse_date).transpose()?,
        synced_at: get(row, "synced_at")?,
    })
}

/// A page row (see [`PAGE_COLUMNS`]), read by column index: a million rows make name lookups
/// count. Handled steps and the last ladder day are filled by [`PageHandled::fill`].
fn page_receivable_from(row: &SqliteRow) -> Result<LadderReceivable> {
    fn at<'r, T>(row: &'r SqliteRow, index: usize) -> Result<T>
    where
        T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
    {
        row.try_get(index).map_err(db_err)
    }
    let late: i64 = at(row, 11)?;
    let wa_id: Option<&str> = at(row, 13)?;
    Ok(LadderReceivable {
        workspace_id: WorkspaceId(at(row, 0)?),
        receivable: NewReceivable {
            invoice_id: at(row, 1)?,
            customer_id: at(row, 2)?,
            customer_name: at(row, 3)?,
            contract_id: at(row, 4)?,
            due: parse_date(at(row, 5)?)?,
            amount_cents: at(row, 6)?,
            person: person_of(at(row, 7)?)?,
            plan_value_cents: at(row, 8)?,
            city: at(row, 9)?,
            region: at(row, 10)?,
            late_payments_last_12m: u32::try_from(late).map_err(|_| corrupt("late", late))?,
            suspended: at(row, 12)?,
            wa_id: wa_id
                .map(|w| WaId::parse(w).map_err(|e| corrupt("wa_id", e)))
                .transpose()?,
            time_zone: at(row, 14)?,
        },
        paid: at(row, 15)?,
        removed: at(row, 16)?,
        synced_at: at(row, 17)?,
        opted_out: at(row, 18)?,
        handled_steps: Vec::new(),
        last_sent_on: None,
    })
}

fn send_from(row: &SqliteRow) -> Result<LadderSend> {
    let status: String = get(row, "status")?;
    let local_date: String = get(row, "local_date")?;
    Ok(LadderSend {
        id: get(row, "id")?,
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        invoice_id: get(row, "invoice_id")?,
        customer_id: get(row, "customer_id")?,
        step_key: get(row, "step_key")?,
        status: LadderSendStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        variant: get(row, "variant")?,
        local_date: parse_date(&local_date)?,
        message_id: get::<Option<i64>>(row, "message_id")?.map(MessageId),
        detail: get(row, "detail")?,
        created_at: get(row, "created_at")?,
    })
}

fn consent_from(row: &SqliteRow) -> Result<LadderConsent> {
    let wa_id: String = get(row, "wa_id")?;
    Ok(LadderConsent {
        wa_id: WaId::parse(&wa_id).map_err(|e| corrupt("wa_id", e))?,
        customer_id: get(row, "customer_id")?,
        opted_out: get(row, "opted_out")?,
        source: get(row, "source")?,
        changed_at: get(row, "changed_at")?,
    })
}

async fn receivable_in(
    conn: &mut sqlx::SqliteConnection,
    workspace: WorkspaceId,
    invoice_id: &str,
) -> Result<Option<LadderReceivable>> {
    let row = sqlx::query(sql(format!(
        "SELECT {RECEIVABLE_COLUMNS}{RECEIVABLE_FROM} \
         WHERE r.workspace_id = $1 AND r.invoice_id = $2"
    )))
    .bind(workspace.0)
    .bind(invoice_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(receivable_from).transpose()
}

async fn send_by_key(
    conn: &mut sqlx::SqliteConnection,
    workspace: WorkspaceId,
    invoice_id: &str,
    step_key: &str,
) -> Result<LadderSend> {
    let row = sqlx::query(sql(format!(
        "SELECT {SEND_COLUMNS} FROM ladder_sends \
         WHERE workspace_id = $1 AND invoice_id = $2 AND step_key = $3"
    )))
    .bind(workspace.0)
    .bind(invoice_id)
    .bind(step_key)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    send_from(&row)
}

/// The logged payments of `chunk`'s customers (see [`PaymentHistory`]), in one query.
async fn payment_history(
    conn: &mut sqlx::SqliteConnection,
    workspace: WorkspaceId,
    chunk: &[NewReceivable],
) -> Result<PaymentHistory> {
    let mut history = PaymentHistory::default();
    let Some(since) = PaymentHistory::since(chunk) else {
        return Ok(history);
    };
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT customer_id, due_date, late FROM ladder_payment_log WHERE workspace_id = ",
    );
    query
        .push_bind(workspace.0)
        .push(" AND due_date >= ")
        .push_bind(date_text(since))
        .push(" AND customer_id IN (");
    let mut customers = query.separated(", ");
    let mut seen = std::collections::HashSet::new();
    for row in chunk {
        if seen.insert(row.customer_id.as_str()) {
            customers.push_bind(row.customer_id.as_str());
        }
    }
    query.push(")");
    for row in query.build().fetch_all(&mut *conn).await.map_err(db_err)? {
        history.add(
            row.try_get(0).map_err(db_err)?,
            row.try_get(1).map_err(db_err)?,
            row.try_get(2).map_err(db_err)?,
        )?;
    }
    Ok(history)
}

#[async_trait]
impl LadderStore for SqliteStore {
    async fn upsert_receivables(
        &self,
        workspace: WorkspaceId,
        rows: &[NewReceivable],
        now: Millis,
    ) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let mut written = 0;
        for chunk in rows.chunks(UPSERT_CHUNK) {
            let history = payment_history(&mut tx, workspace, chunk).await?;
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ladder_receivables (workspace_id, invoice_id, customer_id,
                    customer_name, contract_id, due_date, amount_cents, person, plan_value_cents,
                    city, region, late_payments, suspended, wa_id, wa_key, time_zone, synced_at,
                    updated_at) ",
            );
            query.push_values(chunk, |mut b, r| {
                b.push_bind(workspace.0)
                    .push_bind(&r.invoice_id)
                    .push_bind(&r.customer_id)
                    .push_bind(&r.customer_name)
                    .push_bind(&r.contract_id)
                    .push_bind(date_text(r.due))
                    .push_bind(r.amount_cents)
                    .push_bind(person_text(r.person))
                    .push_bind(r.plan_value_cents)
                    .push_bind(&r.city)
                    .push_bind(&r.region)
                    .push_bind(i64::from(history.late_payments(r)))
                    .push_bind(r.suspended)
                    .push_bind(r.wa_id.as_ref().map(|w| w.as_str().to_owned()))
                    .push_bind(r.wa_id.as_ref().map(WaId::match_key))
                    .push_bind(&r.time_zone)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (workspace_id, invoice_id) DO UPDATE SET
                    customer_id = excluded.customer_id, customer_name = excluded.customer_name,
                    contract_id = excluded.contract_id, due_date = excluded.due_date,
                    amount_cents = excluded.amount_cents, person = excluded.person,
                    plan_value_cents = excluded.plan_value_cents, city = excluded.city,
                    region = excluded.region, late_payments = excluded.late_payments,
                    suspended = excluded.suspended, wa_id = excluded.wa_id,
                    wa_key = excluded.wa_key, time_zone = excluded.time_zone,
                    synced_at = excluded.synced_at, updated_at = excluded.updated_at,
                    removed = 0",
            );
            written += query
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(written)
    }

    async fn close_unseen_receivables(
        &self,
        workspace: WorkspaceId,
        due_from: LadderDate,
        due_until: LadderDate,
        sync_started: Millis,
    ) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let closed = sqlx::query(
            "UPDATE ladder_receivables SET removed = 1, updated_at = $5
             WHERE workspace_id = $1 AND due_date >= $2 AND due_date <= $3 AND synced_at < $4
               AND removed = 0",
        )
        .bind(workspace.0)
        .bind(date_text(due_from))
        .bind(date_text(due_until))
        .bind(sync_started)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(closed)
    }

    async fn ladder_receivables_page(
        &self,
        workspace: WorkspaceId,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<LadderReceivable>> {
        let (customer, invoice) = after.unwrap_or(("", ""));
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        // The page first, then what was handled for its customers in ONE range read: two
        // per-row subqueries cost two index probes for each of a million rows.
        let rows = sqlx::query(sql(format!(
            "SELECT {PAGE_COLUMNS}{RECEIVABLE_FROM} \
             WHERE r.workspace_id = $1 AND r.paid = 0 AND r.removed = 0 \
               AND (r.customer_id, r.invoice_id) > ($2, $3) \
             ORDER BY r.customer_id, r.invoice_id LIMIT $4"
        )))
        .bind(workspace.0)
        .bind(customer)
        .bind(invoice)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let mut page = rows
            .iter()
            .map(page_receivable_from)
            .collect::<Result<Vec<_>>>()?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            return Ok(page);
        };
        let sends = sqlx::query(
            "SELECT customer_id, invoice_id, step_key, status, local_date FROM ladder_sends
             WHERE workspace_id = $1 AND customer_id >= $2 AND customer_id <= $3",
        )
        .bind(workspace.0)
        .bind(&first.receivable.customer_id)
        .bind(&last.receivable.customer_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let mut handled = PageHandled::default();
        for row in &sends {
            handled.add(
                row.try_get(0).map_err(db_err)?,
                row.try_get(1).map_err(db_err)?,
                row.try_get(2).map_err(db_err)?,
                row.try_get::<&str, _>(3).map_err(db_err)? == "sent",
                row.try_get(4).map_err(db_err)?,
            )?;
        }
        handled.fill(&mut page);
        Ok(page)
    }

    async fn ladder_receivable(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
    ) -> Result<Option<LadderReceivable>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        receivable_in(&mut conn, workspace, invoice_id).await
    }

    async fn record_ladder_send(
        &self,
        workspace: WorkspaceId,
        send: &NewLadderSend,
        outbound: Option<NewOutbound>,
        now: Millis,
    ) -> Result<LadderRecorded> {
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO ladder_sends (workspace_id, invoice_id, step_key, customer_id, status,
                                       variant, local_date, detail, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (workspace_id, invoice_id, step_key) DO NOTHING
             RETURNING id",
        )
        .bind(workspace.0)
        .bind(&send.invoice_id)
        .bind(&send.step_key)
        .bind(&send.customer_id)
        .bind(send.status.as_str())
        .bind(&send.variant)
        .bind(date_text(send.local_date))
        .bind(&send.detail)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = inserted else {
            let existing =
                send_by_key(&mut tx, workspace, &send.invoice_id, &send.step_key).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(LadderRecorded::AlreadyHandled(existing));
        };
        let id: i64 = row.try_get(0).map_err(db_err)?;
        let enqueued = match outbound {
            Some(new) => {
                let enqueued = write::enqueue_outbound(&mut tx, workspace, new, now).await?;
                sqlx::query("UPDATE ladder_sends SET message_id = $1 WHERE id = $2")
                    .bind(enqueued.message.id.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                Some(Box::new(enqueued))
            }
            None => None,
        };
        let recorded = send_by_key(&mut tx, workspace, &send.invoice_id, &send.step_key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(LadderRecorded::Recorded {
            send: recorded,
            enqueued,
        })
    }

    async fn record_ladder_skips(
        &self,
        workspace: WorkspaceId,
        sends: &[NewLadderSend],
        now: Millis,
    ) -> Result<u64> {
        if sends.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let mut written = 0;
        for chunk in sends.chunks(SKIPS_CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ladder_sends (workspace_id, invoice_id, step_key, customer_id, status,
                    variant, local_date, detail, created_at, updated_at) ",
            );
            query.push_values(chunk, |mut b, send| {
                b.push_bind(workspace.0)
                    .push_bind(&send.invoice_id)
                    .push_bind(&send.step_key)
                    .push_bind(&send.customer_id)
                    .push_bind(send.status.as_str())
                    .push_bind(&send.variant)
                    .push_bind(date_text(send.local_date))
                    .push_bind(&send.detail)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (workspace_id, invoice_id, step_key) DO NOTHING");
            written += query
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(written)
    }

    async fn ladder_sends(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
    ) -> Result<Vec<LadderSend>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {SEND_COLUMNS} FROM ladder_sends \
             WHERE workspace_id = $1 AND invoice_id = $2 ORDER BY id"
        )))
        .bind(workspace.0)
        .bind(invoice_id)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter().map(send_from).collect()
    }

    async fn ladder_sent_today(
        &self,
        workspace: WorkspaceId,
        customer_id: &str,
        local_date: LadderDate,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM ladder_sends
             WHERE workspace_id = $1 AND customer_id = $2 AND local_date = $3 AND status = 'sent'
             LIMIT 1",
        )
        .bind(workspace.0)
        .bind(customer_id)
        .bind(date_text(local_date))
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn ladder_invoice_paid(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
        now: Millis,
    ) -> Result<Option<LadderReceivable>> {
        let mut tx = self.write_tx().await?;
        let before = receivable_in(&mut tx, workspace, invoice_id).await?;
        if let Some(row) = before.as_ref().filter(|row| !row.paid) {
            let r = &row.receivable;
            sqlx::query(
                "INSERT INTO ladder_payment_log (workspace_id, invoice_id, customer_id, due_date,
                                                paid_at, late)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, invoice_id) DO NOTHING",
            )
            .bind(workspace.0)
            .bind(&r.invoice_id)
            .bind(&r.customer_id)
            .bind(date_text(r.due))
            .bind(now)
            .bind(paid_late(r.due, now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if before.is_some() {
            sqlx::query(
                "UPDATE ladder_receivables SET paid = 1, paid_at = COALESCE(paid_at, $3), updated_at = $3
                 WHERE workspace_id = $1 AND invoice_id = $2",
            )
            .bind(workspace.0)
            .bind(invoice_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            // Pull back what no sender has tried yet (claiming moves it out of 'queued'; one put
            // back with attempts may have reached WhatsApp already).
            let pulled: Vec<i64> = sqlx::query_scalar(
                "UPDATE messages SET status = 'failed', error_title = $4, updated_at = $3,
                        next_attempt_at = NULL
                 WHERE status = 'queued' AND attempts = 0 AND id IN (
                     SELECT message_id FROM ladder_sends
                     WHERE workspace_id = $1 AND invoice_id = $2 AND status = 'sent'
                       AND message_id IS NOT NULL)
                 RETURNING id",
            )
            .bind(workspace.0)
            .bind(invoice_id)
            .bind(now)
            .bind(PULLED_BACK_PAID)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            for message_id in pulled {
                sqlx::query(
                    "UPDATE ladder_sends SET status = 'cancelled', detail = $3, updated_at = $4
                     WHERE workspace_id = $1 AND message_id = $2",
                )
                .bind(workspace.0)
                .bind(message_id)
                .bind(PULLED_BACK_PAID)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(before)
    }

    async fn set_ladder_consent(
        &self,
        workspace: WorkspaceId,
        change: &ConsentChange,
        now: Millis,
    ) -> Result<bool> {
        let key = change.wa_id.match_key();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO ladder_consent_log (workspace_id, wa_key, wa_id, customer_id, opted_out,
                                             source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.0)
        .bind(&key)
        .bind(change.wa_id.as_str())
        .bind(&change.customer_id)
        .bind(change.opted_out)
        .bind(&change.source)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let changed = sqlx::query(
            "INSERT INTO ladder_opt_outs (workspace_id, wa_key, wa_id, customer_id, opted_out,
                                          source, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (workspace_id, wa_key) DO UPDATE SET
                wa_id = excluded.wa_id,
                customer_id = COALESCE(excluded.customer_id, ladder_opt_outs.customer_id),
                opted_out = excluded.opted_out, source = excluded.source,
                changed_at = excluded.changed_at
             WHERE ladder_opt_outs.opted_out <> excluded.opted_out",
        )
        .bind(workspace.0)
        .bind(&key)
        .bind(change.wa_id.as_str())
        .bind(&change.customer_id)
        .bind(change.opted_out)
        .bind(&change.source)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(changed > 0)
    }

    async fn ladder_consent(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Option<LadderConsent>> {
        let row = sqlx::query(
            "SELECT wa_id, customer_id, opted_out, source, changed_at FROM ladder_opt_outs
             WHERE workspace_id = $1 AND wa_key = $2",
        )
        .bind(workspace.0)
        .bind(wa_id.match_key())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        row.as_ref().map(consent_from).transpose()
    }

    async fn ladder_consent_log(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Vec<LadderConsent>> {
        let rows = sqlx::query(
            "SELECT wa_id, customer_id, opted_out, source, created_at AS changed_at
             FROM ladder_consent_log WHERE workspace_id = $1 AND wa_key = $2 ORDER BY id",
        )
        .bind(workspace.0)
        .bind(wa_id.match_key())
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter().map(consent_from).collect()
    }
}
