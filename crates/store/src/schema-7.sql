-- crt-gateway storage, version 7: the CRT receives volet 2 admission requests through
-- ViaTrajectoire instead of sending them. The waiting list of version 3 followed requests
-- the CRT had sent; it becomes the requests that reached the CRT, each with where it
-- stands after the CRT's answers. Rows of the old table named deliveries of a flow that no
-- longer exists and are not carried over.

DROP TABLE waiting_list;

CREATE TABLE admission_requests (
    crt_finess_et TEXT NOT NULL,
    -- ViaTrajectoire's national identifier of the request.
    request_id    TEXT NOT NULL,
    -- The request in ViaTrajectoire (DocumentReference/<id>).
    remote_id     TEXT NOT NULL,
    -- ViaTrajectoire's last change of the request (meta.lastUpdated, RFC 3339).
    changed_at    TEXT NOT NULL,
    withdrawn     INTEGER NOT NULL DEFAULT 0,
    -- The request as read, sealed at rest: it names the person.
    payload       BLOB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'received',
                      'waiting_list', 'accepted', 'admitted', 'refused', 'cancelled')),
    rank          INTEGER,
    reason        TEXT,
    -- When ViaTrajectoire last changed the status (the Task's meta.lastUpdated).
    status_at     TEXT,
    received_at   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (crt_finess_et, request_id)
);
