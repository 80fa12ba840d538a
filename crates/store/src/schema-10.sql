-- crt-gateway storage, version 10: what the gateway still owes about an alert (its duty),
-- leased by one instance at a time: calling the rota's next professional, informing the
-- regulation. The calls made are kept with the alert (JSON), for the on-call figures.

ALTER TABLE alerts ADD COLUMN duty TEXT CHECK (duty IN ('call', 'regulation'));
ALTER TABLE alerts ADD COLUMN due_at INTEGER;
ALTER TABLE alerts ADD COLUMN call_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN duty_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN lease_owner TEXT;
ALTER TABLE alerts ADD COLUMN lease_until INTEGER;
ALTER TABLE alerts ADD COLUMN last_error TEXT;
ALTER TABLE alerts ADD COLUMN calls TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN regulation TEXT;

-- Alerts still open when this version arrives are called now.
UPDATE alerts SET duty = 'call', due_at = received_at WHERE status = 'open';

CREATE INDEX alerts_due ON alerts (due_at) WHERE duty IS NOT NULL;
