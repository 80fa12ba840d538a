-- crt-gateway storage on PostgreSQL, version 4: the same change as the embedded database's
-- version 9 (see ../schema-9.sql): alerts for the CRTs' on-call services.

CREATE TABLE alerts (
    id              UUID PRIMARY KEY,
    crt_finess_et   TEXT NOT NULL,
    source          TEXT NOT NULL,
    alert_id        TEXT NOT NULL,
    beneficiary_ref TEXT,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'taken', 'closed')),
    raised_at       BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    taken_by        TEXT,
    taken_at        BIGINT,
    outcome         TEXT,
    closed_at       BIGINT,
    payload         BYTEA NOT NULL,
    UNIQUE (crt_finess_et, source, alert_id)
);

CREATE INDEX alerts_by_crt ON alerts (crt_finess_et, raised_at);
