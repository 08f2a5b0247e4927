//! The self-service bot's sessions and the two queries its pollers run (PostgreSQL).

use crate::write::{OpenConversation, enqueue_replies, insert_conversation_events, without_nul};
use crate::{PgStore, db_err};
use balcao_domain::{ConversationId, MessageId, Millis, WorkspaceId};
use balcao_store::{BotSession, BotTurn, Enqueued, Result, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

type Conn = sqlx::PgConnection;

const SESSION_COLUMNS: &str = "workspace_id, conversation_id, protocol, state, last_message_id, timer_due_at, finished, updated_at";

fn session_from(row: &PgRow) -> Result<BotSession> {
    Ok(BotSession {
        workspace_id: WorkspaceId(row.try_get("workspace_id").map_err(db_err)?),
        conversation_id: ConversationId(row.try_get("conversation_id").map_err(db_err)?),
        protocol: row.try_get("protocol").map_err(db_err)?,
        state: row.try_get("state").map_err(db_err)?,
        last_message_id: row
            .try_get::<Option<i64>, _>("last_message_id")
            .map_err(db_err)?
            .map(MessageId),
        timer_due_at: row.try_get("timer_due_at").map_err(db_err)?,
        finished: row.try_get("finished").map_err(db_err)?,
        updated_at: row.try_get("updated_at").map_err(db_err)?,
    })
}

impl PgStore {
    pub(crate) async fn bot_session_impl(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<BotSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM bot_sessions
             WHERE workspace_id = $1 AND conversation_id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.0)
            .bind(conversation.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(session_from)
            .transpose()
    }

    pub(crate) async fn save_bot_turns_impl(
        &self,
        turns: &[BotTurn],
    ) -> Result<Vec<Result<Vec<Enqueued>>>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let mut results = Vec::with_capacity(turns.len());
        for turn in turns {
            // A savepoint per turn: a turn the store refuses is undone alone.
            sqlx::query("SAVEPOINT bot_turn")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            match turn_in_tx(&mut tx, turn).await {
                Ok(enqueued) => results.push(Ok(enqueued)),
                Err(refused @ (StoreError::Conflict(_) | StoreError::NotFound)) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT bot_turn")
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    results.push(Err(refused));
                }
                Err(other) => return Err(other),
            }
            sqlx::query("RELEASE SAVEPOINT bot_turn")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(results)
    }

    pub(crate) async fn due_bot_timers_impl(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<BotSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM bot_sessions
             WHERE NOT finished AND timer_due_at IS NOT NULL AND timer_due_at <= $1
             ORDER BY timer_due_at, conversation_id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(session_from)
            .collect()
    }

    /// Visits only live sessions (`bot_sessions_live`) and conversations with inbound messages and
    /// no session yet (`conversations_without_bot_session`), probing each one's messages past its
    /// last processed one through `messages_by_conversation`: the cost follows the conversations
    /// the bot is in right now, not the size of the message history.
    pub(crate) async fn conversations_awaiting_bot_impl(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>> {
        let rows = sqlx::query(
            // LATERAL: each probe runs once and a conversation without one drops out of the join.
            "SELECT workspace_id, conversation_id FROM (
                 SELECT s.workspace_id, s.conversation_id, p.pending
                 FROM bot_sessions s
                 CROSS JOIN LATERAL (
                     SELECT m.id AS pending FROM messages m
                     WHERE m.conversation_id = s.conversation_id
                       AND m.id > COALESCE(s.last_message_id, 0) AND m.direction = 'in'
                     ORDER BY m.id LIMIT 1
                 ) p
                 WHERE NOT s.finished
                 UNION ALL
                 SELECT c.workspace_id, c.id, p.pending
                 FROM conversations c
                 CROSS JOIN LATERAL (
                     SELECT m.id AS pending FROM messages m
                     WHERE m.conversation_id = c.id AND m.direction = 'in'
                     ORDER BY m.id LIMIT 1
                 ) p
                 WHERE c.last_inbound_at IS NOT NULL AND NOT c.has_bot_session
             ) AS awaiting
             ORDER BY pending LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok((
                    WorkspaceId(row.try_get(0).map_err(db_err)?),
                    ConversationId(row.try_get(1).map_err(db_err)?),
                ))
            })
            .collect()
    }
}

/// One turn inside the caller's transaction (see `Store::save_bot_turns`).
async fn turn_in_tx(conn: &mut Conn, turn: &BotTurn) -> Result<Vec<Enqueued>> {
    let row = sqlx::query(
        "SELECT has_bot_session, contact_id, number_id FROM conversations
             WHERE id = $1 AND workspace_id = $2",
    )
    .bind(turn.conversation_id.0)
    .bind(turn.workspace_id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::NotFound)?;
    let has_session: bool = row.try_get(0).map_err(db_err)?;
    let conversation = OpenConversation {
        id: turn.conversation_id.0,
        contact: row.try_get(1).map_err(db_err)?,
        number: row.try_get(2).map_err(db_err)?,
    };
    // First, so a protocol conflict fails before anything else of the turn is written.
    if let Some(session) = &turn.session {
        sqlx::query(
                "INSERT INTO bot_sessions (workspace_id, conversation_id, protocol, state, last_message_id, timer_due_at, finished, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (conversation_id) DO UPDATE SET
                     protocol = excluded.protocol,
                     state = excluded.state,
                     last_message_id = excluded.last_message_id,
                     timer_due_at = excluded.timer_due_at,
                     finished = excluded.finished,
                     updated_at = excluded.updated_at",
            )
            .bind(session.workspace_id.0)
            .bind(session.conversation_id.0)
            .bind(&session.protocol)
            .bind(without_nul(&session.state).as_ref())
            .bind(session.last_message_id.map(|id| id.0))
            .bind(session.timer_due_at)
            .bind(session.finished)
            .bind(session.updated_at)
            .execute(&mut *conn)
            .await
            .map_err(|error| match db_err(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "o protocolo {} já pertence a outra conversa",
                    session.protocol
                )),
                other => other,
            })?;
    }
    let (enqueued, mut log) = enqueue_replies(
        &mut *conn,
        turn.workspace_id,
        &conversation,
        &turn.replies,
        turn.now,
    )
    .await?;
    log.extend(
        turn.events
            .iter()
            .map(|e| (e.kind.clone(), e.message_id.map(|id| id.0), e.data.clone())),
    );
    insert_conversation_events(
        &mut *conn,
        turn.workspace_id.0,
        turn.conversation_id.0,
        &log,
        turn.now,
    )
    .await?;
    if !has_session && turn.session.is_some() {
        sqlx::query("UPDATE conversations SET has_bot_session = true WHERE id = $1")
            .bind(turn.conversation_id.0)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    if turn.close_conversation {
        sqlx::query(
            "UPDATE conversations SET status = 'closed', closed_at = $1
                 WHERE id = $2 AND status = 'open'",
        )
        .bind(turn.now)
        .bind(turn.conversation_id.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(enqueued)
}
