-- The billing ladder: the receivables snapshot the planner runs over, the record of each
-- (invoice, step) handled (unique: exactly once), and opt-outs with their log.

CREATE TABLE ladder_receivables (
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id),
    invoice_id        TEXT NOT NULL,
    customer_id       TEXT NOT NULL,
    customer_name     TEXT NOT NULL,
    contract_id       TEXT,
    due_date          TEXT NOT NULL,
    amount_cents      INTEGER NOT NULL,
    person            TEXT,
    plan_value_cents  INTEGER,
    city              TEXT,
    region            TEXT,
    late_payments     INTEGER NOT NULL,
    suspended         INTEGER NOT NULL,
    wa_id             TEXT,
    wa_key            TEXT,
    time_zone         TEXT,
    paid              INTEGER NOT NULL DEFAULT 0,
    removed           INTEGER NOT NULL DEFAULT 0,
    synced_at         INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, invoice_id)
) STRICT;
CREATE INDEX ladder_receivables_open ON ladder_receivables (workspace_id, customer_id, invoice_id)
    WHERE paid = 0 AND removed = 0;
CREATE INDEX ladder_receivables_due ON ladder_receivables (workspace_id, due_date, synced_at);

CREATE TABLE ladder_sends (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    invoice_id   TEXT NOT NULL,
    step_key     TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    variant      TEXT,
    local_date   TEXT NOT NULL,
    message_id   INTEGER REFERENCES messages (id),
    detail       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, invoice_id, step_key)
) STRICT;
CREATE INDEX ladder_sends_customer_day ON ladder_sends (workspace_id, customer_id, local_date)
    WHERE status = 'sent';

CREATE TABLE ladder_opt_outs (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    wa_key       TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    customer_id  TEXT,
    opted_out    INTEGER NOT NULL,
    source       TEXT NOT NULL,
    changed_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, wa_key)
) STRICT;

CREATE TABLE ladder_consent_log (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    wa_key       TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    customer_id  TEXT,
    opted_out    INTEGER NOT NULL,
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX ladder_consent_log_by_key ON ladder_consent_log (workspace_id, wa_key, id);
