-- crt-gateway storage, version 3: the CRTs' waiting lists, one row per volet 2 admission
-- request sent to ViaTrajectoire (its delivery), with the status ViaTrajectoire gives it.

CREATE TABLE waiting_list (
    delivery_id TEXT PRIMARY KEY REFERENCES deliveries(id),
    task        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sent', 'received', 'waiting_list',
                    'admission_proposed', 'accepted', 'refused', 'cancelled', 'admitted')),
    rank        INTEGER,
    reason      TEXT,
    -- When ViaTrajectoire last changed the request (its Task's meta.lastUpdated).
    status_at   TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
