-- crt-gateway storage, version 5: the access trace. Append-only: each line chains to the
-- one before by hash (see gateway/src/audit.rs), and triggers refuse updates and deletes
-- so that only a deliberate edit of the file can change it, which `audit verify` detects.

CREATE TABLE audit_trail (
    seq   INTEGER PRIMARY KEY,
    -- The event's JSON, exactly as hashed.
    entry TEXT NOT NULL,
    prev  TEXT NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TRIGGER audit_trail_append_only_update BEFORE UPDATE ON audit_trail
BEGIN
    SELECT RAISE(ABORT, 'the access trace is append-only');
END;

CREATE TRIGGER audit_trail_append_only_delete BEFORE DELETE ON audit_trail
BEGIN
    SELECT RAISE(ABORT, 'the access trace is append-only');
END;

-- The records of one beneficiary, newest first: consent changes are traced against the
-- previous record.
CREATE INDEX records_beneficiary ON records (crt_finess_et, beneficiary_ref, received_at);
