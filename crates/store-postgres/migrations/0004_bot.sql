-- The self-service bot's durable state, one session per conversation.

CREATE TABLE bot_sessions (
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    conversation_id  BIGINT NOT NULL PRIMARY KEY REFERENCES conversations (id),
    -- Anatel protocol number given to the subscriber.
    protocol         TEXT NOT NULL,
    state            JSONB NOT NULL,
    last_message_id  BIGINT REFERENCES messages (id),
    timer_due_at     BIGINT,
    finished         BOOLEAN NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (workspace_id, protocol)
);
-- The timer poller reads only live sessions with a timer.
CREATE INDEX bot_sessions_due ON bot_sessions (timer_due_at)
    WHERE NOT finished AND timer_due_at IS NOT NULL;
-- Live sessions: the inbox poller probes each one's messages past `last_message_id`
-- (messages_by_conversation, usually one or two index entries). Finished sessions, the bulk of
-- them over time, are never visited.
CREATE INDEX bot_sessions_live ON bot_sessions (conversation_id) WHERE NOT finished;

-- Set once the bot saved a session for the conversation. Conversations with inbound messages and
-- no session yet are then found through a partial index holding only those (a handful), instead
-- of an anti-join over every conversation each second; ingestion needs no change (it already sets
-- last_inbound_at, which enters the conversation into the index). A constant default adds the
-- column without rewriting the table.
ALTER TABLE conversations ADD COLUMN has_bot_session BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX conversations_without_bot_session ON conversations (id)
    WHERE last_inbound_at IS NOT NULL AND NOT has_bot_session;
