-- crt-gateway storage, version 9: alerts for the CRTs' on-call services, raised by a
-- téléassistance centre or a telemonitoring platform. Each is kept once per (CRT, source,
-- alert id), sealed at rest (the alert as received), before the centre is answered; then
-- taken by a professional and closed with its outcome.

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    crt_finess_et   TEXT NOT NULL,
    source          TEXT NOT NULL,
    alert_id        TEXT NOT NULL,
    beneficiary_ref TEXT,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'taken', 'closed')),
    raised_at       INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    taken_by        TEXT,
    taken_at        INTEGER,
    outcome         TEXT,
    closed_at       INTEGER,
    -- Sealed: the alert as received (JSON).
    payload         BLOB NOT NULL,
    UNIQUE (crt_finess_et, source, alert_id)
);

CREATE INDEX alerts_by_crt ON alerts (crt_finess_et, raised_at);
