-- The self-service bot's durable state, one session per conversation.

CREATE TABLE bot_sessions (
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    conversation_id  INTEGER NOT NULL PRIMARY KEY REFERENCES conversations (id),
    -- Anatel protocol number given to the subscriber.
    protocol         TEXT NOT NULL,
    state            TEXT NOT NULL,
    last_message_id  INTEGER REFERENCES messages (id),
    timer_due_at     INTEGER,
    finished         INTEGER NOT NULL CHECK (finished IN (0, 1)),
    updated_at       INTEGER NOT NULL,
    UNIQUE (workspace_id, protocol)
) STRICT;
-- The timer poller reads only live sessions with a timer.
CREATE INDEX bot_sessions_due ON bot_sessions (timer_due_at)
    WHERE finished = 0 AND timer_due_at IS NOT NULL;
-- Live sessions: the inbox poller probes each one's messages past `last_message_id`
-- (messages_by_conversation, usually one or two index entries). Finished sessions, the bulk of
-- them over time, are never visited.
CREATE INDEX bot_sessions_live ON bot_sessions (conversation_id) WHERE finished = 0;

-- Set once the bot saved a session for the conversation. Conversations with inbound messages and
-- no session yet are then found through a partial index holding only those (a handful), instead
-- of an anti-join over every conversation each second; ingestion needs no change (it already sets
-- last_inbound_at, which enters the conversation into the index).
ALTER TABLE conversations ADD COLUMN has_bot_session INTEGER NOT NULL DEFAULT 0
    CHECK (has_bot_session IN (0, 1));
CREATE INDEX conversations_without_bot_session ON conversations (id)
    WHERE last_inbound_at IS NOT NULL AND has_bot_session = 0;
