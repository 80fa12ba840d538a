-- crt-gateway storage, version 6: the CRTs' volet 1 actions (workshops, consultations,
-- training), one row per action as the DUI names it, its newest version kept. Counts of
-- participants only: an action names no one.

CREATE TABLE volet1_actions (
    crt_finess_et TEXT NOT NULL,
    -- The DUI's identifier of the action (source.record_ref).
    source_ref    TEXT NOT NULL,
    -- When the DUI last changed it (source.updated_at), in milliseconds.
    updated_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    payload       BLOB NOT NULL,
    PRIMARY KEY (crt_finess_et, source_ref)
);

-- A CRT's deliveries, for the exchanges its activity report counts.
CREATE INDEX records_crt ON records (crt_finess_et, received_at);
