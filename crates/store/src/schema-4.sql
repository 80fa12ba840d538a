-- crt-gateway storage, version 4: the liaison-book entries partners wrote on the regional
-- platforms, as the gateway read them back, for the CRT's software to show.

CREATE TABLE partner_entries (
    platform        TEXT NOT NULL,
    -- The platform's id for the entry (Communication/<id>).
    remote_id       TEXT NOT NULL,
    crt_finess_et   TEXT NOT NULL,
    -- The DUI's local id of the beneficiary.
    beneficiary_ref TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('note', 'alert')),
    topic           TEXT NOT NULL,
    author          TEXT NOT NULL,
    written_at      TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- When the platform last changed the entry (its meta.lastUpdated).
    changed_at      TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (platform, remote_id)
);

CREATE INDEX partner_entries_by_crt ON partner_entries (crt_finess_et, beneficiary_ref, written_at);
