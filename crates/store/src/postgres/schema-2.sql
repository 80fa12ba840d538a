-- crt-gateway storage on PostgreSQL, version 2: the same change as the embedded database's
-- version 7 (see ../schema-7.sql): the waiting list becomes the admission requests that
-- reached each CRT through ViaTrajectoire, with where each stands.

DROP TABLE waiting_list;

CREATE TABLE admission_requests (
    crt_finess_et TEXT NOT NULL,
    request_id    TEXT COLLATE "C" NOT NULL,
    remote_id     TEXT NOT NULL,
    changed_at    TEXT COLLATE "C" NOT NULL,
    withdrawn     BOOLEAN NOT NULL DEFAULT FALSE,
    payload       BYTEA NOT NULL,
    status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'received',
                      'waiting_list', 'accepted', 'admitted', 'refused', 'cancelled')),
    rank          BIGINT,
    reason        TEXT,
    status_at     TEXT COLLATE "C",
    received_at   BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (crt_finess_et, request_id)
);
