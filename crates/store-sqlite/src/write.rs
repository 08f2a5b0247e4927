//! The write paths that span several tables: the outbox, status application and the helpers
//! ingestion shares.
//! Every function here runs inside a write transaction the caller opened with `BEGIN IMMEDIATE`.

use crate::db_err;
use crate::rows::{self, message_columns};
use balcao_domain::outbound::{OutboundContent, SendError};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{Referral, StatusUpdate, WaError};
use balcao_domain::*;
use balcao_store::*;
use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use std::collections::HashMap;

type Conn = SqliteConnection;

#[derive(Clone, Copy)]
pub(crate) struct Routed {
    pub(crate) number: i64,
    pub(crate) workspace: i64,
}

pub(crate) async fn insert_unrouted(
    conn: &mut Conn,
    workspace: Option<i64>,
    phone_number_id: Option<&str>,
    kind: &str,
    raw: &Value,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO unrouted (workspace_id, phone_number_id, kind, raw, received_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(workspace)
    .bind(phone_number_id)
    .bind(kind)
    .bind(raw.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn insert_event(
    conn: &mut Conn,
    workspace: i64,
    conversation: i64,
    kind: &str,
    message: Option<i64>,
    data: &Value,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (workspace_id, conversation_id, kind, message_id, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(workspace)
    .bind(conversation)
    .bind(kind)
    .bind(message)
    .bind(data.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn find_or_open_conversation(
    conn: &mut Conn,
    routed: Routed,
    contact: i64,
    at: Millis,
    referral: Option<&Referral>,
) -> Result<i64> {
    const FIND: &str =
        "SELECT id FROM conversations WHERE contact_id = $1 AND number_id = $2 AND status = 'open'";
    let found = sqlx::query(FIND)
        .bind(contact)
        .bind(routed.number)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if let Some(row) = found {
        return row.try_get(0).map_err(db_err);
    }
    let referral = referral
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let opened = sqlx::query(
        "INSERT INTO conversations (workspace_id, number_id, contact_id, status, opened_at,
                                    last_message_at, referral)
         VALUES ($1, $2, $3, 'open', $4, $4, $5)
         ON CONFLICT (contact_id, number_id) WHERE status = 'open' DO NOTHING
         RETURNING id",
    )
    .bind(routed.workspace)
    .bind(routed.number)
    .bind(contact)
    .bind(at)
    .bind(referral)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match opened {
        Some(row) => row.try_get(0).map_err(db_err),
        None => sqlx::query(FIND)
            .bind(contact)
            .bind(routed.number)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err),
    }
}

/// What a status report says, as stored in `message_statuses`.
pub(crate) struct StatusFacts {
    pub(crate) status: DeliveryStatus,
    pub(crate) wamid: String,
    pub(crate) timestamp: Millis,
    pub(crate) pricing_category: Option<String>,
    pub(crate) pricing_type: Option<String>,
    pub(crate) billable: Option<bool>,
    pub(crate) errors: Vec<WaError>,
}

impl StatusFacts {
    pub(crate) fn from_update(update: &StatusUpdate) -> Self {
        let pricing = update.pricing.clone().unwrap_or_default();
        StatusFacts {
            status: update.status,
            wamid: update.wamid.clone(),
            timestamp: update.timestamp,
            pricing_category: pricing.category,
            pricing_type: pricing.pricing_type,
            billable: pricing.billable,
            errors: update.errors.clone(),
        }
    }

    pub(crate) fn has_pricing(&self) -> bool {
        self.pricing_category.is_some() || self.pricing_type.is_some() || self.billable.is_some()
    }
}

/// An outbound message a status can be applied to.
pub(crate) struct Target {
    pub(crate) id: i64,
    pub(crate) workspace: i64,
    pub(crate) conversation: i64,
    pub(crate) status: DeliveryStatus,
}

pub(crate) fn target_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Target> {
    Ok(Target {
        id: row.try_get("id").map_err(db_err)?,
        workspace: row.try_get("workspace_id").map_err(db_err)?,
        conversation: row.try_get("conversation_id").map_err(db_err)?,
        status: rows::status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
    })
}

pub(crate) fn send_error_of(error: &WaError) -> SendError {
    SendError {
        code: error.code,
        title: error
            .title
            .clone()
            .or_else(|| error.message.clone())
            .unwrap_or_default(),
        details: error.details.clone(),
    }
}

/// Applies one status report to an outbound message: the status moves only as
/// [`DeliveryStatus::advance`] allows, pricing is kept whenever reported, the error of a `failed`.
pub(crate) async fn apply_status(
    conn: &mut Conn,
    target: &mut Target,
    facts: &StatusFacts,
    now: Millis,
) -> Result<()> {
    let next = target.status.advance(facts.status);
    let error = match next {
        Some(DeliveryStatus::Failed) => facts.errors.first().map(send_error_of),
        _ => None,
    };
    if next.is_some() || facts.has_pricing() {
        sqlx::query(
            "UPDATE messages SET
                 status = $1,
                 pricing_category = COALESCE($2, pricing_category),
                 pricing_type = COALESCE($3, pricing_type),
                 billable = COALESCE($4, billable),
                 error_code = COALESCE($5, error_code),
                 error_title = COALESCE($6, error_title),
                 error_details = COALESCE($7, error_details),
                 updated_at = $8
             WHERE id = $9",
        )
        .bind(next.unwrap_or(target.status).as_str())
        .bind(&facts.pricing_category)
        .bind(&facts.pricing_type)
        .bind(facts.billable)
        .bind(error.as_ref().map(|e| e.code))
        .bind(error.as_ref().map(|e| e.title.clone()))
        .bind(error.as_ref().and_then(|e| e.details.clone()))
        .bind(now)
        .bind(target.id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    insert_event(
        conn,
        target.workspace,
        target.conversation,
        "status",
        Some(target.id),
        &json!({
            "wamid": facts.wamid,
            "status": facts.status.as_str(),
            "timestamp": facts.timestamp,
            "applied": next.is_some(),
            "error": error,
        }),
        now,
    )
    .await?;
    if let Some(status) = next {
        target.status = status;
    }
    Ok(())
}

/// Records the wamid of an outbound message (status `accepted`) and applies the statuses that
/// arrived for it before. With `only_sending`, does nothing unless the message is in `sending`.
/// Returns whether the message was accepted.
pub(crate) async fn accept(
    conn: &mut Conn,
    message: i64,
    wamid: &str,
    sent_wa_id: Option<&WaId>,
    only_sending: bool,
    event_kind: &str,
    now: Millis,
) -> Result<bool> {
    let row = sqlx::query(
        "UPDATE messages SET
             wamid = $1, sent_wa_id = COALESCE($2, sent_wa_id), status = 'accepted',
             lease_until = NULL, next_attempt_at = NULL,
             error_code = NULL, error_title = NULL, error_details = NULL, updated_at = $3
         WHERE id = $4 AND ($5 = 0 OR status = 'sending')
         RETURNING id, workspace_id, number_id, conversation_id, contact_id, status",
    )
    .bind(wamid)
    .bind(sent_wa_id.map(|w| w.as_str()))
    .bind(now)
    .bind(message)
    .bind(only_sending)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(false);
    };
    let mut target = target_from_row(&row)?;
    let number: i64 = row.try_get("number_id").map_err(db_err)?;
    let contact: i64 = row.try_get("contact_id").map_err(db_err)?;
    if let Some(wa_id) = sent_wa_id {
        // The wa_id WhatsApp answered with is the contact's real one (9th-digit form); only when it
        // is the same person, so the match key stays right.
        sqlx::query(
            "UPDATE contacts SET wa_id = $1, updated_at = $2
             WHERE id = $3 AND match_key = $4 AND wa_id <> $1",
        )
        .bind(wa_id.as_str())
        .bind(now)
        .bind(contact)
        .bind(wa_id.match_key())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    insert_event(
        conn,
        target.workspace,
        target.conversation,
        event_kind,
        Some(target.id),
        &json!({ "wamid": wamid, "wa_id": sent_wa_id }),
        now,
    )
    .await?;
    let pending = sqlx::query(
        "SELECT status, wamid, timestamp, pricing_category, pricing_type, billable, errors
         FROM message_statuses WHERE number_id = $1 AND wamid = $2
         ORDER BY timestamp, id",
    )
    .bind(number)
    .bind(wamid)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for row in pending {
        let facts = StatusFacts {
            status: rows::status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
            wamid: row.try_get("wamid").map_err(db_err)?,
            timestamp: row.try_get("timestamp").map_err(db_err)?,
            pricing_category: row.try_get("pricing_category").map_err(db_err)?,
            pricing_type: row.try_get("pricing_type").map_err(db_err)?,
            billable: row.try_get("billable").map_err(db_err)?,
            errors: serde_json::from_value(rows::json(
                &row.try_get::<String, _>("errors").map_err(db_err)?,
            )?)
            .map_err(|e| StoreError::Corrupt(format!("status errors: {e}")))?,
        };
        apply_status(conn, &mut target, &facts, now).await?;
    }
    Ok(true)
}

// ---- the outbox ------------------------------------------------------------------------------

pub(crate) async fn message_by_id(conn: &mut Conn, id: i64) -> Result<Message> {
    let row = sqlx::query(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    rows::message(&row)
}

async fn message_by_key(conn: &mut Conn, workspace: i64, key: &str) -> Result<Option<Message>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE workspace_id = $1 AND idempotency_key = $2"
    ))
    .bind(workspace)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(rows::message).transpose()
}

pub(crate) async fn enqueue_outbound(
    conn: &mut Conn,
    workspace: WorkspaceId,
    new: NewOutbound,
    now: Millis,
) -> Result<Enqueued> {
    let number_ok = sqlx::query("SELECT 1 FROM numbers WHERE id = $1 AND workspace_id = $2")
        .bind(new.number_id.0)
        .bind(workspace.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if number_ok.is_none() {
        return Err(StoreError::NotFound);
    }
    if let Some(key) = &new.idempotency_key
        && let Some(message) = message_by_key(conn, workspace.0, key).await?
    {
        return Ok(Enqueued {
            message,
            created: false,
        });
    }
    let contact = outbound_contact(conn, workspace.0, &new.to, now).await?;
    let routed = Routed {
        number: new.number_id.0,
        workspace: workspace.0,
    };
    let conversation = find_or_open_conversation(conn, routed, contact, now, None).await?;
    let payload =
        serde_json::to_string(&new.content).map_err(|e| StoreError::Database(e.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id, direction,
                               message_type, text, payload, status, to_wa_id, idempotency_key,
                               author, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'out', $5, $6, $7, 'queued', $8, $9, $10, 0, $11, $11, $11)
         ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
         RETURNING id",
    )
    .bind(workspace.0)
    .bind(new.number_id.0)
    .bind(conversation)
    .bind(contact)
    .bind(new.content.kind())
    .bind(new.content.display_text())
    .bind(payload)
    .bind(new.to.as_str())
    .bind(&new.idempotency_key)
    .bind(&new.author)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(row) = inserted else {
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        let message = message_by_key(conn, workspace.0, key)
            .await?
            .ok_or(StoreError::NotFound)?;
        return Ok(Enqueued {
            message,
            created: false,
        });
    };
    let id: i64 = row.try_get(0).map_err(db_err)?;
    if new.idempotency_key.is_none() {
        sqlx::query("UPDATE messages SET idempotency_key = 'msg-' || id WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    sqlx::query(
        "UPDATE conversations SET last_message_at = MAX(last_message_at, $1) WHERE id = $2",
    )
    .bind(now)
    .bind(conversation)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    insert_event(
        conn,
        workspace.0,
        conversation,
        "message_out",
        Some(id),
        &json!({ "author": new.author, "type": new.content.kind() }),
        now,
    )
    .await?;
    Ok(Enqueued {
        message: message_by_id(conn, id).await?,
        created: true,
    })
}

/// Finds the contact for a destination (any 9th-digit form) or creates it with that wa_id.
async fn outbound_contact(conn: &mut Conn, workspace: i64, to: &WaId, now: Millis) -> Result<i64> {
    const FIND: &str = "SELECT id FROM contacts WHERE workspace_id = $1 AND match_key = $2";
    let key = to.match_key();
    if let Some(row) = sqlx::query(FIND)
        .bind(workspace)
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    {
        return row.try_get(0).map_err(db_err);
    }
    let inserted = sqlx::query(
        "INSERT INTO contacts (workspace_id, wa_id, match_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (workspace_id, match_key) DO NOTHING
         RETURNING id",
    )
    .bind(workspace)
    .bind(to.as_str())
    .bind(&key)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match inserted {
        Some(row) => row.try_get(0).map_err(db_err),
        None => sqlx::query(FIND)
            .bind(workspace)
            .bind(&key)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err),
    }
}

pub(crate) async fn claim_outbound(
    conn: &mut Conn,
    number: NumberId,
    now: Millis,
    limit: u32,
    lease_millis: i64,
) -> Result<Vec<OutboundJob>> {
    let rows = sqlx::query(
        "UPDATE messages SET status = 'sending', lease_until = $1, attempts = attempts + 1,
                             updated_at = $2
         WHERE id IN (SELECT id FROM messages
                      WHERE number_id = $3 AND status = 'queued' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at, id LIMIT $4)
         RETURNING id, workspace_id, number_id, conversation_id, payload, idempotency_key,
                   attempts, next_attempt_at,
                   (SELECT wa_id FROM contacts WHERE contacts.id = messages.contact_id) AS wa_id,
                   (SELECT last_inbound_at FROM conversations
                    WHERE conversations.id = messages.conversation_id) AS last_inbound_at",
    )
    .bind(now.saturating_add(lease_millis))
    .bind(now)
    .bind(number.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let payload: String = row.try_get("payload").map_err(db_err)?;
        let content: OutboundContent = serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("outbound content: {e}")))?;
        let due: i64 = row.try_get("next_attempt_at").map_err(db_err)?;
        let job = OutboundJob {
            message_id: MessageId(row.try_get("id").map_err(db_err)?),
            workspace_id: WorkspaceId(row.try_get("workspace_id").map_err(db_err)?),
            number_id: NumberId(row.try_get("number_id").map_err(db_err)?),
            conversation_id: ConversationId(row.try_get("conversation_id").map_err(db_err)?),
            to: rows::wa_id(&row.try_get::<String, _>("wa_id").map_err(db_err)?)?,
            content,
            idempotency_key: row.try_get("idempotency_key").map_err(db_err)?,
            attempts: rows::to_u32(row.try_get("attempts").map_err(db_err)?, "attempts")?,
            last_inbound_at: row.try_get("last_inbound_at").map_err(db_err)?,
        };
        jobs.push((due, job));
    }
    // RETURNING does not keep the subquery's order.
    jobs.sort_by_key(|(due, job)| (*due, job.message_id));
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

fn error_json(error: &SendError) -> Value {
    json!({ "code": error.code, "title": error.title, "details": error.details })
}

pub(crate) async fn record_send_outcomes(
    conn: &mut Conn,
    outcomes: &[SendOutcome],
    now: Millis,
) -> Result<()> {
    for outcome in outcomes {
        match outcome {
            SendOutcome::Accepted {
                message_id,
                wamid,
                wa_id,
            } => {
                accept(
                    conn,
                    message_id.0,
                    wamid,
                    wa_id.as_ref(),
                    true,
                    "send_accepted",
                    now,
                )
                .await?;
            }
            SendOutcome::Retry {
                message_id,
                next_attempt_at,
                error,
            } => {
                let row = sqlx::query(
                    "UPDATE messages SET status = 'queued', next_attempt_at = $1,
                         lease_until = NULL, error_code = $2, error_title = $3,
                         error_details = $4, updated_at = $5
                     WHERE id = $6 AND status = 'sending'
                     RETURNING workspace_id, conversation_id, attempts",
                )
                .bind(next_attempt_at)
                .bind(error.code)
                .bind(&error.title)
                .bind(&error.details)
                .bind(now)
                .bind(message_id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                if let Some(row) = row {
                    let attempts: i64 = row.try_get(2).map_err(db_err)?;
                    let data = json!({
                        "error": error_json(error),
                        "next_attempt_at": next_attempt_at,
                        "attempts": attempts,
                    });
                    outcome_event(conn, &row, "send_retry", message_id.0, &data, now).await?;
                }
            }
            SendOutcome::Deferred {
                message_id,
                next_attempt_at,
            } => {
                let row = sqlx::query(
                    "UPDATE messages SET status = 'queued', next_attempt_at = $1,
                         lease_until = NULL, attempts = MAX(attempts - 1, 0), updated_at = $2
                     WHERE id = $3 AND status = 'sending'
                     RETURNING workspace_id, conversation_id",
                )
                .bind(next_attempt_at)
                .bind(now)
                .bind(message_id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                if let Some(row) = row {
                    let data = json!({ "next_attempt_at": next_attempt_at });
                    outcome_event(conn, &row, "send_deferred", message_id.0, &data, now).await?;
                }
            }
            SendOutcome::Failed { message_id, error } => {
                let row = sqlx::query(
                    "UPDATE messages SET status = 'failed', next_attempt_at = NULL,
                         lease_until = NULL, error_code = $1, error_title = $2,
                         error_details = $3, updated_at = $4
                     WHERE id = $5 AND status = 'sending'
                     RETURNING workspace_id, conversation_id",
                )
                .bind(error.code)
                .bind(&error.title)
                .bind(&error.details)
                .bind(now)
                .bind(message_id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                if let Some(row) = row {
                    let data = json!({ "error": error_json(error) });
                    outcome_event(conn, &row, "send_failed", message_id.0, &data, now).await?;
                }
            }
        }
    }
    Ok(())
}

async fn outcome_event(
    conn: &mut Conn,
    row: &sqlx::sqlite::SqliteRow,
    kind: &str,
    message: i64,
    data: &Value,
    now: Millis,
) -> Result<()> {
    let workspace: i64 = row.try_get("workspace_id").map_err(db_err)?;
    let conversation: i64 = row.try_get("conversation_id").map_err(db_err)?;
    insert_event(
        conn,
        workspace,
        conversation,
        kind,
        Some(message),
        data,
        now,
    )
    .await
}

pub(crate) async fn reconcile_in_flight(
    conn: &mut Conn,
    number: NumberId,
    now: Millis,
    resend_after_millis: i64,
) -> Result<(u32, u32)> {
    let expired = sqlx::query(
        "SELECT id, idempotency_key, lease_until FROM messages
         WHERE number_id = $1 AND status = 'sending' AND lease_until <= $2
         ORDER BY id",
    )
    .bind(number.0)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let (mut reconciled, mut requeued) = (0u32, 0u32);
    for row in expired {
        let id: i64 = row.try_get("id").map_err(db_err)?;
        let key: Option<String> = row.try_get("idempotency_key").map_err(db_err)?;
        let lease_until: i64 = row.try_get("lease_until").map_err(db_err)?;
        let evidence = match &key {
            Some(key) => sqlx::query(
                "SELECT wamid, recipient_id FROM message_statuses
                 WHERE number_id = $1 AND biz_opaque = $2
                 ORDER BY id LIMIT 1",
            )
            .bind(number.0)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?,
            None => None,
        };
        if let Some(evidence) = evidence {
            let wamid: String = evidence.try_get(0).map_err(db_err)?;
            let recipient: Option<String> = evidence.try_get(1).map_err(db_err)?;
            let sent_to = recipient.as_deref().and_then(|r| WaId::parse(r).ok());
            if accept(
                conn,
                id,
                &wamid,
                sent_to.as_ref(),
                true,
                "send_reconciled",
                now,
            )
            .await?
            {
                reconciled += 1;
            }
        } else if lease_until.saturating_add(resend_after_millis) <= now {
            let row = sqlx::query(
                "UPDATE messages SET status = 'queued', next_attempt_at = $1, lease_until = NULL,
                                     updated_at = $1
                 WHERE id = $2 AND status = 'sending'
                 RETURNING workspace_id, conversation_id",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
            if let Some(row) = row {
                let data = json!({ "lease_until": lease_until });
                outcome_event(conn, &row, "send_requeued", id, &data, now).await?;
                requeued += 1;
            }
        }
    }
    Ok((reconciled, requeued))
}

/// Replies into a conversation the caller already holds (a bot turn): one INSERT for all of them,
/// one conversation update and their `message_out` events returned for the caller's batch insert,
/// instead of eight statements per reply. Anything that is not a keyed reply on the
/// conversation's own number takes the general path. Returns the outcomes in order and the events
/// to append (`[workspace, conversation, kind, message, data_text]`).
pub(crate) async fn enqueue_replies(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: &OpenConversation,
    replies: &[NewOutbound],
    now: Millis,
) -> Result<(Vec<Enqueued>, Vec<Value>)> {
    if replies.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    if replies
        .iter()
        .any(|r| r.number_id.0 != conversation.number || r.idempotency_key.is_none())
    {
        let mut all = Vec::with_capacity(replies.len());
        for reply in replies {
            all.push(enqueue_outbound(conn, workspace, reply.clone(), now).await?);
        }
        return Ok((all, Vec::new()));
    }
    let mut rows = Vec::with_capacity(replies.len());
    for reply in replies {
        let payload = serde_json::to_string(&reply.content)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        rows.push(json!([
            reply.content.kind(),
            reply.content.display_text(),
            payload,
            reply.to.as_str(),
            reply.idempotency_key,
            reply.author,
        ]));
    }
    let inserted = sqlx::query(concat!(
        "INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id, direction,
                               message_type, text, payload, status, to_wa_id, idempotency_key,
                               author, attempts, next_attempt_at, created_at, updated_at)
         SELECT $2, $3, $4, $5, 'out', json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), 'queued', json_extract(value, '$[3]'),
                json_extract(value, '$[4]'), json_extract(value, '$[5]'), 0, $6, $6, $6
         FROM json_each($1) WHERE true ORDER BY key
         ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
         RETURNING ",
        message_columns!()
    ))
    .bind(Value::Array(rows).to_string())
    .bind(workspace.0)
    .bind(conversation.number)
    .bind(conversation.id)
    .bind(conversation.contact)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut created: HashMap<String, Message> = HashMap::with_capacity(inserted.len());
    for row in &inserted {
        let message = rows::message(row)?;
        let key = message.idempotency_key.clone().unwrap_or_default();
        created.insert(key, message);
    }
    let mut all = Vec::with_capacity(replies.len());
    let mut events = Vec::with_capacity(created.len());
    for reply in replies {
        let key = reply.idempotency_key.as_deref().unwrap_or_default();
        match created.remove(key) {
            Some(message) => {
                events.push(json!([
                    workspace.0,
                    conversation.id,
                    "message_out",
                    message.id.0,
                    json!({ "author": reply.author, "type": reply.content.kind() }).to_string(),
                ]));
                all.push(Enqueued {
                    message,
                    created: true,
                });
            }
            None => all.push(Enqueued {
                message: message_by_key(conn, workspace.0, key)
                    .await?
                    .ok_or(StoreError::NotFound)?,
                created: false,
            }),
        }
    }
    if !events.is_empty() {
        sqlx::query(
            "UPDATE conversations SET last_message_at = MAX(last_message_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(conversation.id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok((all, events))
}

/// The ids a reply into an existing conversation needs.
pub(crate) struct OpenConversation {
    pub id: i64,
    pub contact: i64,
    pub number: i64,
}

/// Appends events given as `[workspace, conversation, kind, message, data_text]`, in order, in
/// one statement.
pub(crate) async fn insert_events(conn: &mut Conn, events: Vec<Value>, now: Millis) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO events (workspace_id, conversation_id, kind, message_id, data, created_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                json_extract(value, '$[4]'), $2
         FROM json_each($1) ORDER BY key",
    )
    .bind(Value::Array(events).to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
