//! Webhook ingestion, set-based: a group of deliveries costs a fixed handful of statements whatever
//! its size. Each statement takes its rows as typed arrays (`unnest`, sent in binary) and does its
//! work in one round trip with data-modifying CTEs: inbound messages cost three statements
//! (senders, conversations, messages with their events), statuses two. Only the rare paths
//! (unknown numbers, messages without a wa_id, reconciliation by callback data) go row by row.
//! Runs inside the caller's transaction.
//!
//! Plans must stay right as tables grow. sqlx prepares each statement once per connection and
//! PostgreSQL switches to a generic plan after five executions, keeping it until the table's
//! statistics change — and a generic plan made while a table was small (a fresh install, or any
//! table autovacuum has not analyzed yet) is a sequential scan or a hash join over the whole
//! table, which then costs O(table) per group for as long as the connection lives. So existing
//! rows are only ever reached in ways whose plan cannot depend on the table's size: correlated
//! scalar subqueries or `LATERAL` lookups on unique indexes (one index probe per input row), and
//! `ON CONFLICT` arbiters. The one set-based `UPDATE` (statuses) is planned for its actual
//! arguments at every call instead.
//!
//! Lock order, so concurrent ingest transactions cannot deadlock each other: contacts first
//! (sorted by workspace and match key, held to the end), then the conversations of those contacts
//! (sorted; only ever touched by whoever holds the contact), then new status keys (sorted by
//! number, wamid and status), then outbound messages (sorted by number and wamid).

use crate::db_err;
use crate::write::{
    Routed, StatusFacts, Target, accept, insert_unrouted, send_error_of, target_from_row,
    without_nul,
};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{InboundMessage, StatusUpdate, WebhookBatch};
use balcao_domain::*;
use balcao_store::*;
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

type Conn = PgConnection;

fn get<'r, T, I>(row: &'r PgRow, index: I) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    I: sqlx::ColumnIndex<PgRow>,
{
    row.try_get(index).map_err(db_err)
}

/// Text as PostgreSQL can store it: without U+0000.
fn pg_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        Cow::Borrowed(text)
    }
}

/// Known `phone_number_id` → number, shared by every call of one store. A number is never deleted
/// nor moved to another workspace, so a hit stays right; misses are not kept (the number may be
/// connected later).
#[derive(Default)]
pub(crate) struct RouteCache(Mutex<HashMap<String, Routed>>);

impl RouteCache {
    fn get(&self, phone_number_id: &str) -> Option<Routed> {
        let known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.get(phone_number_id).copied()
    }

    fn insert(&self, phone_number_id: &str, routed: Routed) {
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.insert(phone_number_id.to_owned(), routed);
    }
}

/// Number lookups for one call: the shared cache, then the database (misses remembered only here).
struct Numbers<'c> {
    cache: &'c RouteCache,
    unknown: HashSet<String>,
}

impl Numbers<'_> {
    async fn route(&mut self, conn: &mut Conn, phone_number_id: &str) -> Result<Option<Routed>> {
        if let Some(known) = self.cache.get(phone_number_id) {
            return Ok(Some(known));
        }
        if self.unknown.contains(phone_number_id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, workspace_id FROM numbers WHERE phone_number_id = $1")
            .bind(phone_number_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => {
                let routed = Routed {
                    number: get(&row, 0)?,
                    workspace: get(&row, 1)?,
                };
                self.cache.insert(phone_number_id, routed);
                Ok(Some(routed))
            }
            None => {
                self.unknown.insert(phone_number_id.to_owned());
                Ok(None)
            }
        }
    }
}

pub(crate) async fn ingest(
    conn: &mut Conn,
    routes: &RouteCache,
    deliveries: &[WebhookBatch],
    now: Millis,
) -> Result<Vec<IngestReport>> {
    let mut reports = vec![IngestReport::default(); deliveries.len()];
    let mut numbers = Numbers {
        cache: routes,
        unknown: HashSet::new(),
    };
    ingest_messages(conn, &mut numbers, deliveries, now, &mut reports).await?;
    ingest_statuses(conn, &mut numbers, deliveries, now, &mut reports).await?;
    for (index, delivery) in deliveries.iter().enumerate() {
        for other in &delivery.other {
            let routed = match &other.phone_number_id {
                Some(id) => numbers.route(conn, id).await?,
                None => None,
            };
            insert_unrouted(
                conn,
                routed.map(|r| r.workspace),
                other.phone_number_id.as_deref(),
                &other.field,
                &other.raw,
                now,
            )
            .await?;
            reports[index].unrouted += 1;
        }
    }
    Ok(reports)
}

/// An inbound message seen for the first time in this group.
struct Candidate<'a> {
    delivery: usize,
    routed: Routed,
    message: &'a InboundMessage,
    /// The wamid as stored (the deduplication key).
    wamid: Cow<'a, str>,
}

/// A new inbound message with its contact, on its way in.
struct Arrival<'a> {
    candidate: Candidate<'a>,
    contact: i64,
}

async fn ingest_messages(
    conn: &mut Conn,
    numbers: &mut Numbers<'_>,
    deliveries: &[WebhookBatch],
    now: Millis,
    reports: &mut [IngestReport],
) -> Result<()> {
    // Route everything; a wamid repeated inside the group counts once.
    let mut candidates = Vec::new();
    let mut keys: HashSet<(i64, String)> = HashSet::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        for message in &delivery.messages {
            let Some(routed) = numbers.route(conn, &message.phone_number_id).await? else {
                insert_unrouted(
                    conn,
                    None,
                    Some(&message.phone_number_id),
                    "message",
                    &message.raw,
                    now,
                )
                .await?;
                reports[index].unrouted += 1;
                continue;
            };
            let wamid = pg_text(&message.wamid);
            if keys.insert((routed.number, wamid.to_string())) {
                candidates.push(Candidate {
                    delivery: index,
                    routed,
                    message,
                    wamid,
                });
            } else {
                reports[index].messages_duplicate += 1;
            }
        }
    }
    if candidates.is_empty() {
        return Ok(());
    }

    let senders = upsert_senders(conn, &candidates, now).await?;
    let mut arrivals = Vec::with_capacity(candidates.len());
    for (position, candidate) in candidates.into_iter().enumerate() {
        if senders.stored.contains(&position) {
            reports[candidate.delivery].messages_duplicate += 1;
            continue;
        }
        let message = candidate.message;
        let contact = match &message.from {
            Some(from) => senders
                .contacts
                .get(&(candidate.routed.workspace, from.match_key()))
                .copied(),
            None => {
                contact_by_user_id(conn, candidate.routed.workspace, message.user_id.as_deref())
                    .await?
            }
        };
        match contact {
            Some(contact) => arrivals.push(Arrival { candidate, contact }),
            None => {
                // Neither a wa_id nor a known user_id: nothing to attach it to, but never lose it.
                insert_unrouted(
                    conn,
                    Some(candidate.routed.workspace),
                    Some(&message.phone_number_id),
                    "message",
                    &message.raw,
                    now,
                )
                .await?;
                reports[candidate.delivery].unrouted += 1;
            }
        }
    }
    if arrivals.is_empty() {
        return Ok(());
    }

    let stored = store_messages(conn, &arrivals, now).await?;
    for arrival in &arrivals {
        let candidate = &arrival.candidate;
        let report = &mut reports[candidate.delivery];
        let key = (candidate.routed.number, candidate.wamid.to_string());
        let Some(&id) = stored.messages.get(&key) else {
            // Stored meanwhile by a concurrent writer.
            report.messages_duplicate += 1;
            continue;
        };
        let conversation = stored.conversations[&(arrival.contact, candidate.routed.number)];
        let conversation = ConversationId(conversation);
        report.messages_new += 1;
        report.new_messages.push(MessageId(id));
        let entry = (WorkspaceId(candidate.routed.workspace), conversation);
        if !report.conversations.contains(&entry) {
            report.conversations.push(entry);
        }
    }
    Ok(())
}

/// What [`upsert_senders`] learnt.
struct Senders {
    /// Positions (in the candidates) of the messages already stored.
    stored: HashSet<usize>,
    /// (workspace, match_key) → contact id, for the senders of the new messages.
    contacts: HashMap<(i64, String), i64>,
}

/// In one statement: finds which candidates are already stored (so a redelivered message touches
/// neither its contact nor its conversation), then finds or creates the contacts of the senders of
/// the others (matched on `WaId::match_key`), leaving each with the wa_id last seen and the newest
/// profile name and user id given. Contacts are locked in (workspace, match_key) order.
async fn upsert_senders(
    conn: &mut Conn,
    candidates: &[Candidate<'_>],
    now: Millis,
) -> Result<Senders> {
    let count = candidates.len();
    let mut numbers = Vec::with_capacity(count);
    let mut wamids = Vec::with_capacity(count);
    let mut workspaces = Vec::with_capacity(count);
    let mut wa_ids = Vec::with_capacity(count);
    let mut match_keys = Vec::with_capacity(count);
    let mut profile_names = Vec::with_capacity(count);
    let mut user_ids = Vec::with_capacity(count);
    for candidate in candidates {
        let message = candidate.message;
        numbers.push(candidate.routed.number);
        wamids.push(candidate.wamid.as_ref());
        workspaces.push(candidate.routed.workspace);
        wa_ids.push(message.from.as_ref().map(|from| from.as_str()));
        match_keys.push(message.from.as_ref().map(|from| from.match_key()));
        profile_names.push(message.profile_name.as_deref().map(pg_text));
        user_ids.push(message.user_id.as_deref().map(pg_text));
    }
    let rows = sqlx::query(
        r#"WITH input AS (
               -- A scalar subquery, not EXISTS: EXISTS may be planned as a hash of all messages.
               SELECT i.*,
                      (SELECT true FROM messages AS m
                       WHERE m.number_id = i.number_id AND m.wamid = i.wamid) IS NOT NULL AS stored
               FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                           $6::text[], $7::text[])
                    WITH ORDINALITY AS i(number_id, wamid, workspace_id, wa_id, match_key,
                                         profile_name, user_id, position)
           ), senders AS (
               SELECT workspace_id, match_key,
                      (array_agg(wa_id ORDER BY position DESC))[1] AS wa_id,
                      (array_agg(profile_name ORDER BY position DESC)
                           FILTER (WHERE profile_name IS NOT NULL))[1] AS profile_name,
                      (array_agg(user_id ORDER BY position DESC)
                           FILTER (WHERE user_id IS NOT NULL))[1] AS user_id
               FROM input
               WHERE NOT stored AND match_key IS NOT NULL
               GROUP BY workspace_id, match_key
           ), upserted AS (
               INSERT INTO contacts (workspace_id, wa_id, match_key, profile_name, user_id,
                                     created_at, updated_at)
               SELECT workspace_id, wa_id, match_key, profile_name, user_id, $8, $8
               FROM senders
               ORDER BY workspace_id, match_key COLLATE "C"
               ON CONFLICT (workspace_id, match_key) DO UPDATE SET
                   wa_id = excluded.wa_id,
                   profile_name = COALESCE(excluded.profile_name, contacts.profile_name),
                   user_id = COALESCE(excluded.user_id, contacts.user_id),
                   updated_at = excluded.updated_at
               RETURNING id, workspace_id, match_key
           )
           SELECT position, NULL::bigint AS id, NULL::bigint AS workspace_id, NULL::text AS match_key
           FROM input WHERE stored
           UNION ALL
           SELECT NULL, id, workspace_id, match_key FROM upserted"#,
    )
    .bind(&numbers)
    .bind(&wamids)
    .bind(&workspaces)
    .bind(&wa_ids)
    .bind(&match_keys)
    .bind(&profile_names)
    .bind(&user_ids)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut senders = Senders {
        stored: HashSet::new(),
        contacts: HashMap::with_capacity(rows.len()),
    };
    for row in &rows {
        match get::<Option<i64>, _>(row, 0)? {
            // ORDINALITY counts from 1.
            Some(position) => {
                senders.stored.insert(position as usize - 1);
            }
            None => {
                senders
                    .contacts
                    .insert((get(row, 2)?, get(row, 3)?), get(row, 1)?);
            }
        }
    }
    Ok(senders)
}

/// A message that only carries the business-scoped user id belongs to the contact that had it.
async fn contact_by_user_id(
    conn: &mut Conn,
    workspace: i64,
    user_id: Option<&str>,
) -> Result<Option<i64>> {
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT id FROM contacts WHERE workspace_id = $1 AND user_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(workspace)
    .bind(pg_text(user_id).as_ref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.map(|r| get(&r, 0)).transpose()
}

/// What [`store_messages`] wrote.
struct Stored {
    /// (contact, number) → its open conversation.
    conversations: HashMap<(i64, i64), i64>,
    /// (number, wamid) → id, of the messages inserted.
    messages: HashMap<(i64, String), i64>,
}

/// In one statement: finds the open conversation of every (contact, number) among the arrivals or
/// opens it (with the referral and time of its first message) and moves its `last_inbound_at` and
/// `last_message_at` to its newest message — one upsert, conversations locked in (contact,
/// number) order — then inserts the messages (a wamid stored meanwhile by a concurrent writer is
/// skipped) and appends a `message_in` event for each one inserted.
///
/// The conversation times move even for a message a concurrent writer stores first; that writer
/// moves them to the same value (`GREATEST`), so nothing changes.
async fn store_messages(conn: &mut Conn, arrivals: &[Arrival<'_>], now: Millis) -> Result<Stored> {
    let count = arrivals.len();
    let mut workspaces = Vec::with_capacity(count);
    let mut numbers = Vec::with_capacity(count);
    let mut contacts = Vec::with_capacity(count);
    let mut wamids = Vec::with_capacity(count);
    let mut types = Vec::with_capacity(count);
    let mut texts = Vec::with_capacity(count);
    let mut payloads = Vec::with_capacity(count);
    let mut timestamps = Vec::with_capacity(count);
    let mut referrals = Vec::with_capacity(count);
    for arrival in arrivals {
        let candidate = &arrival.candidate;
        let message = candidate.message;
        workspaces.push(candidate.routed.workspace);
        numbers.push(candidate.routed.number);
        contacts.push(arrival.contact);
        wamids.push(candidate.wamid.as_ref());
        types.push(pg_text(&message.message_type));
        texts.push(message.content.display_text().map(|t| t.replace('\0', "")));
        payloads.push(Json(without_nul(&message.raw)));
        timestamps.push(message.timestamp);
        let referral = match &message.referral {
            Some(referral) => Some(Json(
                without_nul(
                    &serde_json::to_value(referral)
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                )
                .into_owned(),
            )),
            None => None,
        };
        referrals.push(referral);
    }
    let rows = sqlx::query(
        r#"WITH input AS (
               SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                                    $5::text[], $6::text[], $7::jsonb[], $8::bigint[],
                                    $9::jsonb[])
                    WITH ORDINALITY AS i(workspace_id, number_id, contact_id, wamid,
                                         message_type, text, payload, created_at, referral,
                                         position)
           ), pairs AS (
               SELECT DISTINCT ON (contact_id, number_id)
                      contact_id, number_id, workspace_id, created_at AS opened_at, referral,
                      max(created_at) OVER (PARTITION BY contact_id, number_id) AS newest
               FROM input
               ORDER BY contact_id, number_id, position
           ), conversation AS (
               INSERT INTO conversations AS c (workspace_id, number_id, contact_id, status,
                                               opened_at, last_message_at, last_inbound_at,
                                               referral)
               SELECT workspace_id, number_id, contact_id, 'open', opened_at, newest, newest,
                      referral
               FROM pairs
               ORDER BY contact_id, number_id
               ON CONFLICT (contact_id, number_id) WHERE status = 'open' DO UPDATE SET
                   last_inbound_at = GREATEST(c.last_inbound_at, excluded.last_inbound_at),
                   last_message_at = GREATEST(c.last_message_at, excluded.last_message_at)
               RETURNING id, contact_id, number_id
           ), inserted AS (
               INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id,
                                     direction, wamid, message_type, text, payload, created_at,
                                     updated_at)
               SELECT i.workspace_id, i.number_id, c.id, i.contact_id, 'in', i.wamid,
                      i.message_type, i.text, i.payload, i.created_at, $10
               FROM input AS i
               JOIN conversation AS c ON c.contact_id = i.contact_id AND c.number_id = i.number_id
               ORDER BY i.position
               ON CONFLICT (number_id, wamid) DO NOTHING
               RETURNING id, workspace_id, number_id, conversation_id, wamid, message_type
           ), logged AS (
               INSERT INTO events (workspace_id, conversation_id, kind, message_id, data,
                                   created_at)
               SELECT workspace_id, conversation_id, 'message_in', id,
                      jsonb_build_object('wamid', wamid, 'type', message_type), $10
               FROM inserted
               ORDER BY id
           )
           SELECT false AS message, id, contact_id AS key, number_id, NULL AS wamid
           FROM conversation
           UNION ALL
           SELECT true, id, NULL, number_id, wamid FROM inserted"#,
    )
    .bind(&workspaces)
    .bind(&numbers)
    .bind(&contacts)
    .bind(&wamids)
    .bind(&types)
    .bind(&texts)
    .bind(&payloads)
    .bind(&timestamps)
    .bind(&referrals)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut stored = Stored {
        conversations: HashMap::new(),
        messages: HashMap::with_capacity(rows.len()),
    };
    for row in &rows {
        let id: i64 = get(row, "id")?;
        let number: i64 = get(row, "number_id")?;
        if get::<bool, _>(row, "message")? {
            stored.messages.insert((number, get(row, "wamid")?), id);
        } else {
            stored.conversations.insert((get(row, "key")?, number), id);
        }
    }
    Ok(stored)
}

/// What the statuses of one call do to one outbound message.
struct Applied {
    target: Target,
    changed: bool,
    pricing_category: Option<String>,
    pricing_type: Option<String>,
    billable: Option<bool>,
    error: Option<balcao_domain::outbound::SendError>,
}

/// A status routed to a connected number, with its wamid as stored.
struct RoutedStatus<'a> {
    delivery: usize,
    routed: Routed,
    update: &'a StatusUpdate,
    wamid: Cow<'a, str>,
}

/// A `status` event on its way in.
struct StatusEvent {
    workspace: i64,
    conversation: i64,
    message: i64,
    data: Value,
}

async fn ingest_statuses(
    conn: &mut Conn,
    numbers: &mut Numbers<'_>,
    deliveries: &[WebhookBatch],
    now: Millis,
    reports: &mut [IngestReport],
) -> Result<()> {
    let mut candidates: Vec<RoutedStatus> = Vec::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        for update in &delivery.statuses {
            match numbers.route(conn, &update.phone_number_id).await? {
                Some(routed) => candidates.push(RoutedStatus {
                    delivery: index,
                    routed,
                    update,
                    wamid: pg_text(&update.wamid),
                }),
                None => {
                    insert_unrouted(
                        conn,
                        None,
                        Some(&update.phone_number_id),
                        "status",
                        &update.raw,
                        now,
                    )
                    .await?;
                    reports[index].unrouted += 1;
                }
            }
        }
    }
    if candidates.is_empty() {
        return Ok(());
    }
    let (inserted, mut known) = insert_statuses(conn, &candidates, now).await?;

    // The first occurrence of a key inserted now is new; everything else is a duplicate.
    let mut inserted = inserted;
    let mut events = Vec::new();
    let mut unknown = Vec::new();
    for candidate in candidates {
        let update = candidate.update;
        let key = (
            candidate.routed.number,
            candidate.wamid.to_string(),
            update.status.as_str().to_owned(),
        );
        if !inserted.remove(&key) {
            reports[candidate.delivery].statuses_duplicate += 1;
            continue;
        }
        reports[candidate.delivery].statuses_new += 1;
        let Some(applied) = known.get_mut(&(key.0, key.1)) else {
            unknown.push(candidate);
            continue;
        };
        let facts = StatusFacts::from_update(update);
        let next = applied.target.status.advance(facts.status);
        let error = match next {
            Some(DeliveryStatus::Failed) => facts.errors.first().map(send_error_of),
            _ => None,
        };
        if let Some(status) = next {
            applied.target.status = status;
            applied.changed = true;
        }
        if facts.has_pricing() {
            applied.changed = true;
            applied.pricing_category = facts.pricing_category.or(applied.pricing_category.take());
            applied.pricing_type = facts.pricing_type.or(applied.pricing_type.take());
            applied.billable = facts.billable.or(applied.billable);
        }
        if error.is_some() {
            applied.error = error.clone();
        }
        events.push(StatusEvent {
            workspace: applied.target.workspace,
            conversation: applied.target.conversation,
            message: applied.target.id,
            data: without_nul(&json!({
                "wamid": facts.wamid,
                "status": facts.status.as_str(),
                "timestamp": facts.timestamp,
                "applied": next.is_some(),
                "error": error,
            }))
            .into_owned(),
        });
    }
    let mut changed: Vec<&Applied> = known.values().filter(|a| a.changed).collect();
    changed.sort_by_key(|a| a.target.id);
    apply_statuses(conn, &changed, &events, now).await?;

    // The wamid is not known yet. When the status carries our idempotency key and that message's
    // send answer was never recorded, the status itself tells us the wamid.
    for candidate in unknown {
        let update = candidate.update;
        let Some(key) = &update.biz_opaque_callback_data else {
            continue;
        };
        let in_flight = sqlx::query(
            "SELECT id FROM messages
             WHERE workspace_id = $1 AND idempotency_key = $2 AND number_id = $3
               AND direction = 'out' AND wamid IS NULL
               AND (status = 'sending' OR (status = 'queued' AND attempts > 0))",
        )
        .bind(candidate.routed.workspace)
        .bind(pg_text(key).as_ref())
        .bind(candidate.routed.number)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        if let Some(row) = in_flight {
            let sent_to = update
                .recipient_id
                .as_deref()
                .and_then(|r| WaId::parse(r).ok());
            // Applies every status kept for this wamid, this one included.
            accept(
                conn,
                get(&row, 0)?,
                &candidate.wamid,
                sent_to.as_ref(),
                false,
                "send_reconciled",
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// In one statement: stores the statuses (skipping (number, wamid, status) already kept) and locks,
/// in (number, wamid) order, the outbound messages their wamids belong to, so the status read here is the one
/// to advance from even when another writer applies a status to the same message concurrently.
/// Returns the keys inserted and (number, wamid) → the message as locked.
async fn insert_statuses(
    conn: &mut Conn,
    candidates: &[RoutedStatus<'_>],
    now: Millis,
) -> Result<(
    HashSet<(i64, String, String)>,
    HashMap<(i64, String), Applied>,
)> {
    let count = candidates.len();
    let mut workspaces = Vec::with_capacity(count);
    let mut numbers = Vec::with_capacity(count);
    let mut wamids = Vec::with_capacity(count);
    let mut statuses = Vec::with_capacity(count);
    let mut timestamps = Vec::with_capacity(count);
    let mut recipients = Vec::with_capacity(count);
    let mut callbacks = Vec::with_capacity(count);
    let mut categories = Vec::with_capacity(count);
    let mut pricing_types = Vec::with_capacity(count);
    let mut billables = Vec::with_capacity(count);
    let mut errors = Vec::with_capacity(count);
    let mut raws = Vec::with_capacity(count);
    for candidate in candidates {
        let update = candidate.update;
        let pricing = update.pricing.as_ref();
        workspaces.push(candidate.routed.workspace);
        numbers.push(candidate.routed.number);
        wamids.push(candidate.wamid.as_ref());
        statuses.push(update.status.as_str());
        timestamps.push(update.timestamp);
        recipients.push(update.recipient_id.as_deref().map(pg_text));
        callbacks.push(update.biz_opaque_callback_data.as_deref().map(pg_text));
        categories.push(pricing.and_then(|p| p.category.as_deref()).map(pg_text));
        pricing_types.push(pricing.and_then(|p| p.pricing_type.as_deref()).map(pg_text));
        billables.push(pricing.and_then(|p| p.billable));
        errors.push(Json(
            without_nul(
                &serde_json::to_value(&update.errors)
                    .map_err(|e| StoreError::Database(e.to_string()))?,
            )
            .into_owned(),
        ));
        raws.push(Json(without_nul(&update.raw)));
    }
    let rows = sqlx::query(
        "WITH input AS (
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                                  $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
                                  $10::boolean[], $11::jsonb[], $12::jsonb[])
                  WITH ORDINALITY AS i(workspace_id, number_id, wamid, status, timestamp,
                                       recipient_id, biz_opaque, pricing_category, pricing_type,
                                       billable, errors, raw, position)
         ), inserted AS (
             INSERT INTO message_statuses (workspace_id, number_id, wamid, status, timestamp,
                                           recipient_id, biz_opaque, pricing_category,
                                           pricing_type, billable, errors, raw, received_at)
             SELECT workspace_id, number_id, wamid, status, timestamp, recipient_id, biz_opaque,
                    pricing_category, pricing_type, billable, errors, raw, $13
             FROM input
             -- In key order: two writers inserting the same statuses wait for each other in one
             -- order, never in a cycle.
             ORDER BY number_id, wamid, status
             ON CONFLICT (number_id, wamid, status) DO NOTHING
             RETURNING number_id, wamid, status
         ), targets AS (
             -- One locking index probe per distinct (number, wamid), in that order.
             SELECT m.*
             FROM (SELECT DISTINCT number_id, wamid FROM input
                   ORDER BY number_id, wamid OFFSET 0) AS k
             CROSS JOIN LATERAL (
                 SELECT t.id, t.workspace_id, t.conversation_id, t.status, t.number_id, t.wamid
                 FROM messages AS t
                 WHERE t.number_id = k.number_id AND t.wamid = k.wamid AND t.direction = 'out'
                 FOR NO KEY UPDATE
             ) AS m
         )
         SELECT false AS target, NULL::bigint AS id, NULL::bigint AS workspace_id,
                NULL::bigint AS conversation_id, status, number_id, wamid
         FROM inserted
         UNION ALL
         SELECT true, id, workspace_id, conversation_id, status, number_id, wamid FROM targets",
    )
    .bind(&workspaces)
    .bind(&numbers)
    .bind(&wamids)
    .bind(&statuses)
    .bind(&timestamps)
    .bind(&recipients)
    .bind(&callbacks)
    .bind(&categories)
    .bind(&pricing_types)
    .bind(&billables)
    .bind(&errors)
    .bind(&raws)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut inserted = HashSet::new();
    let mut known = HashMap::new();
    for row in &rows {
        let number: i64 = get(row, "number_id")?;
        let wamid: String = get(row, "wamid")?;
        if get::<bool, _>(row, "target")? {
            known.insert(
                (number, wamid),
                Applied {
                    target: target_from_row(row)?,
                    changed: false,
                    pricing_category: None,
                    pricing_type: None,
                    billable: None,
                    error: None,
                },
            );
        } else {
            inserted.insert((number, wamid, get(row, "status")?));
        }
    }
    Ok((inserted, known))
}

/// Writes what the statuses did to their messages (already locked) and appends the `status`
/// events, in one statement. Not kept prepared: a set-based `UPDATE` is a join whose generic plan,
/// if made while `messages` was small, would scan the whole table at every call; planned for its
/// actual arguments it probes the primary key (the price is one more round trip).
async fn apply_statuses(
    conn: &mut Conn,
    changed: &[&Applied],
    events: &[StatusEvent],
    now: Millis,
) -> Result<()> {
    if changed.is_empty() && events.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = changed.iter().map(|a| a.target.id).collect();
    let statuses: Vec<&str> = changed.iter().map(|a| a.target.status.as_str()).collect();
    let categories: Vec<Option<Cow<str>>> = changed
        .iter()
        .map(|a| a.pricing_category.as_deref().map(pg_text))
        .collect();
    let pricing_types: Vec<Option<Cow<str>>> = changed
        .iter()
        .map(|a| a.pricing_type.as_deref().map(pg_text))
        .collect();
    let billables: Vec<Option<bool>> = changed.iter().map(|a| a.billable).collect();
    let codes: Vec<Option<i64>> = changed
        .iter()
        .map(|a| a.error.as_ref().map(|e| e.code))
        .collect();
    let titles: Vec<Option<Cow<str>>> = changed
        .iter()
        .map(|a| a.error.as_ref().map(|e| pg_text(&e.title)))
        .collect();
    let details: Vec<Option<Cow<str>>> = changed
        .iter()
        .map(|a| {
            a.error
                .as_ref()
                .and_then(|e| e.details.as_deref())
                .map(pg_text)
        })
        .collect();
    let event_workspaces: Vec<i64> = events.iter().map(|e| e.workspace).collect();
    let event_conversations: Vec<i64> = events.iter().map(|e| e.conversation).collect();
    let event_messages: Vec<i64> = events.iter().map(|e| e.message).collect();
    let event_data: Vec<Json<&Value>> = events.iter().map(|e| Json(&e.data)).collect();
    sqlx::query(
        "WITH updated AS (
             UPDATE messages AS m SET
                 status = t.status,
                 pricing_category = COALESCE(t.pricing_category, m.pricing_category),
                 pricing_type = COALESCE(t.pricing_type, m.pricing_type),
                 billable = COALESCE(t.billable, m.billable),
                 error_code = COALESCE(t.error_code, m.error_code),
                 error_title = COALESCE(t.error_title, m.error_title),
                 error_details = COALESCE(t.error_details, m.error_details),
                 updated_at = $13
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[],
                         $6::bigint[], $7::text[], $8::text[])
                  AS t(id, status, pricing_category, pricing_type, billable, error_code,
                       error_title, error_details)
             WHERE m.id = t.id
         )
         INSERT INTO events (workspace_id, conversation_id, kind, message_id, data, created_at)
         SELECT e.workspace_id, e.conversation_id, 'status', e.message_id, e.data, $13
         FROM unnest($9::bigint[], $10::bigint[], $11::bigint[], $12::jsonb[])
              WITH ORDINALITY AS e(workspace_id, conversation_id, message_id, data, position)
         ORDER BY e.position",
    )
    .persistent(false)
    .bind(&ids)
    .bind(&statuses)
    .bind(&categories)
    .bind(&pricing_types)
    .bind(&billables)
    .bind(&codes)
    .bind(&titles)
    .bind(&details)
    .bind(&event_workspaces)
    .bind(&event_conversations)
    .bind(&event_messages)
    .bind(&event_data)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
