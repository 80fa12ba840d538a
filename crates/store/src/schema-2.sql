-- crt-gateway storage, version 2: what recipients' systems said about a delivery
-- (MSSanté MDNs and DSNs), one row per notification and recipient.

CREATE TABLE acknowledgements (
    delivery_id     TEXT NOT NULL REFERENCES deliveries(id),
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('delivered', 'read', 'failed')),
    code            TEXT,
    label           TEXT,
    kind            TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, recipient, status, notification_id)
);
