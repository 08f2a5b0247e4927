-- Per-workspace billing-ladder settings (a PlanConfig as JSON), and the customer list the ladder
-- follows on systems that cannot list receivables in bulk (MK-Auth, Voalle, RadiusNet), with each
-- entry's cached lookup.

CREATE TABLE ladder_settings (
    workspace_id BIGINT PRIMARY KEY REFERENCES workspaces (id),
    settings     JSONB NOT NULL,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT
);

CREATE TABLE ladder_customers (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    entry        TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    added_at     BIGINT NOT NULL,
    customer     JSONB,
    resolved_at  BIGINT,
    attempted_at BIGINT,
    last_error   TEXT,
    PRIMARY KEY (workspace_id, entry)
);
