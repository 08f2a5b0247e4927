//! Webhook ingestion, set-based: a group of deliveries costs a handful of statements whatever its
//! size (each statement takes its rows as one JSON array, read with `json_each`), because on SQLite
//! the round trip per statement, not the row, is what limits throughput. Only the rare paths
//! (unknown numbers, messages without a wa_id, reconciliation by callback data) go row by row.
//! Runs inside the caller's `BEGIN IMMEDIATE` transaction.

use crate::db_err;
use crate::write::{
    Routed, StatusFacts, Target, accept, insert_events, insert_unrouted, send_error_of,
    target_from_row,
};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{InboundMessage, StatusUpdate, WebhookBatch};
use balcao_domain::*;
use balcao_store::*;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeMap, HashMap, HashSet};

type Conn = SqliteConnection;

fn get<'r, T, I>(row: &'r SqliteRow, index: I) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    I: sqlx::ColumnIndex<SqliteRow>,
{
    row.try_get(index).map_err(db_err)
}

/// Number lookups, cached for one call.
#[derive(Default)]
struct Numbers(HashMap<String, Option<Routed>>);

impl Numbers {
    async fn route(&mut self, conn: &mut Conn, phone_number_id: &str) -> Result<Option<Routed>> {
        if let Some(known) = self.0.get(phone_number_id) {
            return Ok(*known);
        }
        let row = sqlx::query("SELECT id, workspace_id FROM numbers WHERE phone_number_id = $1")
            .bind(phone_number_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        let routed = match row {
            Some(row) => Some(Routed {
                number: get(&row, 0)?,
                workspace: get(&row, 1)?,
            }),
            None => None,
        };
        self.0.insert(phone_number_id.to_owned(), routed);
        Ok(routed)
    }
}

pub(crate) async fn ingest(
    conn: &mut Conn,
    deliveries: &[WebhookBatch],
    now: Millis,
) -> Result<Vec<IngestReport>> {
    let mut reports = vec![IngestReport::default(); deliveries.len()];
    let mut numbers = Numbers::default();
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

/// A new inbound message on its way in.
struct Arrival<'a> {
    delivery: usize,
    routed: Routed,
    message: &'a InboundMessage,
    contact: i64,
}

async fn ingest_messages(
    conn: &mut Conn,
    numbers: &mut Numbers,
    deliveries: &[WebhookBatch],
    now: Millis,
    reports: &mut [IngestReport],
) -> Result<()> {
    // Route everything and find the wamids already stored (one query per number), so a
    // redelivered message touches neither its contact nor its conversation.
    let mut routed = Vec::new();
    let mut wamids_by_number: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        for message in &delivery.messages {
            let route = numbers.route(conn, &message.phone_number_id).await?;
            if let Some(route) = route {
                wamids_by_number
                    .entry(route.number)
                    .or_default()
                    .push(&message.wamid);
            }
            routed.push((index, route, message));
        }
    }
    if routed.is_empty() {
        return Ok(());
    }
    let mut seen: HashSet<(i64, String)> = HashSet::new();
    for (number, wamids) in &wamids_by_number {
        let rows = sqlx::query(
            "SELECT wamid FROM messages
             WHERE number_id = $1 AND wamid IN (SELECT value FROM json_each($2))",
        )
        .bind(number)
        .bind(json!(wamids).to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        for row in rows {
            seen.insert((*number, get(&row, 0)?));
        }
    }

    let mut fresh = Vec::new();
    for (index, route, message) in routed {
        let Some(route) = route else {
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
        if seen.insert((route.number, message.wamid.clone())) {
            fresh.push((index, route, message));
        } else {
            reports[index].messages_duplicate += 1;
        }
    }
    if fresh.is_empty() {
        return Ok(());
    }

    let contacts = upsert_contacts(conn, &fresh, now).await?;
    let mut arrivals = Vec::with_capacity(fresh.len());
    for (index, route, message) in fresh {
        let contact = match &message.from {
            Some(from) => contacts.get(&(route.workspace, from.match_key())).copied(),
            None => contact_by_user_id(conn, route.workspace, message.user_id.as_deref()).await?,
        };
        match contact {
            Some(contact) => arrivals.push(Arrival {
                delivery: index,
                routed: route,
                message,
                contact,
            }),
            None => {
                // Neither a wa_id nor a known user_id: nothing to attach it to, but never lose it.
                insert_unrouted(
                    conn,
                    Some(route.workspace),
                    Some(&message.phone_number_id),
                    "message",
                    &message.raw,
                    now,
                )
                .await?;
                reports[index].unrouted += 1;
            }
        }
    }
    if arrivals.is_empty() {
        return Ok(());
    }

    let conversations = open_conversations(conn, &arrivals).await?;
    let conversation_of =
        |arrival: &Arrival| conversations[&(arrival.contact, arrival.routed.number)];
    let rows: Vec<Value> = arrivals
        .iter()
        .map(|a| {
            json!([
                a.routed.workspace,
                a.routed.number,
                conversation_of(a),
                a.contact,
                a.message.wamid,
                a.message.message_type,
                a.message.content.display_text(),
                a.message.raw.to_string(),
                a.message.timestamp,
            ])
        })
        .collect();
    let inserted = sqlx::query(
        "INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id, direction,
                               wamid, message_type, text, payload, created_at, updated_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'), 'in',
                json_extract(value, '$[4]'), json_extract(value, '$[5]'),
                json_extract(value, '$[6]'), json_extract(value, '$[7]'),
                json_extract(value, '$[8]'), $2
         FROM json_each($1) WHERE true ORDER BY key
         ON CONFLICT (number_id, wamid) DO NOTHING
         RETURNING id, number_id, wamid",
    )
    .bind(Value::Array(rows).to_string())
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut ids: HashMap<(i64, String), i64> = HashMap::with_capacity(inserted.len());
    for row in &inserted {
        ids.insert((get(row, 1)?, get(row, 2)?), get(row, 0)?);
    }

    let mut events = Vec::with_capacity(ids.len());
    let mut newest: BTreeMap<i64, Millis> = BTreeMap::new();
    for arrival in &arrivals {
        let report = &mut reports[arrival.delivery];
        let Some(&id) = ids.get(&(arrival.routed.number, arrival.message.wamid.clone())) else {
            report.messages_duplicate += 1;
            continue;
        };
        let conversation = conversation_of(arrival);
        events.push(json!([
            arrival.routed.workspace,
            conversation,
            "message_in",
            id,
            json!({ "wamid": arrival.message.wamid, "type": arrival.message.message_type })
                .to_string(),
        ]));
        let at = newest
            .entry(conversation)
            .or_insert(arrival.message.timestamp);
        *at = (*at).max(arrival.message.timestamp);
        report.messages_new += 1;
        report.new_messages.push(MessageId(id));
        let entry = (
            WorkspaceId(arrival.routed.workspace),
            ConversationId(conversation),
        );
        if !report.conversations.contains(&entry) {
            report.conversations.push(entry);
        }
    }
    insert_events(conn, events, now).await?;
    let touched: Vec<Value> = newest.iter().map(|(id, at)| json!([id, at])).collect();
    if !touched.is_empty() {
        sqlx::query(
            "UPDATE conversations
             SET last_inbound_at = MAX(COALESCE(last_inbound_at, t.at), t.at),
                 last_message_at = MAX(last_message_at, t.at)
             FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at
                   FROM json_each($1)) AS t
             WHERE conversations.id = t.id",
        )
        .bind(Value::Array(touched).to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Finds or creates the contacts of the senders (matched on `WaId::match_key`), leaving each with
/// the wa_id last seen and the newest profile name and user id given. Returns
/// (workspace, match_key) → contact id.
async fn upsert_contacts(
    conn: &mut Conn,
    fresh: &[(usize, Routed, &InboundMessage)],
    now: Millis,
) -> Result<HashMap<(i64, String), i64>> {
    struct Seen<'a> {
        wa_id: &'a str,
        profile_name: Option<&'a str>,
        user_id: Option<&'a str>,
    }
    // Sorted, so concurrent writers (PostgreSQL) lock contacts in one order.
    let mut latest: BTreeMap<(i64, String), Seen> = BTreeMap::new();
    for (_, route, message) in fresh {
        let Some(from) = &message.from else { continue };
        let seen = latest
            .entry((route.workspace, from.match_key()))
            .or_insert(Seen {
                wa_id: from.as_str(),
                profile_name: None,
                user_id: None,
            });
        seen.wa_id = from.as_str();
        seen.profile_name = message.profile_name.as_deref().or(seen.profile_name);
        seen.user_id = message.user_id.as_deref().or(seen.user_id);
    }
    if latest.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Value> = latest
        .iter()
        .map(|((workspace, key), seen)| {
            json!([workspace, seen.wa_id, key, seen.profile_name, seen.user_id])
        })
        .collect();
    let returned = sqlx::query(
        "INSERT INTO contacts (workspace_id, wa_id, match_key, profile_name, user_id, created_at,
                               updated_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                json_extract(value, '$[4]'), $2, $2
         FROM json_each($1) WHERE true
         ON CONFLICT (workspace_id, match_key) DO UPDATE SET
             wa_id = excluded.wa_id,
             profile_name = COALESCE(excluded.profile_name, contacts.profile_name),
             user_id = COALESCE(excluded.user_id, contacts.user_id),
             updated_at = excluded.updated_at
         RETURNING id, workspace_id, match_key",
    )
    .bind(Value::Array(rows).to_string())
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut ids = HashMap::with_capacity(returned.len());
    for row in &returned {
        ids.insert((get(row, 1)?, get(row, 2)?), get(row, 0)?);
    }
    Ok(ids)
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
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.map(|r| get(&r, 0)).transpose()
}

/// The open conversation of every (contact, number) among the arrivals, opening the missing ones
/// (with the referral of their first message). Returns (contact, number) → conversation id.
async fn open_conversations(
    conn: &mut Conn,
    arrivals: &[Arrival<'_>],
) -> Result<HashMap<(i64, i64), i64>> {
    let contacts: Vec<i64> = arrivals
        .iter()
        .map(|a| a.contact)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut open = find_open_conversations(conn, &contacts).await?;
    let mut missing: BTreeMap<(i64, i64), &Arrival> = BTreeMap::new();
    for arrival in arrivals {
        let pair = (arrival.contact, arrival.routed.number);
        if !open.contains_key(&pair) {
            missing.entry(pair).or_insert(arrival);
        }
    }
    if missing.is_empty() {
        return Ok(open);
    }
    let mut rows = Vec::with_capacity(missing.len());
    for arrival in missing.values() {
        let referral = match &arrival.message.referral {
            Some(referral) => Some(
                serde_json::to_string(referral).map_err(|e| StoreError::Database(e.to_string()))?,
            ),
            None => None,
        };
        rows.push(json!([
            arrival.routed.workspace,
            arrival.routed.number,
            arrival.contact,
            arrival.message.timestamp,
            referral,
        ]));
    }
    let opened = sqlx::query(
        "INSERT INTO conversations (workspace_id, number_id, contact_id, status, opened_at,
                                    last_message_at, referral)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), 'open', json_extract(value, '$[3]'),
                json_extract(value, '$[3]'), json_extract(value, '$[4]')
         FROM json_each($1) WHERE true ORDER BY key
         ON CONFLICT (contact_id, number_id) WHERE status = 'open' DO NOTHING
         RETURNING id, contact_id, number_id",
    )
    .bind(Value::Array(rows).to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for row in &opened {
        open.insert((get(row, 1)?, get(row, 2)?), get(row, 0)?);
    }
    if missing.keys().any(|pair| !open.contains_key(pair)) {
        // Opened by a concurrent writer in the meantime.
        let racing: Vec<i64> = missing.keys().map(|(contact, _)| *contact).collect();
        open.extend(find_open_conversations(conn, &racing).await?);
    }
    Ok(open)
}

async fn find_open_conversations(
    conn: &mut Conn,
    contacts: &[i64],
) -> Result<HashMap<(i64, i64), i64>> {
    let rows = sqlx::query(
        "SELECT id, contact_id, number_id FROM conversations
         WHERE status = 'open' AND contact_id IN (SELECT value FROM json_each($1))",
    )
    .bind(json!(contacts).to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut open = HashMap::with_capacity(rows.len());
    for row in &rows {
        open.insert((get(row, 1)?, get(row, 2)?), get(row, 0)?);
    }
    Ok(open)
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

async fn ingest_statuses(
    conn: &mut Conn,
    numbers: &mut Numbers,
    deliveries: &[WebhookBatch],
    now: Millis,
    reports: &mut [IngestReport],
) -> Result<()> {
    let mut candidates: Vec<(usize, Routed, &StatusUpdate)> = Vec::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        for update in &delivery.statuses {
            match numbers.route(conn, &update.phone_number_id).await? {
                Some(route) => candidates.push((index, route, update)),
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
    let mut rows = Vec::with_capacity(candidates.len());
    for (_, route, update) in &candidates {
        let pricing = update.pricing.clone().unwrap_or_default();
        rows.push(json!([
            route.workspace,
            route.number,
            update.wamid,
            update.status.as_str(),
            update.timestamp,
            update.recipient_id,
            update.biz_opaque_callback_data,
            pricing.category,
            pricing.pricing_type,
            pricing.billable,
            serde_json::to_string(&update.errors)
                .map_err(|e| StoreError::Database(e.to_string()))?,
            update.raw.to_string(),
        ]));
    }
    let inserted_rows = sqlx::query(
        "INSERT INTO message_statuses (workspace_id, number_id, wamid, status, timestamp,
                                       recipient_id, biz_opaque, pricing_category, pricing_type,
                                       billable, errors, raw, received_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                json_extract(value, '$[4]'), json_extract(value, '$[5]'),
                json_extract(value, '$[6]'), json_extract(value, '$[7]'),
                json_extract(value, '$[8]'), json_extract(value, '$[9]'),
                json_extract(value, '$[10]'), json_extract(value, '$[11]'), $2
         FROM json_each($1) WHERE true ORDER BY key
         ON CONFLICT (number_id, wamid, status) DO NOTHING
         RETURNING number_id, wamid, status",
    )
    .bind(Value::Array(rows).to_string())
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut inserted: HashSet<(i64, String, String)> = HashSet::with_capacity(inserted_rows.len());
    for row in &inserted_rows {
        inserted.insert((get(row, 0)?, get(row, 1)?, get(row, 2)?));
    }
    // The first occurrence of a key inserted now is new; everything else is a duplicate.
    let mut fresh = Vec::with_capacity(inserted.len());
    for (index, route, update) in candidates {
        let key = (
            route.number,
            update.wamid.clone(),
            update.status.as_str().to_owned(),
        );
        if inserted.remove(&key) {
            reports[index].statuses_new += 1;
            fresh.push((route, update));
        } else {
            reports[index].statuses_duplicate += 1;
        }
    }
    if fresh.is_empty() {
        return Ok(());
    }

    let mut pairs: Vec<(i64, &str)> = fresh
        .iter()
        .map(|(r, u)| (r.number, u.wamid.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let pairs: Vec<Value> = pairs.iter().map(|(n, w)| json!([n, w])).collect();
    let known_rows = sqlx::query(
        "SELECT m.id, m.workspace_id, m.conversation_id, m.status, m.number_id, m.wamid
         FROM json_each($1) AS j
         CROSS JOIN messages AS m
             ON m.number_id = json_extract(j.value, '$[0]')
            AND m.wamid = json_extract(j.value, '$[1]')
         WHERE m.direction = 'out'",
    )
    .bind(Value::Array(pairs).to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut known: HashMap<(i64, String), Applied> = HashMap::with_capacity(known_rows.len());
    for row in &known_rows {
        known.insert(
            (get(row, "number_id")?, get(row, "wamid")?),
            Applied {
                target: target_from_row(row)?,
                changed: false,
                pricing_category: None,
                pricing_type: None,
                billable: None,
                error: None,
            },
        );
    }

    let mut events = Vec::new();
    let mut unknown = Vec::new();
    for (route, update) in fresh {
        let Some(applied) = known.get_mut(&(route.number, update.wamid.clone())) else {
            unknown.push((route, update));
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
        events.push(json!([
            applied.target.workspace,
            applied.target.conversation,
            "status",
            applied.target.id,
            json!({
                "wamid": facts.wamid,
                "status": facts.status.as_str(),
                "timestamp": facts.timestamp,
                "applied": next.is_some(),
                "error": error,
            })
            .to_string(),
        ]));
    }
    let mut changed: Vec<&Applied> = known.values().filter(|a| a.changed).collect();
    changed.sort_by_key(|a| a.target.id);
    let updates: Vec<Value> = changed
        .into_iter()
        .map(|a| {
            json!([
                a.target.id,
                a.target.status.as_str(),
                a.pricing_category,
                a.pricing_type,
                a.billable,
                a.error.as_ref().map(|e| e.code),
                a.error.as_ref().map(|e| &e.title),
                a.error.as_ref().and_then(|e| e.details.as_ref()),
            ])
        })
        .collect();
    if !updates.is_empty() {
        sqlx::query(
            "UPDATE messages SET
                 status = t.status,
                 pricing_category = COALESCE(t.pricing_category, messages.pricing_category),
                 pricing_type = COALESCE(t.pricing_type, messages.pricing_type),
                 billable = COALESCE(t.billable, messages.billable),
                 error_code = COALESCE(t.error_code, messages.error_code),
                 error_title = COALESCE(t.error_title, messages.error_title),
                 error_details = COALESCE(t.error_details, messages.error_details),
                 updated_at = $2
             FROM (SELECT json_extract(value, '$[0]') AS id,
                          json_extract(value, '$[1]') AS status,
                          json_extract(value, '$[2]') AS pricing_category,
                          json_extract(value, '$[3]') AS pricing_type,
                          json_extract(value, '$[4]') AS billable,
                          json_extract(value, '$[5]') AS error_code,
                          json_extract(value, '$[6]') AS error_title,
                          json_extract(value, '$[7]') AS error_details
                   FROM json_each($1)) AS t
             WHERE messages.id = t.id",
        )
        .bind(Value::Array(updates).to_string())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    insert_events(conn, events, now).await?;

    // The wamid is not known yet. When the status carries our idempotency key and that message's
    // send answer was never recorded, the status itself tells us the wamid.
    for (route, update) in unknown {
        let Some(key) = &update.biz_opaque_callback_data else {
            continue;
        };
        let in_flight = sqlx::query(
            "SELECT id FROM messages
             WHERE workspace_id = $1 AND idempotency_key = $2 AND number_id = $3
               AND direction = 'out' AND wamid IS NULL
               AND (status = 'sending' OR (status = 'queued' AND attempts > 0))",
        )
        .bind(route.workspace)
        .bind(key)
        .bind(route.number)
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
                &update.wamid,
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
