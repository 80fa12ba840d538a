-- crt-gateway storage, version 1.
-- Times are milliseconds since the Unix epoch; ids are UUIDv7 text (time-ordered).

CREATE TABLE records (
    id              TEXT PRIMARY KEY,
    received_at     INTEGER NOT NULL,
    crt_finess_et   TEXT NOT NULL,
    beneficiary_ref TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    payload         BLOB NOT NULL
);

CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    record_id   TEXT NOT NULL REFERENCES records(id),
    response    BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    record_id       TEXT NOT NULL REFERENCES records(id),
    target          TEXT NOT NULL,
    work            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                        ('waiting', 'pending', 'leased', 'delivered', 'declined', 'held', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    hold_reason     TEXT,
    receipt         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_leases ON deliveries (state, lease_until);
CREATE INDEX deliveries_record ON deliveries (record_id);

CREATE TABLE delivery_dependencies (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    depends_on  TEXT NOT NULL REFERENCES deliveries(id),
    PRIMARY KEY (delivery_id, depends_on)
);
CREATE INDEX delivery_dependents ON delivery_dependencies (depends_on);

CREATE TABLE artifacts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    name        TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    content     BLOB NOT NULL,
    PRIMARY KEY (delivery_id, name)
);

-- One row per finished attempt, for operators and the access trace.
CREATE TABLE attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    error_code  TEXT,
    PRIMARY KEY (delivery_id, attempt, finished_at)
);
