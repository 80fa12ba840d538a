-- crt-gateway storage, version 8: messages partners send to the structures' MSSanté
-- mailboxes. Each is kept once per mailbox and Message-ID, sealed at rest (the original
-- message and what the gateway read of it), attached to a beneficiary, waiting in the
-- inbox for someone to resolve, refused, or rejected by an operator.

CREATE TABLE received_messages (
    id              TEXT PRIMARY KEY,
    mailbox         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    -- The CRT whose mailbox received it, when the gateway knows it.
    crt_finess_et   TEXT,
    beneficiary_ref TEXT,
    status          TEXT NOT NULL CHECK (status IN ('attached', 'unmatched', 'refused', 'rejected')),
    -- Why it is not attached: the volet's code^label, then the details.
    reason          TEXT,
    -- The Message-IDs it answers (JSON array): a reply to a message the gateway sent.
    answers         TEXT NOT NULL,
    -- Whether the sender has had its MDN (or none was asked for).
    answered        INTEGER NOT NULL DEFAULT 0,
    -- Sealed: what was read of it (JSON), and the message as received.
    summary         BLOB NOT NULL,
    message         BLOB NOT NULL,
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- Order of the DUI's event feed: a new message, then each change, takes the next one.
    seq             INTEGER NOT NULL UNIQUE,
    UNIQUE (mailbox, message_id)
);

CREATE INDEX received_by_beneficiary ON received_messages (crt_finess_et, beneficiary_ref);
