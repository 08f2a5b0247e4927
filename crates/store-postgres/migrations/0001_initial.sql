-- Balcão on PostgreSQL, first schema. Timestamps are unix milliseconds (BIGINT); JSON is JSONB.
-- Every tenant table carries workspace_id and every query filters on it.

CREATE TABLE workspaces (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE numbers (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id          BIGINT NOT NULL REFERENCES workspaces (id),
    phone_number_id       TEXT NOT NULL UNIQUE,
    display_phone_number  TEXT NOT NULL,
    waba_id               TEXT NOT NULL,
    throughput_mps        BIGINT NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE INDEX numbers_by_workspace ON numbers (workspace_id, id);

CREATE TABLE api_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL
);
CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id);

CREATE TABLE templates (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    number_id     BIGINT NOT NULL REFERENCES numbers (id),
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    body          TEXT NOT NULL,
    body_params   BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, number_id, name, language)
);

CREATE TABLE contacts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    wa_id         TEXT NOT NULL,
    -- WaId::match_key: both Brazilian 9th-digit forms share it.
    match_key     TEXT NOT NULL,
    profile_name  TEXT,
    user_id       TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, match_key)
);
CREATE INDEX contacts_by_user_id ON contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE conversations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    number_id        BIGINT NOT NULL REFERENCES numbers (id),
    contact_id       BIGINT NOT NULL REFERENCES contacts (id),
    status           TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at        BIGINT NOT NULL,
    closed_at        BIGINT,
    last_message_at  BIGINT NOT NULL,
    last_inbound_at  BIGINT,
    referral         JSONB
);
-- At most one open conversation per contact and number.
CREATE UNIQUE INDEX conversations_one_open ON conversations (contact_id, number_id) WHERE status = 'open';
CREATE INDEX conversations_by_activity ON conversations (workspace_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (contact_id, id);

-- Inbound and outbound messages; outbound rows are also the outbox.
CREATE TABLE messages (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id      BIGINT NOT NULL REFERENCES workspaces (id),
    number_id         BIGINT NOT NULL REFERENCES numbers (id),
    conversation_id   BIGINT NOT NULL REFERENCES conversations (id),
    contact_id        BIGINT NOT NULL REFERENCES contacts (id),
    direction         TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    wamid             TEXT,
    message_type      TEXT NOT NULL,
    text              TEXT,
    payload           JSONB NOT NULL,
    -- Outbound only: queued, sending, accepted, sent, delivered, read, failed.
    status            TEXT,
    error_code        BIGINT,
    error_title       TEXT,
    error_details     TEXT,
    pricing_category  TEXT,
    pricing_type      TEXT,
    billable          BOOLEAN,
    to_wa_id          TEXT,
    sent_wa_id        TEXT,
    idempotency_key   TEXT,
    author            TEXT,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    lease_until       BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_by_wamid ON messages (number_id, wamid);
CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (workspace_id, idempotency_key);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_outbox_due ON messages (number_id, next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX messages_in_flight ON messages (number_id, lease_until) WHERE status = 'sending';
CREATE INDEX messages_by_status ON messages (workspace_id, direction, status);

-- Every status webhook received, deduplicated; kept even when its wamid is not known yet.
CREATE TABLE message_statuses (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id      BIGINT NOT NULL REFERENCES workspaces (id),
    number_id         BIGINT NOT NULL REFERENCES numbers (id),
    wamid             TEXT NOT NULL,
    status            TEXT NOT NULL,
    timestamp         BIGINT NOT NULL,
    recipient_id      TEXT,
    biz_opaque        TEXT,
    pricing_category  TEXT,
    pricing_type      TEXT,
    billable          BOOLEAN,
    errors            JSONB NOT NULL,
    raw               JSONB NOT NULL,
    received_at       BIGINT NOT NULL,
    UNIQUE (number_id, wamid, status)
);
CREATE INDEX message_statuses_by_biz_opaque ON message_statuses (number_id, biz_opaque)
    WHERE biz_opaque IS NOT NULL;

-- Append-only log of what happened in a conversation.
CREATE TABLE events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    kind             TEXT NOT NULL,
    message_id       BIGINT REFERENCES messages (id),
    data             JSONB NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX events_by_conversation ON events (conversation_id, id);

-- Deliveries that could not be parsed; no workspace is known for them.
CREATE TABLE dead_letters (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);

-- Items of unknown numbers (workspace_id NULL) and non-message changes.
CREATE TABLE unrouted (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT REFERENCES workspaces (id),
    phone_number_id  TEXT,
    kind             TEXT NOT NULL,
    raw              JSONB NOT NULL,
    received_at      BIGINT NOT NULL
);
