//! The service desk on SQLite. Every write is one `BEGIN IMMEDIATE` transaction on the single
//! writer connection, so the read-check-write sequences below (assignment, claims, limits) are
//! serialised: no other writer can change an agent's count between the check and the write.

use crate::rows::json;
use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use balcao_domain::*;
use balcao_store::*;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

type Conn = SqliteConnection;

const USER_COLUMNS: &str = "u.id, u.workspace_id, u.email, u.name, u.role, u.password_hash, u.active, u.max_chats, u.hours, u.away, u.last_seen_at, u.created_at";
const QUEUE_COLUMNS: &str = "q.id, q.workspace_id, q.option_number, q.name, q.active, q.distribution, q.hours, q.out_of_hours, q.fallback_queue_id, q.accept_timeout_secs, q.created_at";
const DESK_COLUMNS: &str = "d.conversation_id, d.workspace_id, d.state, d.queue_id, d.agent_id, d.accepted, d.summary, d.queued_at, d.assigned_at, d.first_response_at, d.answered_at, d.deadline_at, d.fallback_hops, d.ooh_notified_until, d.last_seen_message_id, d.menu_failures, d.closed_at, d.closed_by, d.resolution, d.csat_state, d.grace_until, d.finished, d.unread, d.created_at AS desk_created_at, d.updated_at AS desk_updated_at";
const NOTICE_COLUMNS: &str = "id, workspace_id, conversation_id, kind, data, created_at";
/// Fallback moves after which the timer stops (queues pointing at each other).
const MAX_FALLBACK_HOPS: u32 = 3;
const DEFAULT_INBOX_LIMIT: u32 = 200;
const MAX_INBOX_LIMIT: u32 = 1000;

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(db_err)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn count(value: i64, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, value))
}

fn opt_json(text: Option<String>) -> Result<Option<Value>> {
    text.as_deref().map(json).transpose()
}

fn user_from(row: &SqliteRow) -> Result<User> {
    let role: String = get(row, "role")?;
    Ok(User {
        id: UserId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        email: get(row, "email")?,
        name: get(row, "name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        password_hash: get(row, "password_hash")?,
        active: get(row, "active")?,
        max_chats: count(get(row, "max_chats")?, "max_chats")?,
        hours: opt_json(get(row, "hours")?)?,
        away: get(row, "away")?,
        last_seen_at: get(row, "last_seen_at")?,
        created_at: get(row, "created_at")?,
    })
}

fn queue_from(row: &SqliteRow) -> Result<Queue> {
    let distribution: String = get(row, "distribution")?;
    let out_of_hours: String = get(row, "out_of_hours")?;
    let option: i64 = get(row, "option_number")?;
    Ok(Queue {
        id: QueueId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        option_number: u32::try_from(option)
            .ok()
            .and_then(OptionNumber::new)
            .ok_or_else(|| corrupt("option_number", option))?,
        name: get(row, "name")?,
        active: get(row, "active")?,
        distribution: Distribution::parse(&distribution)
            .ok_or_else(|| corrupt("distribution", &distribution))?,
        hours: opt_json(get(row, "hours")?)?,
        out_of_hours: OutOfHoursMode::parse(&out_of_hours)
            .ok_or_else(|| corrupt("out_of_hours", &out_of_hours))?,
        fallback_queue_id: get::<Option<i64>>(row, "fallback_queue_id")?.map(QueueId),
        accept_timeout_secs: get::<Option<i64>>(row, "accept_timeout_secs")?
            .map(|s| count(s, "accept_timeout_secs"))
            .transpose()?,
        created_at: get(row, "created_at")?,
    })
}

fn desk_from(row: &SqliteRow) -> Result<DeskConversation> {
    let state: String = get(row, "state")?;
    let csat: String = get(row, "csat_state")?;
    Ok(DeskConversation {
        conversation_id: ConversationId(get(row, "conversation_id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        state: DeskState::parse(&state).ok_or_else(|| corrupt("desk state", &state))?,
        queue_id: get::<Option<i64>>(row, "queue_id")?.map(QueueId),
        agent_id: get::<Option<i64>>(row, "agent_id")?.map(UserId),
        accepted: get(row, "accepted")?,
        summary: get(row, "summary")?,
        queued_at: get(row, "queued_at")?,
        assigned_at: get(row, "assigned_at")?,
        first_response_at: get(row, "first_response_at")?,
        answered_at: get(row, "answered_at")?,
        deadline_at: get(row, "deadline_at")?,
        fallback_hops: count(get(row, "fallback_hops")?, "fallback_hops")?,
        ooh_notified_until: get(row, "ooh_notified_until")?,
        last_seen_message_id: get::<Option<i64>>(row, "last_seen_message_id")?.map(MessageId),
        menu_failures: count(get(row, "menu_failures")?, "menu_failures")?,
        closed_at: get(row, "closed_at")?,
        closed_by: get::<Option<i64>>(row, "closed_by")?.map(UserId),
        resolution: get(row, "resolution")?,
        csat_state: CsatState::parse(&csat).ok_or_else(|| corrupt("csat state", &csat))?,
        grace_until: get(row, "grace_until")?,
        finished: get(row, "finished")?,
        unread: count(get(row, "unread")?, "unread")?,
        created_at: get(row, "desk_created_at")?,
        updated_at: get(row, "desk_updated_at")?,
    })
}

fn notice_from(row: &SqliteRow) -> Result<DeskNotice> {
    Ok(DeskNotice {
        id: get(row, "id")?,
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        conversation_id: ConversationId(get(row, "conversation_id")?),
        kind: get(row, "kind")?,
        data: json(&get::<String>(row, "data")?)?,
        created_at: get(row, "created_at")?,
    })
}

fn quick_reply_from(row: &SqliteRow) -> Result<QuickReply> {
    Ok(QuickReply {
        id: get(row, "id")?,
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        shortcut: get(row, "shortcut")?,
        body: get(row, "body")?,
        queue_id: get::<Option<i64>>(row, "queue_id")?.map(QueueId),
        attachment_url: get(row, "attachment_url")?,
    })
}

fn session_from(row: &SqliteRow) -> Result<UserSession> {
    Ok(UserSession {
        token_sha256: get(row, "token_sha256")?,
        user_id: UserId(get(row, "user_id")?),
        workspace_id: WorkspaceId(get(row, "session_workspace_id")?),
        csrf_token: get(row, "csrf_token")?,
        created_at: get(row, "session_created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

fn throttle_from(row: &SqliteRow) -> Result<LoginThrottle> {
    Ok(LoginThrottle {
        key: get(row, "key")?,
        failures: count(get(row, "failures")?, "failures")?,
        window_started_at: get(row, "window_started_at")?,
        locked_until: get(row, "locked_until")?,
    })
}

fn csat_from(row: &SqliteRow) -> Result<CsatRating> {
    let rating: i64 = get(row, "rating")?;
    Ok(CsatRating {
        conversation_id: ConversationId(get(row, "conversation_id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        agent_id: get::<Option<i64>>(row, "agent_id")?.map(UserId),
        queue_id: get::<Option<i64>>(row, "queue_id")?.map(QueueId),
        rating: u8::try_from(rating).map_err(|_| corrupt("rating", rating))?,
        comment: get(row, "comment")?,
        created_at: get(row, "created_at")?,
    })
}

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn hours_text(hours: &Option<Value>) -> Option<String> {
    hours.as_ref().map(Value::to_string)
}

fn email_conflict(error: sqlx::Error, email: &str) -> StoreError {
    match db_err(error) {
        StoreError::Conflict(_) => conflict(format!("o e-mail {email} já está cadastrado")),
        other => other,
    }
}

/// The timer of a conversation waiting in `queue`: only when the queue has somewhere to send it.
fn waiting_deadline(queue: &Queue, hops: u32, now: Millis) -> Option<Millis> {
    match (queue.accept_timeout_secs, queue.fallback_queue_id) {
        (Some(secs), Some(_)) if hops < MAX_FALLBACK_HOPS => Some(now + i64::from(secs) * 1000),
        _ => None,
    }
}

/// The timer of a transfer to an agent: the queue's accept timeout.
fn accept_deadline(queue: Option<&Queue>, now: Millis) -> Option<Millis> {
    queue
        .and_then(|q| q.accept_timeout_secs)
        .map(|secs| now + i64::from(secs) * 1000)
}

// ---- helpers inside a transaction ---------------------------------------------------------------

async fn append_event(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    kind: &str,
    data: Value,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (workspace_id, conversation_id, kind, message_id, data, created_at)
         VALUES ($1, $2, $3, NULL, $4, $5)",
    )
    .bind(workspace.0)
    .bind(conversation.0)
    .bind(kind)
    .bind(data.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn append_notice(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    kind: &str,
    data: Value,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO desk_notices (workspace_id, conversation_id, kind, data, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(workspace.0)
    .bind(conversation.0)
    .bind(kind)
    .bind(data.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn desk_in(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
) -> Result<Option<DeskConversation>> {
    sqlx::query(sql(format!(
        "SELECT {DESK_COLUMNS} FROM desk_conversations d
         WHERE d.workspace_id = $1 AND d.conversation_id = $2"
    )))
    .bind(workspace.0)
    .bind(conversation.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(desk_from)
    .transpose()
}

async fn desk_required(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
) -> Result<DeskConversation> {
    desk_in(conn, workspace, conversation)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn queue_in(conn: &mut Conn, workspace: WorkspaceId, id: QueueId) -> Result<Option<Queue>> {
    sqlx::query(sql(format!(
        "SELECT {QUEUE_COLUMNS} FROM queues q WHERE q.workspace_id = $1 AND q.id = $2"
    )))
    .bind(workspace.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(queue_from)
    .transpose()
}

async fn user_in(conn: &mut Conn, workspace: WorkspaceId, id: UserId) -> Result<Option<User>> {
    sqlx::query(sql(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.workspace_id = $1 AND u.id = $2"
    )))
    .bind(workspace.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(user_from)
    .transpose()
}

async fn open_chats(conn: &mut Conn, user: UserId) -> Result<u32> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) FROM desk_conversations WHERE agent_id = $1 AND state = 'assigned'",
    )
    .bind(user.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?
    .try_get(0)
    .map_err(db_err)?;
    count(n, "open chats")
}

async fn is_member(conn: &mut Conn, queue: QueueId, user: UserId) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM queue_members WHERE queue_id = $1 AND user_id = $2")
            .bind(queue.0)
            .bind(user.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .is_some(),
    )
}

async fn conversation_exists(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM conversations WHERE id = $1 AND workspace_id = $2")
            .bind(conversation.0)
            .bind(workspace.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .is_some(),
    )
}

/// Refuses an agent who cannot take one more conversation.
async fn check_capacity(conn: &mut Conn, user: &User) -> Result<()> {
    if !user.active {
        return Err(conflict(format!("{} está inativo", user.name)));
    }
    let open = open_chats(conn, user.id).await?;
    if open >= user.max_chats {
        return Err(conflict(format!(
            "{} já está com {open} conversas (limite de {})",
            user.name, user.max_chats
        )));
    }
    Ok(())
}

async fn bump_round_robin(conn: &mut Conn, workspace: WorkspaceId, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE users SET last_assigned_seq =
             (SELECT COALESCE(MAX(last_assigned_seq), 0) + 1 FROM users WHERE workspace_id = $1)
         WHERE id = $2",
    )
    .bind(workspace.0)
    .bind(user.0)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Gives a queued conversation to `agent` (already checked), with its event and notice.
async fn give_to(
    conn: &mut Conn,
    desk: &DeskConversation,
    agent: UserId,
    kind: &str,
    now: Millis,
) -> Result<DeskConversation> {
    sqlx::query(
        "UPDATE desk_conversations SET state = 'assigned', agent_id = $2, accepted = 1,
             assigned_at = $3, answered_at = NULL, deadline_at = NULL, updated_at = $3
         WHERE conversation_id = $1",
    )
    .bind(desk.conversation_id.0)
    .bind(agent.0)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    bump_round_robin(conn, desk.workspace_id, agent).await?;
    append_event(
        conn,
        desk.workspace_id,
        desk.conversation_id,
        kind,
        json!({ "agent_id": agent, "queue_id": desk.queue_id }),
        now,
    )
    .await?;
    append_notice(
        conn,
        desk.workspace_id,
        desk.conversation_id,
        "agent_start",
        json!({ "agent_id": agent }),
        now,
    )
    .await?;
    desk_required(conn, desk.workspace_id, desk.conversation_id).await
}

/// Puts a conversation in `queue` as queued (agent cleared).
#[allow(clippy::too_many_arguments)]
async fn requeue(
    conn: &mut Conn,
    desk: &DeskConversation,
    queue: &Queue,
    queued_at: Millis,
    hops: u32,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE desk_conversations SET state = 'queued', queue_id = $2, agent_id = NULL,
             accepted = 0, queued_at = $3, answered_at = NULL, deadline_at = $4,
             fallback_hops = $5, updated_at = $6
         WHERE conversation_id = $1",
    )
    .bind(desk.conversation_id.0)
    .bind(queue.id.0)
    .bind(queued_at)
    .bind(waiting_deadline(queue, hops, now))
    .bind(i64::from(hops))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn set_cursor(
    conn: &mut Conn,
    conversation: ConversationId,
    handled: Option<MessageId>,
) -> Result<()> {
    if let Some(handled) = handled {
        sqlx::query(
            "UPDATE desk_conversations
             SET last_seen_message_id = MAX(COALESCE(last_seen_message_id, 0), $2)
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(handled.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

fn state_conflict(desk: &DeskConversation) -> StoreError {
    conflict(match desk.state {
        DeskState::Menu => "a conversa ainda está no menu de filas",
        DeskState::Queued => "a conversa está aguardando na fila",
        DeskState::Assigned => "esta conversa já foi assumida por um atendente",
        DeskState::Closed => "a conversa está encerrada",
    })
}

fn ids(rows: Vec<SqliteRow>) -> Result<Vec<(WorkspaceId, i64)>> {
    rows.iter()
        .map(|row| {
            Ok((
                WorkspaceId(row.try_get(0).map_err(db_err)?),
                row.try_get(1).map_err(db_err)?,
            ))
        })
        .collect()
}

impl SqliteStore {
    async fn read_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        sqlx::query(sql(format!(
            "SELECT {DESK_COLUMNS} FROM desk_conversations d
             WHERE d.workspace_id = $1 AND d.conversation_id = $2"
        )))
        .bind(workspace.0)
        .bind(conversation.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(desk_from)
        .transpose()
    }
}

#[async_trait]
impl DeskStore for SqliteStore {
    async fn create_user(&self, workspace: WorkspaceId, new: NewUser, now: Millis) -> Result<User> {
        let email = normalize_email(&new.email);
        if new.max_chats == 0 {
            return Err(conflict(
                "o limite de conversas simultâneas deve ser ao menos 1",
            ));
        }
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (workspace_id, email, name, role, password_hash, max_chats, hours,
                                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(workspace.0)
        .bind(&email)
        .bind(new.name.trim())
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(i64::from(new.max_chats))
        .bind(hours_text(&new.hours))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| email_conflict(e, &email))?
        .try_get(0)
        .map_err(db_err)?;
        let user = user_in(&mut tx, workspace, UserId(id))
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }

    async fn update_user(
        &self,
        workspace: WorkspaceId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User> {
        if patch.max_chats == Some(0) {
            return Err(conflict(
                "o limite de conversas simultâneas deve ser ao menos 1",
            ));
        }
        let email = patch.email.as_deref().map(normalize_email);
        let mut tx = self.write_tx().await?;
        let changed = sqlx::query(
            "UPDATE users SET email = COALESCE($3, email), name = COALESCE($4, name),
                 role = COALESCE($5, role), password_hash = COALESCE($6, password_hash),
                 active = COALESCE($7, active), max_chats = COALESCE($8, max_chats),
                 hours = CASE WHEN $9 THEN $10 ELSE hours END
             WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.0)
        .bind(workspace.0)
        .bind(&email)
        .bind(patch.name.as_deref().map(str::trim))
        .bind(patch.role.map(Role::as_str))
        .bind(&patch.password_hash)
        .bind(patch.active)
        .bind(patch.max_chats.map(i64::from))
        .bind(patch.hours.is_some())
        .bind(patch.hours.as_ref().and_then(hours_text))
        .execute(&mut *tx)
        .await
        .map_err(|e| email_conflict(e, email.as_deref().unwrap_or_default()))?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let user = user_in(&mut tx, workspace, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }

    async fn user(&self, workspace: WorkspaceId, id: UserId) -> Result<Option<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.workspace_id = $1 AND u.id = $2"
        )))
        .bind(workspace.0)
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.workspace_id = $1 ORDER BY u.name, u.id"
        )))
        .bind(workspace.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(user_from)
        .collect()
    }

    async fn user_by_email(&self, workspace: WorkspaceId, email: &str) -> Result<Option<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.workspace_id = $1 AND u.email = $2"
        )))
        .bind(workspace.0)
        .bind(normalize_email(email))
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1 ORDER BY u.workspace_id"
        )))
        .bind(normalize_email(email))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(user_from)
        .collect()
    }

    async fn create_user_session(
        &self,
        workspace: WorkspaceId,
        session: NewUserSession,
    ) -> Result<UserSession> {
        let mut tx = self.write_tx().await?;
        let written = sqlx::query(
            "INSERT INTO user_sessions (token_sha256, user_id, workspace_id, csrf_token,
                                        created_at, expires_at)
             SELECT $1, id, workspace_id, $3, $4, $5 FROM users
             WHERE id = $2 AND workspace_id = $6",
        )
        .bind(&session.token_sha256)
        .bind(session.user_id.0)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(workspace.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(UserSession {
            token_sha256: session.token_sha256,
            user_id: session.user_id,
            workspace_id: workspace,
            csrf_token: session.csrf_token,
            created_at: session.created_at,
            expires_at: session.expires_at,
        })
    }

    async fn user_session(
        &self,
        token_sha256: &str,
        now: Millis,
    ) -> Result<Option<(UserSession, User)>> {
        let row = sqlx::query(sql(format!(
            "SELECT s.token_sha256, s.user_id, s.workspace_id AS session_workspace_id,
                    s.csrf_token, s.created_at AS session_created_at, s.expires_at,
                    {USER_COLUMNS}
             FROM user_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND u.active = 1"
        )))
        .bind(token_sha256)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        row.map(|row| Ok((session_from(&row)?, user_from(&row)?)))
            .transpose()
    }

    async fn delete_user_session(&self, token_sha256: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM user_sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_user_sessions(&self, workspace: WorkspaceId, user: UserId) -> Result<u32> {
        let mut tx = self.write_tx().await?;
        let done =
            sqlx::query("DELETE FROM user_sessions WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace.0)
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() as u32)
    }

    async fn purge_expired_sessions(&self, now: Millis) -> Result<u32> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM user_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() as u32)
    }

    async fn create_user_token(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        name: &str,
        token_sha256: &str,
        now: Millis,
    ) -> Result<UserToken> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO user_tokens (token_sha256, user_id, workspace_id, name, created_at)
             SELECT $1, id, workspace_id, $3, $4 FROM users WHERE id = $2 AND workspace_id = $5
             RETURNING id",
        )
        .bind(token_sha256)
        .bind(user.0)
        .bind(name)
        .bind(now)
        .bind(workspace.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?
        .try_get(0)
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(UserToken {
            id,
            user_id: user,
            name: name.to_owned(),
            created_at: now,
        })
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM user_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_sha256 = $1 AND u.active = 1"
        )))
        .bind(token_sha256)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    async fn user_tokens(&self, workspace: WorkspaceId, user: UserId) -> Result<Vec<UserToken>> {
        sqlx::query(
            "SELECT id, user_id, name, created_at FROM user_tokens
             WHERE workspace_id = $1 AND user_id = $2 ORDER BY id",
        )
        .bind(workspace.0)
        .bind(user.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            Ok(UserToken {
                id: get(row, "id")?,
                user_id: UserId(get(row, "user_id")?),
                name: get(row, "name")?,
                created_at: get(row, "created_at")?,
            })
        })
        .collect()
    }

    async fn delete_user_token(&self, workspace: WorkspaceId, user: UserId, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "DELETE FROM user_tokens WHERE id = $1 AND user_id = $2 AND workspace_id = $3",
        )
        .bind(id)
        .bind(user.0)
        .bind(workspace.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn login_throttle(&self, key: &str) -> Result<Option<LoginThrottle>> {
        sqlx::query(
            "SELECT key, failures, window_started_at, locked_until FROM login_failures
             WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(throttle_from)
        .transpose()
    }

    async fn record_login_failure(
        &self,
        key: &str,
        rule: ThrottleRule,
        now: Millis,
    ) -> Result<LoginThrottle> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO login_failures (key, failures, window_started_at, locked_until)
             VALUES ($1, 1, $2, NULL)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_failures.window_started_at + $3 <= $2 THEN 1
                                 ELSE login_failures.failures + 1 END,
                 window_started_at = CASE WHEN login_failures.window_started_at + $3 <= $2
                                          THEN $2 ELSE login_failures.window_started_at END
             RETURNING key, failures, window_started_at, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(rule.window_millis)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut throttle = throttle_from(&row)?;
        if throttle.failures >= rule.max_failures && !throttle.is_locked(now) {
            throttle.locked_until = Some(now + rule.lock_millis);
            sqlx::query("UPDATE login_failures SET locked_until = $2 WHERE key = $1")
                .bind(key)
                .bind(throttle.locked_until)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(throttle)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn heartbeat(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        now: Millis,
        online_since: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let previous: Option<Millis> =
            sqlx::query("SELECT last_seen_at FROM users WHERE id = $1 AND workspace_id = $2")
                .bind(user.0)
                .bind(workspace.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?
                .try_get(0)
                .map_err(db_err)?;
        sqlx::query(
            "UPDATE users SET last_seen_at = MAX(COALESCE(last_seen_at, 0), $2) WHERE id = $1",
        )
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(previous.is_none_or(|t| t < online_since))
    }

    async fn set_away(&self, workspace: WorkspaceId, user: UserId, away: bool) -> Result<User> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET away = $3 WHERE id = $1 AND workspace_id = $2")
            .bind(user.0)
            .bind(workspace.0)
            .bind(away)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let user = user_in(&mut tx, workspace, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }

    async fn create_queue(
        &self,
        workspace: WorkspaceId,
        settings: &QueueSettings,
        now: Millis,
    ) -> Result<Queue> {
        let mut tx = self.write_tx().await?;
        check_queue_settings(&mut tx, workspace, None, settings).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO queues (workspace_id, option_number, name, active, distribution, hours,
                                 out_of_hours, fallback_queue_id, accept_timeout_secs, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(workspace.0)
        .bind(i64::from(settings.option_number.get()))
        .bind(settings.name.trim())
        .bind(settings.active)
        .bind(settings.distribution.as_str())
        .bind(hours_text(&settings.hours))
        .bind(settings.out_of_hours.as_str())
        .bind(settings.fallback_queue_id.map(|q| q.0))
        .bind(settings.accept_timeout_secs.map(i64::from))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| option_conflict(e, settings.option_number))?
        .try_get(0)
        .map_err(db_err)?;
        let queue = queue_in(&mut tx, workspace, QueueId(id))
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(db_err)?;
        Ok(queue)
    }

    async fn update_queue(
        &self,
        workspace: WorkspaceId,
        id: QueueId,
        settings: &QueueSettings,
    ) -> Result<Queue> {
        let mut tx = self.write_tx().await?;
        check_queue_settings(&mut tx, workspace, Some(id), settings).await?;
        let done = sqlx::query(
            "UPDATE queues SET option_number = $3, name = $4, active = $5, distribution = $6,
                 hours = $7, out_of_hours = $8, fallback_queue_id = $9, accept_timeout_secs = $10
             WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.0)
        .bind(workspace.0)
        .bind(i64::from(settings.option_number.get()))
        .bind(settings.name.trim())
        .bind(settings.active)
        .bind(settings.distribution.as_str())
        .bind(hours_text(&settings.hours))
        .bind(settings.out_of_hours.as_str())
        .bind(settings.fallback_queue_id.map(|q| q.0))
        .bind(settings.accept_timeout_secs.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(|e| option_conflict(e, settings.option_number))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let queue = queue_in(&mut tx, workspace, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(db_err)?;
        Ok(queue)
    }

    async fn delete_queue(&self, workspace: WorkspaceId, id: QueueId) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if queue_in(&mut tx, workspace, id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let used: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM desk_conversations WHERE queue_id = $1)
                  + (SELECT COUNT(*) FROM quick_replies WHERE queue_id = $1)
                  + (SELECT COUNT(*) FROM queues WHERE fallback_queue_id = $1)
                  + (SELECT COUNT(*) FROM csat_ratings WHERE queue_id = $1)",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
        if used > 0 {
            return Err(conflict(
                "a fila tem conversas, respostas rápidas ou é fila de contingência: bloqueie-a em vez de excluir",
            ));
        }
        sqlx::query("DELETE FROM queue_members WHERE queue_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM queues WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn queue(&self, workspace: WorkspaceId, id: QueueId) -> Result<Option<Queue>> {
        sqlx::query(sql(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues q WHERE q.workspace_id = $1 AND q.id = $2"
        )))
        .bind(workspace.0)
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(queue_from)
        .transpose()
    }

    async fn queues(&self, workspace: WorkspaceId) -> Result<Vec<Queue>> {
        sqlx::query(sql(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues q WHERE q.workspace_id = $1
             ORDER BY q.option_number"
        )))
        .bind(workspace.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(queue_from)
        .collect()
    }

    async fn set_queue_members(
        &self,
        workspace: WorkspaceId,
        queue: QueueId,
        users: &[UserId],
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if queue_in(&mut tx, workspace, queue).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM queue_members WHERE queue_id = $1")
            .bind(queue.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for user in users {
            let written = sqlx::query(
                "INSERT INTO queue_members (queue_id, user_id, workspace_id)
                 SELECT $1, id, workspace_id FROM users WHERE id = $2 AND workspace_id = $3
                 ON CONFLICT DO NOTHING",
            )
            .bind(queue.0)
            .bind(user.0)
            .bind(workspace.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if written.rows_affected() == 0 && user_in(&mut tx, workspace, *user).await?.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        tx.commit().await.map_err(db_err)
    }

    async fn queue_members(&self, workspace: WorkspaceId, queue: QueueId) -> Result<Vec<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM queue_members m JOIN users u ON u.id = m.user_id
             WHERE m.workspace_id = $1 AND m.queue_id = $2 ORDER BY u.name, u.id"
        )))
        .bind(workspace.0)
        .bind(queue.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(user_from)
        .collect()
    }

    async fn user_queues(&self, workspace: WorkspaceId, user: UserId) -> Result<Vec<QueueId>> {
        sqlx::query(
            "SELECT q.id FROM queue_members m JOIN queues q ON q.id = m.queue_id
             WHERE m.workspace_id = $1 AND m.user_id = $2 ORDER BY q.option_number",
        )
        .bind(workspace.0)
        .bind(user.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok(QueueId(row.try_get(0).map_err(db_err)?)))
        .collect()
    }

    async fn set_holidays(&self, workspace: WorkspaceId, holidays: &[Holiday]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM holidays WHERE workspace_id = $1")
            .bind(workspace.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for holiday in holidays {
            sqlx::query(
                "INSERT INTO holidays (workspace_id, date, name) VALUES ($1, $2, $3)
                 ON CONFLICT (workspace_id, date) DO UPDATE SET name = excluded.name",
            )
            .bind(workspace.0)
            .bind(holiday.date.to_string())
            .bind(holiday.name.trim())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn holidays(&self, workspace: WorkspaceId) -> Result<Vec<Holiday>> {
        sqlx::query("SELECT date, name FROM holidays WHERE workspace_id = $1 ORDER BY date")
            .bind(workspace.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                let date: String = get(row, "date")?;
                Ok(Holiday {
                    date: date.parse().map_err(|e| corrupt("holiday date", e))?,
                    name: get(row, "name")?,
                })
            })
            .collect()
    }

    async fn desk_settings(&self, workspace: WorkspaceId) -> Result<Option<Value>> {
        sqlx::query("SELECT settings FROM desk_settings WHERE workspace_id = $1")
            .bind(workspace.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|row| json(&get::<String>(&row, "settings")?))
            .transpose()
    }

    async fn save_desk_settings(
        &self,
        workspace: WorkspaceId,
        settings: &Value,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO desk_settings (workspace_id, settings, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings,
                 updated_at = excluded.updated_at",
        )
        .bind(workspace.0)
        .bind(settings.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_quick_reply(
        &self,
        workspace: WorkspaceId,
        new: &NewQuickReply,
    ) -> Result<QuickReply> {
        let mut tx = self.write_tx().await?;
        let shortcut = check_quick_reply(&mut tx, workspace, new).await?;
        let row = sqlx::query(
            "INSERT INTO quick_replies (workspace_id, shortcut, body, queue_id, attachment_url)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id, workspace_id, shortcut, body, queue_id, attachment_url",
        )
        .bind(workspace.0)
        .bind(&shortcut)
        .bind(&new.body)
        .bind(new.queue_id.map(|q| q.0))
        .bind(&new.attachment_url)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| shortcut_conflict(e, &shortcut))?;
        let reply = quick_reply_from(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(reply)
    }

    async fn update_quick_reply(
        &self,
        workspace: WorkspaceId,
        id: i64,
        new: &NewQuickReply,
    ) -> Result<QuickReply> {
        let mut tx = self.write_tx().await?;
        let shortcut = check_quick_reply(&mut tx, workspace, new).await?;
        let row = sqlx::query(
            "UPDATE quick_replies SET shortcut = $3, body = $4, queue_id = $5, attachment_url = $6
             WHERE id = $1 AND workspace_id = $2
             RETURNING id, workspace_id, shortcut, body, queue_id, attachment_url",
        )
        .bind(id)
        .bind(workspace.0)
        .bind(&shortcut)
        .bind(&new.body)
        .bind(new.queue_id.map(|q| q.0))
        .bind(&new.attachment_url)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| shortcut_conflict(e, &shortcut))?
        .ok_or(StoreError::NotFound)?;
        let reply = quick_reply_from(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(reply)
    }

    async fn delete_quick_reply(&self, workspace: WorkspaceId, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM quick_replies WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn quick_replies(
        &self,
        workspace: WorkspaceId,
        queue: Option<QueueId>,
    ) -> Result<Vec<QuickReply>> {
        sqlx::query(
            "SELECT id, workspace_id, shortcut, body, queue_id, attachment_url FROM quick_replies
             WHERE workspace_id = $1 AND ($2 IS NULL OR queue_id IS NULL OR queue_id = $2)
             ORDER BY shortcut, queue_id IS NULL, queue_id, id",
        )
        .bind(workspace.0)
        .bind(queue.map(|q| q.0))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(quick_reply_from)
        .collect()
    }

    async fn desk_entry_candidates(
        &self,
        bot_enabled: bool,
        limit: u32,
    ) -> Result<Vec<DeskEntryCandidate>> {
        let rows = sqlx::query(
            "SELECT c.workspace_id, c.id, s.last_message_id,
                    (SELECT e.data FROM events e WHERE e.conversation_id = c.id
                       AND e.kind = 'handoff' ORDER BY e.id DESC LIMIT 1) AS handoff
             FROM conversations c LEFT JOIN bot_sessions s ON s.conversation_id = c.id
             WHERE c.has_desk = 0 AND c.status = 'open' AND c.last_inbound_at IS NOT NULL
               AND ($1 = 0 OR (s.finished = 1 AND EXISTS (
                    SELECT 1 FROM events e WHERE e.conversation_id = c.id AND e.kind = 'handoff')))
             ORDER BY c.id LIMIT $2",
        )
        .bind(bot_enabled)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(DeskEntryCandidate {
                    workspace_id: WorkspaceId(row.try_get(0).map_err(db_err)?),
                    conversation_id: ConversationId(row.try_get(1).map_err(db_err)?),
                    bot_last_message_id: row
                        .try_get::<Option<i64>, _>(2)
                        .map_err(db_err)?
                        .map(MessageId),
                    handoff: opt_json(row.try_get(3).map_err(db_err)?)?,
                })
            })
            .collect()
    }

    async fn enter_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        entry: DeskEntry,
        now: Millis,
    ) -> Result<(DeskConversation, bool)> {
        let mut tx = self.write_tx().await?;
        if !conversation_exists(&mut tx, workspace, conversation).await? {
            return Err(StoreError::NotFound);
        }
        let queue = match entry.queue {
            Some(id) => Some(
                queue_in(&mut tx, workspace, id)
                    .await?
                    .ok_or(StoreError::NotFound)?,
            ),
            None => None,
        };
        let state = if queue.is_some() {
            DeskState::Queued
        } else {
            DeskState::Menu
        };
        let written = sqlx::query(
            "INSERT INTO desk_conversations (conversation_id, workspace_id, state, queue_id,
                 summary, queued_at, deadline_at, last_seen_message_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (conversation_id) DO NOTHING",
        )
        .bind(conversation.0)
        .bind(workspace.0)
        .bind(state.as_str())
        .bind(queue.as_ref().map(|q| q.id.0))
        .bind(&entry.summary)
        .bind(queue.as_ref().map(|_| now))
        .bind(queue.as_ref().and_then(|q| waiting_deadline(q, 0, now)))
        .bind(entry.handled_up_to.map(|m| m.0))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if written.rows_affected() == 0 {
            let existing = desk_required(&mut tx, workspace, conversation).await?;
            return Ok((existing, false));
        }
        sqlx::query("UPDATE conversations SET has_desk = 1 WHERE id = $1")
            .bind(conversation.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        match &queue {
            Some(q) => {
                append_event(
                    &mut tx,
                    workspace,
                    conversation,
                    "desk_queued",
                    json!({ "queue_id": q.id, "via": "handoff" }),
                    now,
                )
                .await?;
                append_notice(
                    &mut tx,
                    workspace,
                    conversation,
                    "queued",
                    json!({ "queue_id": q.id }),
                    now,
                )
                .await?;
            }
            None => {
                append_event(
                    &mut tx,
                    workspace,
                    conversation,
                    "desk_menu",
                    json!({}),
                    now,
                )
                .await?;
                append_notice(
                    &mut tx,
                    workspace,
                    conversation,
                    "menu",
                    json!({ "welcome": entry.welcome }),
                    now,
                )
                .await?;
            }
        }
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((desk, true))
    }

    async fn desk_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        self.read_desk(workspace, conversation).await
    }

    async fn desk_awaiting_inbound(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>> {
        let rows = sqlx::query(
            "WITH awaiting AS MATERIALIZED (
                 SELECT d.workspace_id, d.conversation_id,
                        (SELECT m.id FROM messages m
                         WHERE m.conversation_id = d.conversation_id
                           AND m.id > COALESCE(d.last_seen_message_id, 0) AND m.direction = 'in'
                         ORDER BY m.id LIMIT 1) AS pending
                 FROM desk_conversations d WHERE d.finished = 0
             )
             SELECT workspace_id, conversation_id FROM awaiting
             WHERE pending IS NOT NULL ORDER BY pending LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(ids(rows)?
            .into_iter()
            .map(|(w, c)| (w, ConversationId(c)))
            .collect())
    }

    async fn advance_desk_cursor(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        handled: MessageId,
        unread: u32,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE desk_conversations
             SET last_seen_message_id = MAX(COALESCE(last_seen_message_id, 0), $3),
                 unread = unread + $4, updated_at = $5
             WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(handled.0)
        .bind(i64::from(unread))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn choose_queue(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        queue: QueueId,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Menu {
            return Err(conflict("a conversa não está mais no menu de filas"));
        }
        let queue = queue_in(&mut tx, workspace, queue)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !queue.active {
            return Err(conflict(format!("a fila {} está bloqueada", queue.name)));
        }
        requeue(&mut tx, &desk, &queue, now, 0, now).await?;
        set_cursor(&mut tx, conversation, handled).await?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_queued",
            json!({ "queue_id": queue.id, "via": "menu" }),
            now,
        )
        .await?;
        append_notice(
            &mut tx,
            workspace,
            conversation,
            "queued",
            json!({ "queue_id": queue.id }),
            now,
        )
        .await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn record_menu_failure(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        handled: MessageId,
        now: Millis,
    ) -> Result<u32> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Menu {
            return Err(conflict("a conversa não está mais no menu de filas"));
        }
        if desk
            .last_seen_message_id
            .is_some_and(|seen| seen >= handled)
        {
            // Already counted (another node, or a retry after a crash).
            return Ok(desk.menu_failures);
        }
        sqlx::query(
            "UPDATE desk_conversations SET menu_failures = menu_failures + 1, updated_at = $2
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        set_cursor(&mut tx, conversation, Some(handled)).await?;
        append_notice(
            &mut tx,
            workspace,
            conversation,
            "invalid_option",
            json!({}),
            now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk.menu_failures + 1)
    }

    async fn assign_next(
        &self,
        workspace: WorkspaceId,
        queue: QueueId,
        rules: &AssignRules,
    ) -> Result<Option<DeskConversation>> {
        let mut tx = self.write_tx().await?;
        let waiting = sqlx::query(sql(format!(
            "SELECT {DESK_COLUMNS} FROM desk_conversations d
             WHERE d.workspace_id = $1 AND d.queue_id = $2 AND d.state = 'queued'
             ORDER BY d.queued_at, d.conversation_id LIMIT 1"
        )))
        .bind(workspace.0)
        .bind(queue.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(desk) = waiting.as_ref().map(desk_from).transpose()? else {
            return Ok(None);
        };
        let candidates = sqlx::query(
            "SELECT u.id, u.max_chats,
                    (SELECT COUNT(*) FROM desk_conversations a
                     WHERE a.agent_id = u.id AND a.state = 'assigned') AS open
             FROM queue_members m JOIN users u ON u.id = m.user_id
             WHERE m.queue_id = $1 AND u.workspace_id = $2 AND u.active = 1 AND u.away = 0
               AND u.last_seen_at >= $3
             ORDER BY u.last_assigned_seq, u.id",
        )
        .bind(queue.0)
        .bind(workspace.0)
        .bind(rules.online_since)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut chosen = None;
        for row in &candidates {
            let id = UserId(get(row, "id")?);
            let max: i64 = get(row, "max_chats")?;
            let open: i64 = get(row, "open")?;
            if open < max && rules.within_hours.contains(&id) {
                chosen = Some(id);
                break;
            }
        }
        let Some(agent) = chosen else {
            return Ok(None);
        };
        let desk = give_to(&mut tx, &desk, agent, "desk_assigned", rules.now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(desk))
    }

    async fn claim(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Queued {
            return Err(state_conflict(&desk));
        }
        let agent = user_in(&mut tx, workspace, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(queue) = desk.queue_id
            && !agent.role.sees_all_queues()
            && !is_member(&mut tx, queue, user).await?
        {
            return Err(conflict("você não participa da fila desta conversa"));
        }
        check_capacity(&mut tx, &agent).await?;
        let desk = give_to(&mut tx, &desk, user, "desk_claimed", now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn accept(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Assigned || desk.agent_id != Some(user) {
            return Err(conflict("esta conversa não está com você"));
        }
        if desk.accepted {
            return Ok(desk);
        }
        sqlx::query(
            "UPDATE desk_conversations SET accepted = 1, deadline_at = NULL, updated_at = $2
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_accepted",
            json!({ "agent_id": user }),
            now,
        )
        .await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn return_unanswered_chats(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        now: Millis,
    ) -> Result<Vec<ConversationId>> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(sql(format!(
            "SELECT {DESK_COLUMNS} FROM desk_conversations d
             WHERE d.workspace_id = $1 AND d.agent_id = $2 AND d.state = 'assigned'
               AND d.answered_at IS NULL
             ORDER BY d.conversation_id"
        )))
        .bind(workspace.0)
        .bind(user.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut returned = Vec::with_capacity(rows.len());
        for row in &rows {
            let desk = desk_from(row)?;
            let queue = match desk.queue_id {
                Some(q) => queue_in(&mut tx, workspace, q).await?,
                None => None,
            };
            let queued_at = desk.queued_at.unwrap_or(now);
            match &queue {
                Some(queue) => {
                    requeue(&mut tx, &desk, queue, queued_at, desk.fallback_hops, now).await?
                }
                None => {
                    sqlx::query(
                        "UPDATE desk_conversations SET state = 'menu', agent_id = NULL,
                             accepted = 0, deadline_at = NULL, updated_at = $2
                         WHERE conversation_id = $1",
                    )
                    .bind(desk.conversation_id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    append_notice(
                        &mut tx,
                        workspace,
                        desk.conversation_id,
                        "menu",
                        json!({ "welcome": false }),
                        now,
                    )
                    .await?;
                }
            }
            append_event(
                &mut tx,
                workspace,
                desk.conversation_id,
                "desk_returned",
                json!({ "agent_id": user, "queue_id": desk.queue_id }),
                now,
            )
            .await?;
            returned.push(desk.conversation_id);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(returned)
    }

    async fn transfer(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        by: UserId,
        to: TransferTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if !matches!(desk.state, DeskState::Queued | DeskState::Assigned) {
            return Err(conflict(
                "só é possível transferir conversas na fila ou em atendimento",
            ));
        }
        if user_in(&mut tx, workspace, by).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let mut data = json!({
            "by": by,
            "from_queue_id": desk.queue_id,
            "from_agent_id": desk.agent_id,
        });
        match to {
            TransferTarget::Queue(id) => {
                let queue = queue_in(&mut tx, workspace, id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                requeue(&mut tx, &desk, &queue, now, 0, now).await?;
                data["to_queue_id"] = json!(queue.id);
            }
            TransferTarget::Agent(id) => {
                let agent = user_in(&mut tx, workspace, id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                if desk.agent_id == Some(id) {
                    return Err(conflict(format!("a conversa já está com {}", agent.name)));
                }
                check_capacity(&mut tx, &agent).await?;
                let queue = match desk.queue_id {
                    Some(q) => queue_in(&mut tx, workspace, q).await?,
                    None => None,
                };
                sqlx::query(
                    "UPDATE desk_conversations SET state = 'assigned', agent_id = $2,
                         accepted = 0, assigned_at = $3, answered_at = NULL, deadline_at = $4,
                         updated_at = $3
                     WHERE conversation_id = $1",
                )
                .bind(conversation.0)
                .bind(id.0)
                .bind(now)
                .bind(accept_deadline(queue.as_ref(), now))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                data["to_agent_id"] = json!(id);
            }
        }
        if let Some(body) = note.map(str::trim).filter(|b| !b.is_empty()) {
            let note_id = insert_note(&mut tx, workspace, conversation, by, body, now).await?;
            data["note_id"] = json!(note_id);
        }
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_transferred",
            data.clone(),
            now,
        )
        .await?;
        let notice = json!({ "to_queue_id": data.get("to_queue_id"), "to_agent_id": data.get("to_agent_id") });
        append_notice(&mut tx, workspace, conversation, "transferred", notice, now).await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn apply_deadline(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<Option<DeskConversation>> {
        let mut tx = self.write_tx().await?;
        let Some(desk) = desk_in(&mut tx, workspace, conversation).await? else {
            return Ok(None);
        };
        let waiting = desk.state == DeskState::Queued
            || (desk.state == DeskState::Assigned && !desk.accepted);
        if !waiting || desk.deadline_at.is_none_or(|t| t > now) {
            return Ok(None);
        }
        let current = match desk.queue_id {
            Some(q) => queue_in(&mut tx, workspace, q).await?,
            None => None,
        };
        let target_id = match (&current, desk.state) {
            (Some(q), DeskState::Queued) => q.fallback_queue_id,
            (Some(q), _) => Some(q.fallback_queue_id.unwrap_or(q.id)),
            (None, _) => None,
        };
        let target = match target_id {
            Some(id) => queue_in(&mut tx, workspace, id).await?,
            None => None,
        };
        let Some(target) = target else {
            // Nowhere to go: stop the timer so the runner does not come back each second.
            sqlx::query(
                "UPDATE desk_conversations SET deadline_at = NULL, updated_at = $2
                 WHERE conversation_id = $1",
            )
            .bind(conversation.0)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            return Ok(None);
        };
        let hops = desk.fallback_hops + 1;
        let queued_at = desk.queued_at.unwrap_or(now);
        requeue(&mut tx, &desk, &target, queued_at, hops, now).await?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_fallback",
            json!({
                "reason": "timeout",
                "from_queue_id": desk.queue_id,
                "from_agent_id": desk.agent_id,
                "queue_id": target.id,
            }),
            now,
        )
        .await?;
        append_notice(
            &mut tx,
            workspace,
            conversation,
            "fallback_moved",
            json!({ "from_queue_id": desk.queue_id, "queue_id": target.id }),
            now,
        )
        .await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(desk))
    }

    async fn move_to_queue(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        to: QueueId,
        reason: &str,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Queued {
            return Err(state_conflict(&desk));
        }
        let target = queue_in(&mut tx, workspace, to)
            .await?
            .ok_or(StoreError::NotFound)?;
        let queued_at = desk.queued_at.unwrap_or(now);
        requeue(
            &mut tx,
            &desk,
            &target,
            queued_at,
            desk.fallback_hops + 1,
            now,
        )
        .await?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_fallback",
            json!({ "reason": reason, "from_queue_id": desk.queue_id, "queue_id": target.id }),
            now,
        )
        .await?;
        append_notice(
            &mut tx,
            workspace,
            conversation,
            "fallback_moved",
            json!({ "from_queue_id": desk.queue_id, "queue_id": target.id }),
            now,
        )
        .await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn mark_out_of_hours(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        until: Millis,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.ooh_notified_until.is_some_and(|t| t >= until) {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE desk_conversations SET ooh_notified_until = $2, updated_at = $3
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_out_of_hours",
            json!({ "queue_id": desk.queue_id, "until": until }),
            now,
        )
        .await?;
        append_notice(
            &mut tx,
            workspace,
            conversation,
            "out_of_hours",
            json!({ "queue_id": desk.queue_id, "until": until }),
            now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn record_agent_reply(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        _user: UserId,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE desk_conversations
             SET first_response_at = COALESCE(first_response_at, $3),
                 answered_at = COALESCE(answered_at, $3), unread = 0, updated_at = $3
             WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn mark_desk_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE desk_conversations SET unread = 0
             WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn close_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        close: &DeskClose,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state == DeskState::Closed {
            return Err(state_conflict(&desk));
        }
        if let Some(by) = close.by
            && user_in(&mut tx, workspace, by).await?.is_none()
        {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE desk_conversations SET state = 'closed', closed_at = $2, closed_by = $3,
                 resolution = $4, grace_until = $5, csat_state = 'none', deadline_at = NULL,
                 unread = 0, updated_at = $2
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .bind(close.by.map(|u| u.0))
        .bind(&close.resolution)
        .bind(close.grace_until)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_closed",
            json!({
                "by": close.by,
                "resolution": close.resolution,
                "agent_id": desk.agent_id,
                "queue_id": desk.queue_id,
            }),
            now,
        )
        .await?;
        append_notice(&mut tx, workspace, conversation, "closed", json!({}), now).await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn reopen_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        agent: Option<UserId>,
        by: Option<UserId>,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        if desk.state != DeskState::Closed || desk.finished {
            return Err(conflict(
                "só é possível reabrir uma conversa encerrada há pouco",
            ));
        }
        let queue = match desk.queue_id {
            Some(q) => queue_in(&mut tx, workspace, q).await?,
            None => None,
        };
        sqlx::query(
            "UPDATE desk_conversations SET closed_at = NULL, closed_by = NULL, resolution = NULL,
                 grace_until = NULL, csat_state = 'none', queued_at = $2, updated_at = $2
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        match (agent, &queue) {
            (Some(id), _) => {
                let user = user_in(&mut tx, workspace, id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                check_capacity(&mut tx, &user).await?;
                sqlx::query(
                    "UPDATE desk_conversations SET state = 'assigned', agent_id = $2,
                         accepted = 1, assigned_at = $3, answered_at = NULL, deadline_at = NULL
                     WHERE conversation_id = $1",
                )
                .bind(conversation.0)
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            (None, Some(queue)) => requeue(&mut tx, &desk, queue, now, 0, now).await?,
            (None, None) => {
                sqlx::query(
                    "UPDATE desk_conversations SET state = 'menu', agent_id = NULL, accepted = 0,
                         menu_failures = 0, deadline_at = NULL
                     WHERE conversation_id = $1",
                )
                .bind(conversation.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                append_notice(
                    &mut tx,
                    workspace,
                    conversation,
                    "menu",
                    json!({ "welcome": false }),
                    now,
                )
                .await?;
            }
        }
        set_cursor(&mut tx, conversation, handled).await?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_reopened",
            json!({ "by": by, "agent_id": agent, "queue_id": desk.queue_id }),
            now,
        )
        .await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn finish_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let Some(desk) = desk_in(&mut tx, workspace, conversation).await? else {
            return Ok(false);
        };
        let due = desk.state == DeskState::Closed
            && !desk.finished
            && desk.grace_until.is_some_and(|t| t <= now);
        let notices_pending =
            sqlx::query("SELECT 1 FROM desk_notices WHERE conversation_id = $1 LIMIT 1")
                .bind(conversation.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .is_some();
        if !due || notices_pending {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE desk_conversations SET finished = 1, updated_at = $2 WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE conversations SET status = 'closed', closed_at = $2
             WHERE id = $1 AND status = 'open'",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            workspace,
            conversation,
            "desk_finished",
            json!({}),
            now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn close_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE conversations SET status = 'closed', closed_at = $3
             WHERE id = $1 AND workspace_id = $2 AND status = 'open'",
        )
        .bind(conversation.0)
        .bind(workspace.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            if !conversation_exists(&mut tx, workspace, conversation).await? {
                return Err(StoreError::NotFound);
            }
            return Ok(false);
        }
        sqlx::query(
            "UPDATE desk_conversations SET finished = 1, updated_at = $2 WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn set_csat_state(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        state: CsatState,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE desk_conversations SET csat_state = $3
             WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn record_csat(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        answer: CsatAnswer,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation> {
        let mut tx = self.write_tx().await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        let next = match &answer {
            CsatAnswer::Rating {
                rating,
                ask_comment,
            } => {
                if desk.csat_state != CsatState::Asked {
                    return Err(conflict("a avaliação não foi pedida nesta conversa"));
                }
                if !(1..=5).contains(rating) {
                    return Err(conflict("a nota deve ser de 1 a 5"));
                }
                sqlx::query(
                    "INSERT INTO csat_ratings (conversation_id, workspace_id, agent_id, queue_id,
                                               rating, comment, created_at)
                     VALUES ($1, $2, $3, $4, $5, NULL, $6)
                     ON CONFLICT (conversation_id) DO UPDATE SET agent_id = excluded.agent_id,
                         queue_id = excluded.queue_id, rating = excluded.rating, comment = NULL,
                         created_at = excluded.created_at",
                )
                .bind(conversation.0)
                .bind(workspace.0)
                .bind(desk.agent_id.map(|u| u.0))
                .bind(desk.queue_id.map(|q| q.0))
                .bind(i64::from(*rating))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                append_event(
                    &mut tx,
                    workspace,
                    conversation,
                    "csat",
                    json!({ "rating": rating, "agent_id": desk.agent_id, "queue_id": desk.queue_id }),
                    now,
                )
                .await?;
                append_notice(
                    &mut tx,
                    workspace,
                    conversation,
                    "csat_rated",
                    json!({ "rating": rating, "ask_comment": ask_comment }),
                    now,
                )
                .await?;
                if *ask_comment {
                    CsatState::Comment
                } else {
                    CsatState::Done
                }
            }
            CsatAnswer::Comment(comment) => {
                if desk.csat_state != CsatState::Comment {
                    return Err(conflict("nenhum comentário foi pedido nesta conversa"));
                }
                sqlx::query("UPDATE csat_ratings SET comment = $2 WHERE conversation_id = $1")
                    .bind(conversation.0)
                    .bind(comment.trim())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                append_event(
                    &mut tx,
                    workspace,
                    conversation,
                    "csat_comment",
                    json!({ "comment": comment.trim() }),
                    now,
                )
                .await?;
                append_notice(
                    &mut tx,
                    workspace,
                    conversation,
                    "csat_commented",
                    json!({}),
                    now,
                )
                .await?;
                CsatState::Done
            }
            CsatAnswer::Skip => CsatState::Done,
        };
        sqlx::query(
            "UPDATE desk_conversations SET csat_state = $2, updated_at = $3
             WHERE conversation_id = $1",
        )
        .bind(conversation.0)
        .bind(next.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        set_cursor(&mut tx, conversation, handled).await?;
        let desk = desk_required(&mut tx, workspace, conversation).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(desk)
    }

    async fn csat_rating(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<CsatRating>> {
        sqlx::query(
            "SELECT conversation_id, workspace_id, agent_id, queue_id, rating, comment, created_at
             FROM csat_ratings WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(csat_from)
        .transpose()
    }

    async fn csat_figures(&self, workspace: WorkspaceId, since: Millis) -> Result<Vec<CsatFigure>> {
        sqlx::query(
            "SELECT agent_id, queue_id, COUNT(*) AS n, SUM(rating) AS total FROM csat_ratings
             WHERE workspace_id = $1 AND created_at >= $2
             GROUP BY agent_id, queue_id ORDER BY agent_id, queue_id",
        )
        .bind(workspace.0)
        .bind(since)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            Ok(CsatFigure {
                agent_id: get::<Option<i64>>(row, "agent_id")?.map(UserId),
                queue_id: get::<Option<i64>>(row, "queue_id")?.map(QueueId),
                count: count(get(row, "n")?, "csat count")?,
                sum: count(get(row, "total")?, "csat sum")?,
            })
        })
        .collect()
    }

    async fn add_note(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        body: &str,
        now: Millis,
    ) -> Result<Note> {
        let body = body.trim();
        if body.is_empty() {
            return Err(conflict("a nota está vazia"));
        }
        let mut tx = self.write_tx().await?;
        if !conversation_exists(&mut tx, workspace, conversation).await?
            || user_in(&mut tx, workspace, user).await?.is_none()
        {
            return Err(StoreError::NotFound);
        }
        let id = insert_note(&mut tx, workspace, conversation, user, body, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Note {
            id,
            workspace_id: workspace,
            conversation_id: conversation,
            user_id: user,
            body: body.to_owned(),
            created_at: now,
        })
    }

    async fn notes(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Note>> {
        sqlx::query(
            "SELECT id, workspace_id, conversation_id, user_id, body, created_at FROM notes
             WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY id",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            Ok(Note {
                id: get(row, "id")?,
                workspace_id: WorkspaceId(get(row, "workspace_id")?),
                conversation_id: ConversationId(get(row, "conversation_id")?),
                user_id: UserId(get(row, "user_id")?),
                body: get(row, "body")?,
                created_at: get(row, "created_at")?,
            })
        })
        .collect()
    }

    async fn add_tag(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        tag: &str,
        by: Option<UserId>,
        now: Millis,
    ) -> Result<bool> {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err(conflict("a etiqueta está vazia"));
        }
        let mut tx = self.write_tx().await?;
        if !conversation_exists(&mut tx, workspace, conversation).await? {
            return Err(StoreError::NotFound);
        }
        let done = sqlx::query(
            "INSERT INTO conversation_tags (workspace_id, conversation_id, tag) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(tag)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let added = done.rows_affected() > 0;
        if added {
            append_event(
                &mut tx,
                workspace,
                conversation,
                "tag",
                json!({ "tag": tag, "by": by }),
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(added)
    }

    async fn remove_tag(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        tag: &str,
        by: Option<UserId>,
        now: Millis,
    ) -> Result<bool> {
        let tag = tag.trim();
        let mut tx = self.write_tx().await?;
        if !conversation_exists(&mut tx, workspace, conversation).await? {
            return Err(StoreError::NotFound);
        }
        let done = sqlx::query(
            "DELETE FROM conversation_tags
             WHERE workspace_id = $1 AND conversation_id = $2 AND tag = $3",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .bind(tag)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let removed = done.rows_affected() > 0;
        if removed {
            append_event(
                &mut tx,
                workspace,
                conversation,
                "untag",
                json!({ "tag": tag, "by": by }),
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn tags(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<String>> {
        sqlx::query(
            "SELECT tag FROM conversation_tags WHERE workspace_id = $1 AND conversation_id = $2
             ORDER BY tag",
        )
        .bind(workspace.0)
        .bind(conversation.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| row.try_get(0).map_err(db_err))
        .collect()
    }

    async fn add_team_message(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        body: &str,
        now: Millis,
    ) -> Result<TeamMessage> {
        let body = body.trim();
        if body.is_empty() {
            return Err(conflict("a mensagem está vazia"));
        }
        let mut tx = self.write_tx().await?;
        if user_in(&mut tx, workspace, user).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let id: i64 = sqlx::query(
            "INSERT INTO team_messages (workspace_id, user_id, body, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(workspace.0)
        .bind(user.0)
        .bind(body)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(TeamMessage {
            id,
            workspace_id: workspace,
            user_id: user,
            body: body.to_owned(),
            created_at: now,
        })
    }

    async fn team_messages(
        &self,
        workspace: WorkspaceId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<TeamMessage>> {
        let rows = match after {
            Some(after) => sqlx::query(
                "SELECT id, workspace_id, user_id, body, created_at FROM team_messages
                 WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(workspace.0)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?,
            None => sqlx::query(
                "SELECT * FROM (SELECT id, workspace_id, user_id, body, created_at
                                FROM team_messages WHERE workspace_id = $1
                                ORDER BY id DESC LIMIT $2) AS recent ORDER BY id",
            )
            .bind(workspace.0)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?,
        };
        rows.iter()
            .map(|row| {
                Ok(TeamMessage {
                    id: get(row, "id")?,
                    workspace_id: WorkspaceId(get(row, "workspace_id")?),
                    user_id: UserId(get(row, "user_id")?),
                    body: get(row, "body")?,
                    created_at: get(row, "created_at")?,
                })
            })
            .collect()
    }

    async fn desk_inbox(
        &self,
        workspace: WorkspaceId,
        filter: &InboxFilter,
    ) -> Result<Vec<InboxItem>> {
        let limit = match filter.limit {
            0 => DEFAULT_INBOX_LIMIT,
            n => n.min(MAX_INBOX_LIMIT),
        };
        let rows = sqlx::query(sql(format!(
            "SELECT {DESK_COLUMNS}, c.number_id, c.contact_id, k.wa_id, k.profile_name,
                    c.last_message_at, c.last_inbound_at,
                    (SELECT m.text FROM messages m WHERE m.conversation_id = d.conversation_id
                     ORDER BY m.id DESC LIMIT 1) AS last_text,
                    q.name AS queue_name, a.name AS agent_name,
                    (SELECT group_concat(tag, char(31)) FROM (
                        SELECT t.tag FROM conversation_tags t
                        WHERE t.conversation_id = d.conversation_id ORDER BY t.tag)) AS tag_list
             FROM desk_conversations d
             JOIN conversations c ON c.id = d.conversation_id
             JOIN contacts k ON k.id = c.contact_id
             LEFT JOIN queues q ON q.id = d.queue_id
             LEFT JOIN users a ON a.id = d.agent_id
             WHERE d.workspace_id = $1
               AND ($2 IS NULL OR d.state = $2)
               AND ($3 IS NULL OR d.queue_id = $3)
               AND ($4 IS NULL OR d.agent_id = $4)
               AND ($5 IS NULL OR d.agent_id = $5
                    OR d.queue_id IN (SELECT queue_id FROM queue_members WHERE user_id = $5))
               AND ($6 OR d.finished = 0)
             ORDER BY CASE d.state WHEN 'assigned' THEN 1 WHEN 'closed' THEN 2 ELSE 0 END,
                      CASE WHEN d.state IN ('menu', 'queued')
                           THEN COALESCE(d.queued_at, d.created_at) END,
                      CASE WHEN d.state = 'assigned' THEN c.last_message_at END DESC,
                      CASE WHEN d.state = 'closed' THEN d.closed_at END DESC,
                      d.conversation_id
             LIMIT $7"
        )))
        .bind(workspace.0)
        .bind(filter.state.map(DeskState::as_str))
        .bind(filter.queue.map(|q| q.0))
        .bind(filter.agent.map(|u| u.0))
        .bind(filter.visible_to.map(|u| u.0))
        .bind(filter.include_finished)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let wa: String = get(row, "wa_id")?;
                let tags: Option<String> = get(row, "tag_list")?;
                Ok(InboxItem {
                    desk: desk_from(row)?,
                    number_id: NumberId(get(row, "number_id")?),
                    contact_id: ContactId(get(row, "contact_id")?),
                    wa_id: WaId::parse(&wa).map_err(|e| corrupt("wa_id", e))?,
                    contact_name: get(row, "profile_name")?,
                    last_message_at: get(row, "last_message_at")?,
                    last_inbound_at: get(row, "last_inbound_at")?,
                    last_text: get(row, "last_text")?,
                    queue_name: get(row, "queue_name")?,
                    agent_name: get(row, "agent_name")?,
                    tags: tags
                        .map(|t| t.split('\u{1f}').map(str::to_owned).collect())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn desk_board(&self, workspace: WorkspaceId, online_since: Millis) -> Result<DeskBoard> {
        let agents = sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS},
                    (SELECT COUNT(*) FROM desk_conversations a
                     WHERE a.agent_id = u.id AND a.state = 'assigned') AS open
             FROM users u WHERE u.workspace_id = $1 ORDER BY u.name, u.id"
        )))
        .bind(workspace.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            let user = user_from(row)?;
            Ok(AgentFigure {
                online: user.active && user.is_online(online_since),
                user_id: user.id,
                name: user.name,
                role: user.role,
                active: user.active,
                away: user.away,
                last_seen_at: user.last_seen_at,
                open_chats: count(get(row, "open")?, "open chats")?,
                max_chats: user.max_chats,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let queues = sqlx::query(
            "SELECT q.id, q.name, q.active,
                    (SELECT COUNT(*) FROM desk_conversations d
                     WHERE d.queue_id = q.id AND d.state = 'queued') AS queued,
                    (SELECT COUNT(*) FROM desk_conversations d
                     WHERE d.queue_id = q.id AND d.state = 'assigned') AS assigned,
                    (SELECT MIN(d.queued_at) FROM desk_conversations d
                     WHERE d.queue_id = q.id AND d.state = 'queued') AS oldest,
                    (SELECT COUNT(*) FROM queue_members m JOIN users u ON u.id = m.user_id
                     WHERE m.queue_id = q.id AND u.active = 1 AND u.away = 0
                       AND u.last_seen_at >= $2) AS online
             FROM queues q WHERE q.workspace_id = $1 ORDER BY q.option_number",
        )
        .bind(workspace.0)
        .bind(online_since)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            Ok(QueueFigure {
                queue_id: QueueId(get(row, "id")?),
                name: get(row, "name")?,
                active: get(row, "active")?,
                queued: count(get(row, "queued")?, "queued")?,
                assigned: count(get(row, "assigned")?, "assigned")?,
                oldest_queued_at: get(row, "oldest")?,
                online_members: count(get(row, "online")?, "online")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let in_menu: i64 = sqlx::query(
            "SELECT COUNT(*) FROM desk_conversations WHERE workspace_id = $1 AND state = 'menu'",
        )
        .bind(workspace.0)
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
        Ok(DeskBoard {
            agents,
            queues,
            in_menu: count(in_menu, "in menu")?,
        })
    }

    async fn due_desk_work(
        &self,
        now: Millis,
        online_since: Millis,
        limit: u32,
    ) -> Result<DueDeskWork> {
        let limit = i64::from(limit);
        let deadlines = sqlx::query(
            "SELECT workspace_id, conversation_id FROM desk_conversations
             WHERE deadline_at <= $1 AND (state = 'queued' OR (state = 'assigned' AND accepted = 0))
             ORDER BY deadline_at, conversation_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        let grace = sqlx::query(
            "SELECT workspace_id, conversation_id FROM desk_conversations
             WHERE state = 'closed' AND finished = 0 AND grace_until <= $1
             ORDER BY grace_until, conversation_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        let queues = sqlx::query(
            "SELECT DISTINCT workspace_id, queue_id FROM desk_conversations
             WHERE state = 'queued' AND queue_id IS NOT NULL
             ORDER BY workspace_id, queue_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        let gone = sqlx::query(
            "SELECT DISTINCT d.workspace_id, d.agent_id FROM desk_conversations d
             JOIN users u ON u.id = d.agent_id
             WHERE d.state = 'assigned' AND d.answered_at IS NULL
               AND (u.away = 1 OR u.active = 0 OR u.last_seen_at IS NULL OR u.last_seen_at < $1)
             ORDER BY d.workspace_id, d.agent_id LIMIT $2",
        )
        .bind(online_since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        let notices = sqlx::query(sql(format!(
            "SELECT {NOTICE_COLUMNS} FROM desk_notices ORDER BY id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(DueDeskWork {
            deadlines: ids(deadlines)?
                .into_iter()
                .map(|(w, c)| (w, ConversationId(c)))
                .collect(),
            grace_expired: ids(grace)?
                .into_iter()
                .map(|(w, c)| (w, ConversationId(c)))
                .collect(),
            queues_waiting: ids(queues)?
                .into_iter()
                .map(|(w, q)| (w, QueueId(q)))
                .collect(),
            agents_gone: ids(gone)?
                .into_iter()
                .map(|(w, u)| (w, UserId(u)))
                .collect(),
            notices: notices.iter().map(notice_from).collect::<Result<_>>()?,
        })
    }

    async fn complete_desk_notice(&self, workspace: WorkspaceId, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM desk_notices WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

async fn insert_note(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    user: UserId,
    body: &str,
    now: Millis,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO notes (workspace_id, conversation_id, user_id, body, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(workspace.0)
    .bind(conversation.0)
    .bind(user.0)
    .bind(body)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?
    .try_get(0)
    .map_err(db_err)?;
    append_event(
        conn,
        workspace,
        conversation,
        "desk_note",
        json!({ "note_id": id, "user_id": user }),
        now,
    )
    .await?;
    Ok(id)
}

async fn check_queue_settings(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: Option<QueueId>,
    settings: &QueueSettings,
) -> Result<()> {
    if settings.name.trim().is_empty() {
        return Err(conflict("o nome da fila está vazio"));
    }
    if let Some(fallback) = settings.fallback_queue_id {
        if Some(fallback) == id {
            return Err(conflict("uma fila não pode ser a própria contingência"));
        }
        if queue_in(conn, workspace, fallback).await?.is_none() {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

fn option_conflict(error: sqlx::Error, option: OptionNumber) -> StoreError {
    match db_err(error) {
        StoreError::Conflict(_) => conflict(format!("a opção {option} já é usada por outra fila")),
        other => other,
    }
}

async fn check_quick_reply(
    conn: &mut Conn,
    workspace: WorkspaceId,
    new: &NewQuickReply,
) -> Result<String> {
    let shortcut = new.shortcut.trim().trim_start_matches('/').to_lowercase();
    if shortcut.is_empty() || shortcut.contains(char::is_whitespace) {
        return Err(conflict("o atalho deve ser uma palavra, como /boleto"));
    }
    if new.body.trim().is_empty() {
        return Err(conflict("o texto da resposta rápida está vazio"));
    }
    if let Some(queue) = new.queue_id
        && queue_in(conn, workspace, queue).await?.is_none()
    {
        return Err(StoreError::NotFound);
    }
    Ok(shortcut)
}

fn shortcut_conflict(error: sqlx::Error, shortcut: &str) -> StoreError {
    match db_err(error) {
        StoreError::Conflict(_) => conflict(format!("o atalho /{shortcut} já existe")),
        other => other,
    }
}
