-- Balcão on SQLite, first schema. Timestamps are unix milliseconds (INTEGER); JSON is TEXT.
-- Every tenant table carries workspace_id and every query filters on it.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE numbers (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces (id),
    phone_number_id       TEXT NOT NULL UNIQUE,
    display_phone_number  TEXT NOT NULL,
    waba_id               TEXT NOT NULL,
    throughput_mps        INTEGER NOT NULL,
    created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX numbers_by_workspace ON numbers (workspace_id, id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id);

CREATE TABLE templates (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    number_id     INTEGER NOT NULL REFERENCES numbers (id),
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    body          TEXT NOT NULL,
    body_params   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, number_id, name, language)
) STRICT;

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    wa_id         TEXT NOT NULL,
    -- WaId::match_key: both Brazilian 9th-digit forms share it.
    match_key     TEXT NOT NULL,
    profile_name  TEXT,
    user_id       TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, match_key)
) STRICT;
CREATE INDEX contacts_by_user_id ON contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    number_id        INTEGER NOT NULL REFERENCES numbers (id),
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    status           TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at        INTEGER NOT NULL,
    closed_at        INTEGER,
    last_message_at  INTEGER NOT NULL,
    last_inbound_at  INTEGER,
    referral         TEXT
) STRICT;
-- At most one open conversation per contact and number.
CREATE UNIQUE INDEX conversations_one_open ON conversations (contact_id, number_id) WHERE status = 'open';
CREATE INDEX conversations_by_activity ON conversations (workspace_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (contact_id, id);

-- Inbound and outbound messages; outbound rows are also the outbox.
CREATE TABLE messages (
    id                INTEGER PRIMARY KEY,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id),
    number_id         INTEGER NOT NULL REFERENCES numbers (id),
    conversation_id   INTEGER NOT NULL REFERENCES conversations (id),
    contact_id        INTEGER NOT NULL REFERENCES contacts (id),
    direction         TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    wamid             TEXT,
    message_type      TEXT NOT NULL,
    text              TEXT,
    payload           TEXT NOT NULL,
    -- Outbound only: queued, sending, accepted, sent, delivered, read, failed.
    status            TEXT,
    error_code        INTEGER,
    error_title       TEXT,
    error_details     TEXT,
    pricing_category  TEXT,
    pricing_type      TEXT,
    billable          INTEGER,
    to_wa_id          TEXT,
    sent_wa_id        TEXT,
    idempotency_key   TEXT,
    author            TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    lease_until       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_by_wamid ON messages (number_id, wamid);
CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (workspace_id, idempotency_key);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_outbox_due ON messages (number_id, next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX messages_in_flight ON messages (number_id, lease_until) WHERE status = 'sending';
CREATE INDEX messages_by_status ON messages (workspace_id, direction, status);

-- Every status webhook received, deduplicated; kept even when its wamid is not known yet.
CREATE TABLE message_statuses (
    id                INTEGER PRIMARY KEY,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id),
    number_id         INTEGER NOT NULL REFERENCES numbers (id),
    wamid             TEXT NOT NULL,
    status            TEXT NOT NULL,
    timestamp         INTEGER NOT NULL,
    recipient_id      TEXT,
    biz_opaque        TEXT,
    pricing_category  TEXT,
    pricing_type      TEXT,
    billable          INTEGER,
    errors            TEXT NOT NULL,
    raw               TEXT NOT NULL,
    received_at       INTEGER NOT NULL,
    UNIQUE (number_id, wamid, status)
) STRICT;
CREATE INDEX message_statuses_by_biz_opaque ON message_statuses (number_id, biz_opaque)
    WHERE biz_opaque IS NOT NULL;

-- Append-only log of what happened in a conversation.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    kind             TEXT NOT NULL,
    message_id       INTEGER REFERENCES messages (id),
    data             TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_conversation ON events (conversation_id, id);

-- Deliveries that could not be parsed; no workspace is known for them.
CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  INTEGER NOT NULL
) STRICT;

-- Items of unknown numbers (workspace_id NULL) and non-message changes.
CREATE TABLE unrouted (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER REFERENCES workspaces (id),
    phone_number_id  TEXT,
    kind             TEXT NOT NULL,
    raw              TEXT NOT NULL,
    received_at      INTEGER NOT NULL
) STRICT;
