-- crt-gateway storage on PostgreSQL, version 3: the same change as the embedded database's
-- version 8 (see ../schema-8.sql): messages received in the structures' MSSanté mailboxes.

CREATE SEQUENCE received_seq;

CREATE TABLE received_messages (
    id              UUID PRIMARY KEY,
    mailbox         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    crt_finess_et   TEXT,
    beneficiary_ref TEXT,
    status          TEXT NOT NULL CHECK (status IN ('attached', 'unmatched', 'refused', 'rejected')),
    reason          TEXT,
    answers         TEXT NOT NULL,
    answered        BOOLEAN NOT NULL DEFAULT FALSE,
    summary         BYTEA NOT NULL,
    message         BYTEA NOT NULL,
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    seq             BIGINT NOT NULL UNIQUE DEFAULT nextval('received_seq'),
    UNIQUE (mailbox, message_id)
);

CREATE INDEX received_by_beneficiary ON received_messages (crt_finess_et, beneficiary_ref);
