-- The billing ladder's report: when the ladder learned an invoice was paid, and the indexes of
-- its one query (records by subscriber-local day; a contact's inbound messages by time, for
-- "replied within 7 days").

ALTER TABLE ladder_receivables ADD COLUMN paid_at INTEGER;

CREATE INDEX ladder_sends_by_day ON ladder_sends (workspace_id, local_date, id);

CREATE INDEX messages_inbound_by_contact ON messages (contact_id, created_at)
    WHERE direction = 'in';
