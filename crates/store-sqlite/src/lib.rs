//! SQLite implementation of the Balcão [`Store`]: one writer connection (every write transaction
//! is `BEGIN IMMEDIATE`, serialised through it) plus a pool of readers, in WAL mode with
//! `synchronous=NORMAL`. Timestamps are INTEGER unix milliseconds, JSON is TEXT.

mod bot;
mod desk;
mod erp;
mod ingest;
mod ladder;
mod ladder_metrics;
mod ladder_settings;
mod migrate;
mod rows;
mod write;

use async_trait::async_trait;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::WebhookBatch;
use balcao_domain::*;
use balcao_store::*;
use rows::{
    contact_columns, conversation_select, event_columns, message_columns, number_columns,
    workspace_columns,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Conversations listed when a filter asks for `limit: 0` (the `Default` filter).
const DEFAULT_CONVERSATION_LIMIT: u32 = 100;
const READ_CONNECTIONS: u32 = 4;

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    _temporary: Option<Arc<TemporaryFile>>,
}

/// Removes a temporary database (and its WAL files) when the last store clone is dropped.
struct TemporaryFile(PathBuf);

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
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

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Pages read through a memory map rather than a read() per page (the hot tables are
        // read far more than written), and a larger page cache per connection.
        .pragma("mmap_size", "268435456")
        .pragma("cache_size", "-16384")
}

/// A pool that keeps its connections for the life of the store.
fn pool_options(connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

impl SqliteStore {
    /// Opens (creating it when missing) the database file at `path`. Does not migrate.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let options = connect_options(path);
        // The writer first: it creates the file and switches it to WAL.
        let writer = pool_options(1)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        let reader = pool_options(READ_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(SqliteStore {
            writer,
            reader,
            _temporary: None,
        })
    }

    /// A private in-memory database: one connection serves reads and writes.
    pub async fn open_in_memory() -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = pool_options(1)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(SqliteStore {
            writer: pool.clone(),
            reader: pool,
            _temporary: None,
        })
    }

    /// A fresh database file in the system's temporary directory, removed when the store (and
    /// every clone of it) is dropped. For tests and benchmarks that want the real file setup.
    pub async fn open_temporary() -> Result<SqliteStore> {
        let path = temporary_path("store");
        let mut store = SqliteStore::open(&path).await?;
        store._temporary = Some(Arc::new(TemporaryFile(path)));
        Ok(store)
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

fn temporary_path(what: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "balcao-{what}-{}-{nanos}-{}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Rows per second of plain single-row INSERTs of a message-sized row, each in its own
/// transaction, on a fresh file at `path` with the store's settings (WAL, synchronous=NORMAL):
/// the ceiling ingestion is compared to. The file must not exist yet.
pub async fn raw_insert_benchmark(path: &Path, n: u32) -> Result<f64> {
    raw_insert_benchmark_batched(path, n, 1).await
}

/// Like [`raw_insert_benchmark`], committing every `batch` rows.
pub async fn raw_insert_benchmark_batched(path: &Path, n: u32, batch: u32) -> Result<f64> {
    if path.exists() {
        return Err(StoreError::Conflict(format!(
            "o arquivo {} já existe",
            path.display()
        )));
    }
    let mut conn = sqlx::SqliteConnection::connect_with(&connect_options(path))
        .await
        .map_err(db_err)?;
    sqlx::query(
        "CREATE TABLE bench_messages (
            id INTEGER PRIMARY KEY,
            workspace_id INTEGER NOT NULL,
            number_id INTEGER NOT NULL,
            conversation_id INTEGER NOT NULL,
            wamid TEXT NOT NULL,
            message_type TEXT NOT NULL,
            text TEXT,
            payload TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (number_id, wamid)
        ) STRICT",
    )
    .execute(&mut conn)
    .await
    .map_err(db_err)?;
    let batch = batch.max(1);
    let started = Instant::now();
    let mut written = 0u32;
    while written < n {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        for _ in 0..batch.min(n - written) {
            let wamid = format!("wamid.HBgNNTUxNjk5MjMxODIyMhUCABIYFjNFQjA{written:016}");
            let payload = format!(
                r#"{{"from":"5516992318222","id":"{wamid}","timestamp":"1750857384","type":"text","text":{{"body":"Olá, minha internet está lenta desde ontem à noite, podem verificar? Mensagem {written}"}}}}"#
            );
            sqlx::query(
                "INSERT INTO bench_messages (workspace_id, number_id, conversation_id, wamid,
                                             message_type, text, payload, created_at)
                 VALUES ($1, $2, $3, $4, 'text', $5, $6, $7)",
            )
            .bind(1i64)
            .bind(1i64)
            .bind(i64::from(written % 1000))
            .bind(&wamid)
            .bind("Olá, minha internet está lenta desde ontem à noite, podem verificar?")
            .bind(&payload)
            .bind(1_750_857_384_000i64)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            written += 1;
        }
        tx.commit().await.map_err(db_err)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    conn.close().await.map_err(db_err)?;
    Ok(f64::from(n) / seconds.max(f64::MIN_POSITIVE))
}

fn limit(value: u32) -> i64 {
    i64::from(value)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        migrate::run(&self.writer, now_millis()).await.map(|_| ())
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
        .fetch_optional(&self.reader)
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
        .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_optional(&self.reader)
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
            .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::template).collect()
    }

    async fn ingest(&self, deliveries: &[WebhookBatch], now: Millis) -> Result<Vec<IngestReport>> {
        let mut tx = self.write_tx().await?;
        let reports = ingest::ingest(&mut tx, deliveries, now).await?;
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
        .fetch_all(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_optional(&self.reader)
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
        .fetch_optional(&self.reader)
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
        // Keyset on (last_message_at, id): `before` names the last conversation already listed.
        let rows = sqlx::query(concat!(
            conversation_select!(),
            " WHERE c.workspace_id = $1
                AND ($2 IS NULL OR k.match_key = $2)
                AND ($3 IS NULL OR c.status = $3)
                AND ($4 IS NULL OR (c.last_message_at, c.id) <
                     (SELECT b.last_message_at, b.id FROM conversations b
                      WHERE b.id = $4 AND b.workspace_id = $1))
              ORDER BY c.last_message_at DESC, c.id DESC
              LIMIT $5"
        ))
        .bind(workspace.0)
        .bind(filter.wa_id.as_ref().map(WaId::match_key))
        .bind(filter.status.map(ConversationStatus::as_str))
        .bind(filter.before.map(|c| c.0))
        .bind(limit(page))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
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
        .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn message_by_wamid(
        &self,
        workspace: WorkspaceId,
        wamid: &str,
    ) -> Result<Option<Message>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE workspace_id = $1 AND wamid = $2 ORDER BY id LIMIT 1"
        ))
        .bind(workspace.0)
        .bind(wamid)
        .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_all(&self.reader)
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
        .fetch_one(&self.reader)
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
