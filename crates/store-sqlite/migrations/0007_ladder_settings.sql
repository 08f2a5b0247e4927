-- Per-workspace billing-ladder settings (a PlanConfig as JSON), and the customer list the ladder
-- follows on systems that cannot list receivables in bulk (MK-Auth, Voalle, RadiusNet), with each
-- entry's cached lookup.

CREATE TABLE ladder_settings (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id),
    settings     TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT
) STRICT;

CREATE TABLE ladder_customers (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    entry        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    added_at     INTEGER NOT NULL,
    customer     TEXT,
    resolved_at  INTEGER,
    attempted_at INTEGER,
    last_error   TEXT,
    PRIMARY KEY (workspace_id, entry)
) STRICT;
