-- Upload reservations: the bytes of every upload in progress on any node
-- (a resumable upload not finished yet, a multipart request being
-- received), so that user and group quotas count them wherever they run.
-- A row is written in the same transaction that checks the quota (see
-- catalog/upload_reservation.go) and deleted when the upload finishes, is
-- terminated or is swept; updated_at moves with the upload's progress, and
-- a row whose upload made no progress for the configured age is expired by
-- any node, so a dead node's reservations do not hold a quota for ever.
CREATE TABLE upload_reservations (
    upload_id  TEXT     PRIMARY KEY,
    user_id    BIGINT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node       TEXT     NOT NULL DEFAULT '',
    volume_id  BIGINT,                        -- NULL: a multipart request
    folder     TEXT     NOT NULL DEFAULT '',  -- folder key; '' for one file
    upload_key TEXT     NOT NULL DEFAULT '',  -- ID part from Seedbed-Upload-Key; '' for none
    size       BIGINT   NOT NULL CHECK (size >= 0),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX upload_reservations_user_idx ON upload_reservations (user_id, folder);
CREATE INDEX upload_reservations_node_idx ON upload_reservations (node);
CREATE INDEX upload_reservations_updated_idx ON upload_reservations (updated_at);
CREATE UNIQUE INDEX upload_reservations_key_idx ON upload_reservations (user_id, upload_key) WHERE upload_key <> '';
