-- crt-gateway storage, version 12: each beneficiary's consents in a row of their own. A
-- record's consents are compared with those of the beneficiary's newest record before it
-- is stored (routing and the consent trace); keeping them here spares intake opening and
-- parsing that whole record. The value is sealed like a payload (row `consents:<record>`).
-- Beneficiaries whose records all predate this version have no row: intake falls back to
-- their newest record, and the row appears with their next one.

CREATE TABLE beneficiary_consents (
    crt_finess_et   TEXT NOT NULL,
    beneficiary_ref TEXT NOT NULL,
    record_id       TEXT NOT NULL REFERENCES records (id),
    received_at     INTEGER NOT NULL,
    consents        BLOB NOT NULL,
    PRIMARY KEY (crt_finess_et, beneficiary_ref)
) WITHOUT ROWID;
