-- crt-gateway storage on PostgreSQL, version 1: the same tables as the embedded SQLite
-- database at its version 6 (see ../schema*.sql for what each holds). Times are
-- milliseconds since the Unix epoch; ids are UUIDv7 (time-ordered). Texts compared by
-- order (RFC 3339 instants) use the "C" collation so that they order as they do in SQLite.

CREATE TABLE records (
    id              UUID PRIMARY KEY,
    received_at     BIGINT NOT NULL,
    crt_finess_et   TEXT NOT NULL,
    beneficiary_ref TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    payload         BYTEA NOT NULL
);
CREATE INDEX records_beneficiary ON records (crt_finess_et, beneficiary_ref, received_at);
CREATE INDEX records_crt ON records (crt_finess_et, received_at);

CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    record_id   UUID NOT NULL REFERENCES records(id),
    response    BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id              UUID PRIMARY KEY,
    record_id       UUID NOT NULL REFERENCES records(id),
    target          TEXT NOT NULL,
    work            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                        ('waiting', 'pending', 'leased', 'delivered', 'declined', 'held', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    hold_reason     TEXT,
    receipt         TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_leases ON deliveries (state, lease_until);
CREATE INDEX deliveries_record ON deliveries (record_id);

CREATE TABLE delivery_dependencies (
    delivery_id UUID NOT NULL REFERENCES deliveries(id),
    depends_on  UUID NOT NULL REFERENCES deliveries(id),
    PRIMARY KEY (delivery_id, depends_on)
);
CREATE INDEX delivery_dependents ON delivery_dependencies (depends_on);

CREATE TABLE artifacts (
    delivery_id UUID NOT NULL REFERENCES deliveries(id),
    name        TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    content     BYTEA NOT NULL,
    PRIMARY KEY (delivery_id, name)
);

CREATE TABLE attempts (
    delivery_id UUID NOT NULL REFERENCES deliveries(id),
    attempt     INTEGER NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    error_code  TEXT,
    PRIMARY KEY (delivery_id, attempt, finished_at)
);

CREATE TABLE acknowledgements (
    delivery_id     UUID NOT NULL REFERENCES deliveries(id),
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('delivered', 'read', 'failed')),
    code            TEXT,
    label           TEXT,
    kind            TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, recipient, status, notification_id)
);

CREATE TABLE waiting_list (
    delivery_id UUID PRIMARY KEY REFERENCES deliveries(id),
    task        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sent', 'received', 'waiting_list',
                    'admission_proposed', 'accepted', 'refused', 'cancelled', 'admitted')),
    rank        BIGINT,
    reason      TEXT,
    status_at   TEXT COLLATE "C" NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE partner_entries (
    platform        TEXT NOT NULL,
    remote_id       TEXT NOT NULL,
    crt_finess_et   TEXT NOT NULL,
    beneficiary_ref TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('note', 'alert')),
    topic           TEXT NOT NULL,
    author          TEXT NOT NULL,
    written_at      TEXT COLLATE "C" NOT NULL,
    body            TEXT NOT NULL,
    changed_at      TEXT COLLATE "C" NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (platform, remote_id)
);
CREATE INDEX partner_entries_by_crt ON partner_entries (crt_finess_et, beneficiary_ref, written_at);

-- The access trace, append-only: each line chains to the one before by hash; the triggers
-- refuse updates and deletes.
CREATE TABLE audit_trail (
    seq   BIGINT PRIMARY KEY,
    entry TEXT NOT NULL,
    prev  TEXT NOT NULL,
    hash  TEXT NOT NULL
);

CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access trace is append-only';
END;
$$;

CREATE TRIGGER audit_trail_append_only_update BEFORE UPDATE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only();
CREATE TRIGGER audit_trail_append_only_delete BEFORE DELETE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only();

CREATE TABLE volet1_actions (
    crt_finess_et TEXT NOT NULL,
    source_ref    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    payload       BYTEA NOT NULL,
    PRIMARY KEY (crt_finess_et, source_ref)
);
