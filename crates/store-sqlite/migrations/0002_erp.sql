-- Provider management system per workspace (credentials sealed by the application) and the
-- payments seen there, one event per invoice.

CREATE TABLE erp_connections (
    workspace_id    INTEGER PRIMARY KEY REFERENCES workspaces (id),
    system          TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    sealed_auth     TEXT NOT NULL,
    payment_cursor  INTEGER,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE payment_events (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    invoice_erp_id   TEXT NOT NULL,
    contract_erp_id  TEXT,
    customer_erp_id  TEXT,
    paid_at          INTEGER NOT NULL,
    amount_cents     INTEGER NOT NULL,
    detected_by      TEXT NOT NULL,
    recorded_at      INTEGER NOT NULL,
    UNIQUE (workspace_id, invoice_erp_id)
) STRICT;
CREATE INDEX payment_events_by_workspace ON payment_events (workspace_id, id);
