-- The service desk: users and their access, queues (sectors) with members and hours, the
-- provider's holidays, settings, quick replies, the desk state of each conversation, notes,
-- team chat, tags, satisfaction ratings, and the notices the runner must send.

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces (id),
    email              TEXT NOT NULL,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password_hash      TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    max_chats          INTEGER NOT NULL DEFAULT 5 CHECK (max_chats >= 1),
    hours              TEXT,
    away               INTEGER NOT NULL DEFAULT 0 CHECK (away IN (0, 1)),
    last_seen_at       INTEGER,
    -- Round robin: the least recently assigned eligible agent (lowest sequence) goes next.
    last_assigned_seq  INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
) STRICT;
CREATE INDEX users_by_email ON users (email);

CREATE TABLE user_sessions (
    token_sha256  TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE user_tokens (
    id            INTEGER PRIMARY KEY,
    token_sha256  TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX user_tokens_by_user ON user_tokens (user_id);

CREATE TABLE login_failures (
    key                TEXT PRIMARY KEY,
    failures           INTEGER NOT NULL,
    window_started_at  INTEGER NOT NULL,
    locked_until       INTEGER
) STRICT;

CREATE TABLE queues (
    id                   INTEGER PRIMARY KEY,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id),
    option_number        INTEGER NOT NULL CHECK (option_number BETWEEN 1 AND 99),
    name                 TEXT NOT NULL,
    active               INTEGER NOT NULL CHECK (active IN (0, 1)),
    distribution         TEXT NOT NULL CHECK (distribution IN ('round_robin', 'pick')),
    hours                TEXT,
    out_of_hours         TEXT NOT NULL CHECK (out_of_hours IN ('wait', 'fallback')),
    fallback_queue_id    INTEGER REFERENCES queues (id),
    accept_timeout_secs  INTEGER,
    created_at           INTEGER NOT NULL,
    UNIQUE (workspace_id, option_number)
) STRICT;

CREATE TABLE queue_members (
    queue_id      INTEGER NOT NULL REFERENCES queues (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    PRIMARY KEY (queue_id, user_id)
) STRICT;
CREATE INDEX queue_members_by_user ON queue_members (user_id);

CREATE TABLE holidays (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    date          TEXT NOT NULL,
    name          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, date)
) STRICT;

CREATE TABLE desk_settings (
    workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces (id),
    settings      TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE quick_replies (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
    shortcut        TEXT NOT NULL,
    body            TEXT NOT NULL,
    queue_id        INTEGER REFERENCES queues (id),
    attachment_url  TEXT
) STRICT;
-- Unique per workspace and scope (0 stands for "every queue").
CREATE UNIQUE INDEX quick_replies_unique ON quick_replies (workspace_id, COALESCE(queue_id, 0), shortcut);

CREATE TABLE desk_conversations (
    conversation_id       INTEGER PRIMARY KEY REFERENCES conversations (id),
    workspace_id          INTEGER NOT NULL REFERENCES workspaces (id),
    state                 TEXT NOT NULL CHECK (state IN ('menu', 'queued', 'assigned', 'closed')),
    queue_id              INTEGER REFERENCES queues (id),
    agent_id              INTEGER REFERENCES users (id),
    accepted              INTEGER NOT NULL DEFAULT 0 CHECK (accepted IN (0, 1)),
    summary               TEXT,
    queued_at             INTEGER,
    assigned_at           INTEGER,
    first_response_at     INTEGER,
    answered_at           INTEGER,
    deadline_at           INTEGER,
    fallback_hops         INTEGER NOT NULL DEFAULT 0,
    ooh_notified_until    INTEGER,
    last_seen_message_id  INTEGER,
    menu_failures         INTEGER NOT NULL DEFAULT 0,
    closed_at             INTEGER,
    closed_by             INTEGER REFERENCES users (id),
    resolution            TEXT,
    csat_state            TEXT NOT NULL DEFAULT 'none'
                          CHECK (csat_state IN ('none', 'asked', 'comment', 'done')),
    grace_until           INTEGER,
    finished              INTEGER NOT NULL DEFAULT 0 CHECK (finished IN (0, 1)),
    unread                INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;
-- Assignment takes the longest-waiting conversation of a queue.
CREATE INDEX desk_queued ON desk_conversations (workspace_id, queue_id, queued_at, conversation_id)
    WHERE state = 'queued';
-- An agent's open chats (the limit), and unanswered ones (presence).
CREATE INDEX desk_by_agent ON desk_conversations (agent_id, state);
CREATE INDEX desk_deadlines ON desk_conversations (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX desk_grace ON desk_conversations (grace_until) WHERE state = 'closed' AND finished = 0;
-- The runner probes only conversations the desk is still working on.
CREATE INDEX desk_live ON desk_conversations (conversation_id) WHERE finished = 0;
CREATE INDEX desk_by_workspace ON desk_conversations (workspace_id, state);

-- Set when a desk row is created: conversations waiting to enter the desk are found through a
-- partial index of the few open ones without it.
ALTER TABLE conversations ADD COLUMN has_desk INTEGER NOT NULL DEFAULT 0 CHECK (has_desk IN (0, 1));
CREATE INDEX conversations_without_desk ON conversations (id)
    WHERE has_desk = 0 AND status = 'open' AND last_inbound_at IS NOT NULL;

-- What the subscriber must be told because of a transition; the runner sends and deletes them.
CREATE TABLE desk_notices (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    kind             TEXT NOT NULL,
    data             TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE notes (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    user_id          INTEGER NOT NULL REFERENCES users (id),
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX notes_by_conversation ON notes (conversation_id, id);

CREATE TABLE team_messages (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX team_messages_by_workspace ON team_messages (workspace_id, id);

CREATE TABLE conversation_tags (
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    tag              TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
) STRICT;

CREATE TABLE csat_ratings (
    conversation_id  INTEGER PRIMARY KEY REFERENCES conversations (id),
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    agent_id         INTEGER REFERENCES users (id),
    queue_id         INTEGER REFERENCES queues (id),
    rating           INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          TEXT,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX csat_by_workspace ON csat_ratings (workspace_id, created_at);

-- The presence sweep looks for agents with unanswered chats.
CREATE INDEX desk_unanswered ON desk_conversations (agent_id)
    WHERE state = 'assigned' AND answered_at IS NULL;
