-- crt-gateway storage on PostgreSQL, version 7: the same change as the embedded database's
-- version 12 (see ../schema-12.sql): each beneficiary's consents in a row of their own.

CREATE TABLE beneficiary_consents (
    crt_finess_et   TEXT NOT NULL,
    beneficiary_ref TEXT NOT NULL,
    record_id       UUID NOT NULL REFERENCES records (id),
    received_at     BIGINT NOT NULL,
    consents        BYTEA NOT NULL,
    PRIMARY KEY (crt_finess_et, beneficiary_ref)
);
