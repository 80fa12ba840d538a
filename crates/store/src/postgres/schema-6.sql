-- crt-gateway storage on PostgreSQL, version 6: the same change as the embedded database's
-- version 11 (see ../schema-11.sql): the planning's calendar links.

CREATE TABLE calendar_links (
    id            UUID PRIMARY KEY,
    crt_finess_et TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('beneficiary', 'professional')),
    subject_ref   TEXT NOT NULL,
    label         TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE INDEX calendar_links_by_crt ON calendar_links (crt_finess_et, created_at);
