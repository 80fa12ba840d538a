-- crt-gateway storage, version 11: the planning's calendar links. A link gives whoever
-- holds it a beneficiary's or a professional's interventions as an iCalendar feed; the
-- secret is kept only as its SHA-256, and a revoked link answers no more.

CREATE TABLE calendar_links (
    id            TEXT PRIMARY KEY,
    crt_finess_et TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('beneficiary', 'professional')),
    subject_ref   TEXT NOT NULL,
    label         TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

CREATE INDEX calendar_links_by_crt ON calendar_links (crt_finess_et, created_at);
