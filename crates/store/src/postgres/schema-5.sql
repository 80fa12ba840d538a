-- crt-gateway storage on PostgreSQL, version 5: the same change as the embedded database's
-- version 10 (see ../schema-10.sql): the alerts' duties and the calls made.

ALTER TABLE alerts ADD COLUMN duty TEXT CHECK (duty IN ('call', 'regulation'));
ALTER TABLE alerts ADD COLUMN due_at BIGINT;
ALTER TABLE alerts ADD COLUMN call_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN duty_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN lease_owner TEXT;
ALTER TABLE alerts ADD COLUMN lease_until BIGINT;
ALTER TABLE alerts ADD COLUMN last_error TEXT;
ALTER TABLE alerts ADD COLUMN calls TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN regulation TEXT;

UPDATE alerts SET duty = 'call', due_at = received_at WHERE status = 'open';

CREATE INDEX alerts_due ON alerts (due_at) WHERE duty IS NOT NULL;
