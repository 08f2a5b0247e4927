-- The billing ladder: the receivables snapshot the planner runs over, the record of each
-- (invoice, step) handled (unique: exactly once), and opt-outs with their log.

CREATE TABLE ladder_receivables (
    workspace_id      BIGINT NOT NULL REFERENCES workspaces (id),
    invoice_id        TEXT COLLATE "C" NOT NULL,
    customer_id       TEXT COLLATE "C" NOT NULL,
    customer_name     TEXT NOT NULL,
    contract_id       TEXT,
    due_date          TEXT NOT NULL,
    amount_cents      BIGINT NOT NULL,
    person            TEXT,
    plan_value_cents  BIGINT,
    city              TEXT,
    region            TEXT,
    late_payments     BIGINT NOT NULL,
    suspended         BOOLEAN NOT NULL,
    wa_id             TEXT,
    wa_key            TEXT,
    time_zone         TEXT,
    paid              BOOLEAN NOT NULL DEFAULT FALSE,
    removed           BOOLEAN NOT NULL DEFAULT FALSE,
    synced_at         BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, invoice_id)
);
CREATE INDEX ladder_receivables_open ON ladder_receivables (workspace_id, customer_id, invoice_id)
    WHERE NOT paid AND NOT removed;
CREATE INDEX ladder_receivables_due ON ladder_receivables (workspace_id, due_date, synced_at);

CREATE TABLE ladder_sends (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    invoice_id   TEXT NOT NULL,
    step_key     TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    variant      TEXT,
    local_date   TEXT NOT NULL,
    message_id   BIGINT REFERENCES messages (id),
    detail       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, invoice_id, step_key)
);
CREATE INDEX ladder_sends_customer_day ON ladder_sends (workspace_id, customer_id, local_date)
    WHERE status = 'sent';

CREATE TABLE ladder_opt_outs (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    wa_key       TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    customer_id  TEXT,
    opted_out    BOOLEAN NOT NULL,
    source       TEXT NOT NULL,
    changed_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, wa_key)
);

CREATE TABLE ladder_consent_log (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    wa_key       TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    customer_id  TEXT,
    opted_out    BOOLEAN NOT NULL,
    source       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX ladder_consent_log_by_key ON ladder_consent_log (workspace_id, wa_key, id);
