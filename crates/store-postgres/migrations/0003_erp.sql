-- Provider management system per workspace (credentials sealed by the application) and the
-- payments seen there, one event per invoice.

CREATE TABLE erp_connections (
    workspace_id    BIGINT PRIMARY KEY REFERENCES workspaces (id),
    system          TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    sealed_auth     TEXT NOT NULL,
    payment_cursor  BIGINT,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE payment_events (
    id               BIGSERIAL PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    invoice_erp_id   TEXT NOT NULL,
    contract_erp_id  TEXT,
    customer_erp_id  TEXT,
    paid_at          BIGINT NOT NULL,
    amount_cents     BIGINT NOT NULL,
    detected_by      TEXT NOT NULL,
    recorded_at      BIGINT NOT NULL,
    UNIQUE (workspace_id, invoice_erp_id)
);
CREATE INDEX payment_events_by_workspace ON payment_events (workspace_id, id);
