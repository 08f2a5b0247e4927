-- Customer ids compare byte-wise everywhere the ladder pages by them (the snapshot is ordered
-- by `customer_id COLLATE "C"`): a page's range read on `ladder_sends` must use the same order.
ALTER TABLE ladder_sends ALTER COLUMN customer_id TYPE TEXT COLLATE "C";

-- A snapshot page reads what was handled for its customers in one range scan.
CREATE INDEX ladder_sends_by_customer ON ladder_sends (workspace_id, customer_id);

-- Each payment the ladder saw, on time or late: a customer's behaviour (good payer, repeat
-- defaulter) is counted from it when one of their invoices enters the snapshot.
CREATE TABLE ladder_payment_log (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    invoice_id   TEXT NOT NULL,
    customer_id  TEXT COLLATE "C" NOT NULL,
    due_date     TEXT NOT NULL,
    paid_at      BIGINT NOT NULL,
    late         BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, invoice_id)
);
CREATE INDEX ladder_payment_log_by_customer ON ladder_payment_log (workspace_id, customer_id, due_date);
