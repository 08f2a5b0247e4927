-- The service desk: users and their access, queues (sectors) with members and hours, the
-- provider's holidays, settings, quick replies, the desk state of each conversation, notes,
-- team chat, tags, satisfaction ratings, and the notices the runner must send.

CREATE TABLE users (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id       BIGINT NOT NULL REFERENCES workspaces (id),
    email              TEXT NOT NULL,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password_hash      TEXT NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT true,
    max_chats          BIGINT NOT NULL DEFAULT 5 CHECK (max_chats >= 1),
    hours              JSONB,
    away               BOOLEAN NOT NULL DEFAULT false,
    last_seen_at       BIGINT,
    -- Round robin: the least recently assigned eligible agent (lowest sequence) goes next.
    last_assigned_seq  BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    UNIQUE (workspace_id, email)
);
CREATE INDEX users_by_email ON users (email);

CREATE TABLE user_sessions (
    token_sha256  TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE user_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256  TEXT NOT NULL UNIQUE,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id);

CREATE TABLE login_failures (
    key                TEXT PRIMARY KEY,
    failures           BIGINT NOT NULL,
    window_started_at  BIGINT NOT NULL,
    locked_until       BIGINT
);

CREATE TABLE queues (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id         BIGINT NOT NULL REFERENCES workspaces (id),
    option_number        BIGINT NOT NULL CHECK (option_number BETWEEN 1 AND 99),
    name                 TEXT NOT NULL,
    active               BOOLEAN NOT NULL,
    distribution         TEXT NOT NULL CHECK (distribution IN ('round_robin', 'pick')),
    hours                JSONB,
    out_of_hours         TEXT NOT NULL CHECK (out_of_hours IN ('wait', 'fallback')),
    fallback_queue_id    BIGINT REFERENCES queues (id),
    accept_timeout_secs  BIGINT,
    created_at           BIGINT NOT NULL,
    UNIQUE (workspace_id, option_number)
);

CREATE TABLE queue_members (
    queue_id      BIGINT NOT NULL REFERENCES queues (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    PRIMARY KEY (queue_id, user_id)
);
CREATE INDEX queue_members_by_user ON queue_members (user_id);

CREATE TABLE holidays (
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    date          TEXT NOT NULL,
    name          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, date)
);

CREATE TABLE desk_settings (
    workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces (id),
    settings      JSONB NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE quick_replies (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id),
    shortcut        TEXT NOT NULL,
    body            TEXT NOT NULL,
    queue_id        BIGINT REFERENCES queues (id),
    attachment_url  TEXT
);
-- Unique per workspace and scope (0 stands for "every queue").
CREATE UNIQUE INDEX quick_replies_unique ON quick_replies (workspace_id, COALESCE(queue_id, 0), shortcut);

CREATE TABLE desk_conversations (
    conversation_id       BIGINT PRIMARY KEY REFERENCES conversations (id),
    workspace_id          BIGINT NOT NULL REFERENCES workspaces (id),
    state                 TEXT NOT NULL CHECK (state IN ('menu', 'queued', 'assigned', 'closed')),
    queue_id              BIGINT REFERENCES queues (id),
    agent_id              BIGINT REFERENCES users (id),
    accepted              BOOLEAN NOT NULL DEFAULT false,
    summary               TEXT,
    queued_at             BIGINT,
    assigned_at           BIGINT,
    first_response_at     BIGINT,
    answered_at           BIGINT,
    deadline_at           BIGINT,
    fallback_hops         BIGINT NOT NULL DEFAULT 0,
    ooh_notified_until    BIGINT,
    last_seen_message_id  BIGINT,
    menu_failures         BIGINT NOT NULL DEFAULT 0,
    closed_at             BIGINT,
    closed_by             BIGINT REFERENCES users (id),
    resolution            TEXT,
    csat_state            TEXT NOT NULL DEFAULT 'none'
                          CHECK (csat_state IN ('none', 'asked', 'comment', 'done')),
    grace_until           BIGINT,
    finished              BOOLEAN NOT NULL DEFAULT false,
    unread                BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
-- Assignment takes the longest-waiting conversation of a queue.
CREATE INDEX desk_queued ON desk_conversations (workspace_id, queue_id, queued_at, conversation_id)
    WHERE state = 'queued';
-- An agent's open chats (the limit), and unanswered ones (presence).
CREATE INDEX desk_by_agent ON desk_conversations (agent_id, state);
CREATE INDEX desk_deadlines ON desk_conversations (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX desk_grace ON desk_conversations (grace_until) WHERE state = 'closed' AND NOT finished;
-- The runner probes only conversations the desk is still working on.
CREATE INDEX desk_live ON desk_conversations (conversation_id) WHERE NOT finished;
CREATE INDEX desk_by_workspace ON desk_conversations (workspace_id, state);

-- Set when a desk row is created: conversations waiting to enter the desk are found through a
-- partial index of the few open ones without it.
ALTER TABLE conversations ADD COLUMN has_desk BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX conversations_without_desk ON conversations (id)
    WHERE NOT has_desk AND status = 'open' AND last_inbound_at IS NOT NULL;

-- What the subscriber must be told because of a transition; the runner sends and deletes them.
CREATE TABLE desk_notices (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    kind             TEXT NOT NULL,
    data             JSONB NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE notes (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    user_id          BIGINT NOT NULL REFERENCES users (id),
    body             TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX notes_by_conversation ON notes (conversation_id, id);

CREATE TABLE team_messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX team_messages_by_workspace ON team_messages (workspace_id, id);

CREATE TABLE conversation_tags (
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    tag              TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);

CREATE TABLE csat_ratings (
    conversation_id  BIGINT PRIMARY KEY REFERENCES conversations (id),
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    agent_id         BIGINT REFERENCES users (id),
    queue_id         BIGINT REFERENCES queues (id),
    rating           BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX csat_by_workspace ON csat_ratings (workspace_id, created_at);

-- Round robin order: a sequence hands out increasing numbers without a workspace-wide lock.
CREATE SEQUENCE desk_assign_seq;
-- The presence sweep looks for agents with unanswered chats.
CREATE INDEX desk_unanswered ON desk_conversations (agent_id)
    WHERE state = 'assigned' AND answered_at IS NULL;
