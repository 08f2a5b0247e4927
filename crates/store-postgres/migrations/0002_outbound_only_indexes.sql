-- Inbound messages, most of the rows, carry neither an idempotency key nor a delivery status, so
-- the two indexes that serve only outbound messages now hold only outbound messages: every inbound
-- message maintains two indexes fewer, and no plan can reach a message through "every message of
-- the workspace" by mistake (a generic plan made while the table was small did, even for a lookup
-- by id, and then scanned the whole workspace for as long as the connection lived).
DROP INDEX messages_by_idempotency_key;
CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (workspace_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP INDEX messages_by_status;
CREATE INDEX messages_outbound_by_status ON messages (workspace_id, status)
    WHERE direction = 'out';
