//! PostgreSQL implementation of the Balcão [`Store`]: one connection pool, outbox claims with
//! `FOR UPDATE SKIP LOCKED`, timestamps as BIGINT unix milliseconds, JSON as JSONB. Several nodes
//! may share one database.

mod bot;
mod desk;
mod erp;
mod ingest;
mod ladder;
mod ladder_metrics;
mod ladder_settings;
mod migrate;
mod notify;
mod rows;
mod write;

pub use notify::{
    BUS_CHANNEL, LISTENER_APPLICATION_NAME, ListenEvent, MAX_NOTIFY_PAYLOAD, PgNotifier,
    channel_for_schema,
};

use async_trait::async_trait;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::WebhookBatch;
use balcao_domain::*;
use balcao_store::*;
use rows::{
    contact_columns, conversation_select, event_columns, message_columns, number_columns,
    workspace_columns,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{Connection, Postgres, Row, Transaction};
use std::str::FromStr;
use std::sync::Arc;

/// Conversations listed when a filter asks for `limit: 0` (the `Default` filter).
const DEFAULT_CONVERSATION_LIMIT: u32 = 100;
const MAX_CONNECTIONS: u32 = 10;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The schema every connection is confined to, when opened with [`PgStore::connect_in_schema`].
    schema: Option<String>,
    /// Webhook routing (`phone_number_id` → number), shared by the clones of this store.
    routes: Arc<ingest::RouteCache>,
}

pub(crate) fn db_err(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(error.to_string())
        }
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => StoreError::Conflict(db.message().into()),
            sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::NotFound,
            _ => StoreError::Database(error.to_string()),
        },
        _ => StoreError::Database(error.to_string()),
    }
}

fn parse_url(url: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("URL do PostgreSQL inválida: {e}")))?;
    let sslmode_chosen = url_sets_sslmode(url) || std::env::var_os("PGSSLMODE").is_some();
    if !sslmode_chosen && is_loopback(options.get_host()) {
        // TLS to this same machine protects nothing, and costs more than the encryption: sqlx 0.9
        // leaves Nagle's algorithm on, so a statement larger than one TLS record (16 KiB, below
        // the loopback MSS) waits for the server's delayed ACK — 40 ms per large group commit.
        // An explicit `sslmode` (URL or PGSSLMODE) is always obeyed.
        return Ok(options.ssl_mode(PgSslMode::Allow));
    }
    Ok(options)
}

/// Whether the URL's query names an SSL mode (`sslmode` or `ssl-mode`, as sqlx reads them).
fn url_sets_sslmode(url: &str) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
        .any(|key| key == "sslmode" || key == "ssl-mode")
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// No health check (a round trip) before each use of a pooled connection: a broken connection
/// fails its statement, which the caller sees as a database error like any other, and is dropped.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .test_before_acquire(false)
}

/// Schema names are put in SQL as identifiers, so only plain lowercase names are accepted.
fn check_schema_name(schema: &str) -> Result<()> {
    let plain = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "nome de schema inválido: {schema:?}"
        )))
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`). Does not migrate.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let pool = pool_options()
            .connect_with(parse_url(url)?)
            .await
            .map_err(db_err)?;
        Ok(PgStore {
            pool,
            schema: None,
            routes: Arc::default(),
        })
    }

    /// Connects with every connection's `search_path` set to `schema`, creating the schema when
    /// missing: isolated databases inside one (tests run in parallel this way).
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<PgStore> {
        check_schema_name(schema)?;
        let options = parse_url(url)?;
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
        conn.close().await.map_err(db_err)?;
        let pool = pool_options()
            .connect_with(options.options([("search_path", schema)]))
            .await
            .map_err(db_err)?;
        Ok(PgStore {
            pool,
            schema: Some(schema.to_owned()),
            routes: Arc::default(),
        })
    }

    /// Drops the schema given to [`PgStore::connect_in_schema`] with everything in it, and closes
    /// the pool. Does nothing to a store connected without a schema.
    pub async fn drop_schema(self) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        self.pool.close().await;
        Ok(())
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }
}

fn limit(value: u32) -> i64 {
    i64::from(value)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        migrate::run(&self.pool, now_millis()).await.map(|_| ())
    }

    async fn create_workspace(&self, new: NewWorkspace) -> Result<Workspace> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO workspaces (slug, name, time_zone, created_at) VALUES ($1, $2, $3, $4)
             RETURNING ",
            workspace_columns!()
        ))
        .bind(&new.slug)
        .bind(&new.name)
        .bind(&new.time_zone)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let workspace = rows::workspace(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(workspace)
    }

    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::workspace).transpose()
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::workspace).transpose()
    }

    async fn create_number(
        &self,
        workspace: WorkspaceId,
        new: NewNumber,
    ) -> Result<WhatsAppNumber> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO numbers (workspace_id, phone_number_id, display_phone_number, waba_id,
                                  throughput_mps, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING ",
            number_columns!()
        ))
        .bind(workspace.0)
        .bind(&new.phone_number_id)
        .bind(&new.display_phone_number)
        .bind(&new.waba_id)
        .bind(i64::from(new.throughput_mps))
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let number = rows::number(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(number)
    }

    async fn numbers(&self, workspace: WorkspaceId) -> Result<Vec<WhatsAppNumber>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            number_columns!(),
            " FROM numbers WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::number).collect()
    }

    async fn all_numbers(&self) -> Result<Vec<WhatsAppNumber>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            number_columns!(),
            " FROM numbers ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::number).collect()
    }

    async fn number_by_phone_number_id(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<WhatsAppNumber>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            number_columns!(),
            " FROM numbers WHERE phone_number_id = $1"
        ))
        .bind(phone_number_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::number).transpose()
    }

    async fn create_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        token_sha256: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO api_tokens (workspace_id, name, token_sha256, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(workspace.0)
        .bind(name)
        .bind(token_sha256)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn workspace_for_token(&self, token_sha256: &str) -> Result<Option<WorkspaceId>> {
        let row = sqlx::query("SELECT workspace_id FROM api_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get(0).map(WorkspaceId).map_err(db_err))
            .transpose()
    }

    async fn upsert_template(&self, workspace: WorkspaceId, template: Template) -> Result<()> {
        let mut tx = self.write_tx().await?;
        // Inserting from the workspace's own numbers refuses a number of another workspace.
        let written = sqlx::query(
            "INSERT INTO templates (workspace_id, number_id, name, language, category, status, body,
                                    body_params, updated_at)
             SELECT workspace_id, id, $3, $4, $5, $6, $7, $8, $9
             FROM numbers WHERE id = $2 AND workspace_id = $1
             ON CONFLICT (workspace_id, number_id, name, language) DO UPDATE SET
                 category = excluded.category, status = excluded.status, body = excluded.body,
                 body_params = excluded.body_params, updated_at = excluded.updated_at",
        )
        .bind(workspace.0)
        .bind(template.number_id.0)
        .bind(&template.name)
        .bind(&template.language)
        .bind(&template.category)
        .bind(&template.status)
        .bind(&template.body)
        .bind(i64::from(template.body_params))
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn templates(&self, workspace: WorkspaceId, number: NumberId) -> Result<Vec<Template>> {
        let rows = sqlx::query(
            "SELECT number_id, name, language, category, status, body, body_params FROM templates
             WHERE workspace_id = $1 AND number_id = $2 ORDER BY name, language",
        )
        .bind(workspace.0)
        .bind(number.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::template).collect()
    }

    async fn ingest(&self, deliveries: &[WebhookBatch], now: Millis) -> Result<Vec<IngestReport>> {
        let mut tx = self.write_tx().await?;
        let reports = ingest::ingest(&mut tx, &self.routes, deliveries, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(reports)
    }

    async fn record_dead_letter(&self, letter: NewDeadLetter) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO dead_letters (source, reason, body, received_at) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(&letter.source)
        .bind(&letter.reason)
        .bind(&letter.body)
        .bind(letter.received_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }

    async fn dead_letters(&self, limit_: u32) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, source, reason, body, received_at FROM dead_letters
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit(limit_))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::dead_letter).collect()
    }

    async fn unrouted(&self, limit_: u32) -> Result<Vec<UnroutedItem>> {
        let rows = sqlx::query(
            "SELECT id, phone_number_id, kind, raw, received_at FROM unrouted
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit(limit_))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::unrouted).collect()
    }

    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Option<Contact>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::contact).transpose()
    }

    async fn contact_by_wa_id(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Option<Contact>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = $1 AND match_key = $2"
        ))
        .bind(workspace.0)
        .bind(wa_id.match_key())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::contact).transpose()
    }

    async fn conversations(
        &self,
        workspace: WorkspaceId,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>> {
        let page = if filter.limit == 0 {
            DEFAULT_CONVERSATION_LIMIT
        } else {
            filter.limit
        };
        // Only the conditions in use are written (no `$n IS NULL OR …`), so each combination is
        // its own prepared statement whose plan can use its index: a generic plan of a catch-all
        // query cannot, and scanned every conversation of the workspace to find one contact's.
        let mut query =
            sqlx::QueryBuilder::<Postgres>::new(concat!(conversation_select!(), " WHERE "));
        match &filter.wa_id {
            // One contact's conversations, reached through the contact. The workspace is checked
            // on the contact (a conversation's contact is always of its workspace): checking it on
            // the conversations too would let the plan scan them all by workspace instead.
            Some(wa_id) => {
                query
                    .push("k.workspace_id = ")
                    .push_bind(workspace.0)
                    .push(" AND k.match_key = ")
                    .push_bind(wa_id.match_key());
            }
            None => {
                query.push("c.workspace_id = ").push_bind(workspace.0);
            }
        }
        if let Some(status) = filter.status {
            query.push(" AND c.status = ").push_bind(status.as_str());
        }
        if let Some(before) = filter.before {
            // Keyset on (last_message_at, id): `before` names the last conversation listed.
            query
                .push(
                    " AND (c.last_message_at, c.id) <
                     (SELECT b.last_message_at, b.id FROM conversations b WHERE b.id = ",
                )
                .push_bind(before.0)
                .push(" AND b.workspace_id = ")
                .push_bind(workspace.0)
                .push(")");
        }
        query
            .push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
            .push_bind(limit(page));
        let rows = query.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Option<Conversation>> {
        let row = sqlx::query(concat!(
            conversation_select!(),
            " WHERE c.workspace_id = $1 AND c.id = $2"
        ))
        .bind(workspace.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn messages(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit_: u32,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages
              WHERE workspace_id = $1 AND conversation_id = $2 AND id > $3
              ORDER BY id LIMIT $4"
        ))
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(after.map_or(0, |m| m.0))
        .bind(limit(limit_))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::message).collect()
    }

    async fn message(&self, workspace: WorkspaceId, id: MessageId) -> Result<Option<Message>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn message_by_wamid(
        &self,
        workspace: WorkspaceId,
        wamid: &str,
    ) -> Result<Option<Message>> {
        // Wamids are indexed per number: one index probe per number of the workspace.
        let row = sqlx::query(concat!(
            "SELECT m.* FROM numbers n CROSS JOIN LATERAL (SELECT ",
            message_columns!(),
            " FROM messages WHERE number_id = n.id AND wamid = $2 LIMIT 1) m
             WHERE n.workspace_id = $1 ORDER BY m.id LIMIT 1"
        ))
        .bind(workspace.0)
        .bind(wamid)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn events(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Event>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY id"
        ))
        .bind(workspace.0)
        .bind(conversation.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::event).collect()
    }

    async fn enqueue_outbound_all(
        &self,
        workspace: WorkspaceId,
        news: &[NewOutbound],
        now: Millis,
    ) -> Result<Vec<Enqueued>> {
        let mut tx = self.write_tx().await?;
        let mut all = Vec::with_capacity(news.len());
        for new in news {
            all.push(write::enqueue_outbound(&mut tx, workspace, new.clone(), now).await?);
        }
        // Nothing new (every key already used): nothing to write.
        if all.iter().any(|e| e.created) {
            tx.commit().await.map_err(db_err)?;
        }
        Ok(all)
    }

    async fn claim_outbound(
        &self,
        number: NumberId,
        now: Millis,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<OutboundJob>> {
        let mut tx = self.write_tx().await?;
        let jobs = write::claim_outbound(&mut tx, number, now, limit, lease_millis).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(jobs)
    }

    async fn record_send_outcomes(&self, outcomes: &[SendOutcome], now: Millis) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        write::record_send_outcomes(&mut tx, outcomes, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn reconcile_in_flight(
        &self,
        number: NumberId,
        now: Millis,
        resend_after_millis: i64,
    ) -> Result<(u32, u32)> {
        let mut tx = self.write_tx().await?;
        let counts = write::reconcile_in_flight(&mut tx, number, now, resend_after_millis).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn outbound_counts(&self, workspace: WorkspaceId) -> Result<Vec<(DeliveryStatus, u64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) FROM messages
             WHERE workspace_id = $1 AND direction = 'out' GROUP BY status",
        )
        .bind(workspace.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let status = rows::status(&row.try_get::<String, _>(0).map_err(db_err)?)?;
            let count: i64 = row.try_get(1).map_err(db_err)?;
            counts.push((status, count.unsigned_abs()));
        }
        counts.sort_by_key(|(status, _)| status_order(*status));
        Ok(counts)
    }

    async fn inbound_count(&self, workspace: WorkspaceId) -> Result<u64> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) FROM messages WHERE workspace_id = $1 AND direction = 'in'",
        )
        .bind(workspace.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
        Ok(count.unsigned_abs())
    }

    async fn set_erp_connection(
        &self,
        workspace: WorkspaceId,
        system: &str,
        base_url: &str,
        sealed_auth: &str,
        now: Millis,
    ) -> Result<ErpConnection> {
        self.set_erp_connection_impl(workspace, system, base_url, sealed_auth, now)
            .await
    }

    async fn erp_connection(&self, workspace: WorkspaceId) -> Result<Option<ErpConnection>> {
        self.erp_connection_impl(workspace).await
    }

    async fn all_erp_connections(&self) -> Result<Vec<ErpConnection>> {
        self.all_erp_connections_impl().await
    }

    async fn record_payments(
        &self,
        workspace: WorkspaceId,
        events: &[NewPaymentEvent],
        cursor: Millis,
        now: Millis,
    ) -> Result<Vec<PaymentEvent>> {
        self.record_payments_impl(workspace, events, cursor, now)
            .await
    }

    async fn payment_events(
        &self,
        workspace: WorkspaceId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PaymentEvent>> {
        self.payment_events_impl(workspace, after, limit).await
    }

    async fn bot_session(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<BotSession>> {
        self.bot_session_impl(workspace, conversation).await
    }

    async fn save_bot_turns(&self, turns: &[BotTurn]) -> Result<Vec<Result<Vec<Enqueued>>>> {
        self.save_bot_turns_impl(turns).await
    }

    async fn due_bot_timers(&self, now: Millis, limit: u32) -> Result<Vec<BotSession>> {
        self.due_bot_timers_impl(now, limit).await
    }

    async fn conversations_awaiting_bot(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>> {
        self.conversations_awaiting_bot_impl(limit).await
    }
}

/// Lifecycle order, for a stable listing of counts.
fn status_order(status: DeliveryStatus) -> u8 {
    match status {
        DeliveryStatus::Queued => 0,
        DeliveryStatus::Sending => 1,
        DeliveryStatus::Accepted => 2,
        DeliveryStatus::Sent => 3,
        DeliveryStatus::Delivered => 4,
        DeliveryStatus::Read => 5,
        DeliveryStatus::Failed => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssl_mode_of(url: &str) -> PgSslMode {
        parse_url(url).expect("valid URL").get_ssl_mode()
    }

    #[test]
    fn loopback_without_an_ssl_mode_skips_tls() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test?application_name=balcao",
            "postgres://postgres@[::1]:5432/test",
        ] {
            assert!(matches!(ssl_mode_of(url), PgSslMode::Allow), "{url}");
        }
    }

    #[test]
    fn an_explicit_ssl_mode_or_a_remote_host_is_left_alone() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        assert!(matches!(
            ssl_mode_of("postgres://postgres@127.0.0.1/test?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            ssl_mode_of("postgres://postgres@localhost/test?ssl-mode=verify-full"),
            PgSslMode::VerifyFull
        ));
        assert!(matches!(
            ssl_mode_of("postgres://postgres@db.example.com/test"),
            PgSslMode::Prefer
        ));
    }
}
