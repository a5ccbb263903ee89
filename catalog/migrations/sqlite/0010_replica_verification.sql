-- seedbed:foreign_keys=off
-- Replicas pending verification, surplus replicas and each node's wanted
-- replica count (SQLite).
--
-- A node that restarts or returns after being offline has its verified
-- replicas set to 'pending' until its seedbox checked them again; the
-- leader marks copies beyond the wanted count 'surplus' and their node
-- deletes them (node/trim.go). replicas.created_at (when the copy was first
-- recorded, never changed by state updates) decides which copies stay.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter); no table
-- references replicas, and the foreign key check runs before commit.

CREATE TABLE replicas_new (
    torrent_id INTEGER  NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    volume_id  INTEGER  NOT NULL REFERENCES volumes (id),
    node       TEXT     NOT NULL DEFAULT '',
    state      TEXT     NOT NULL CHECK (state IN ('verified', 'copying', 'corrupt', 'pending', 'surplus')),
    updated_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    PRIMARY KEY (torrent_id, volume_id)
);
INSERT INTO replicas_new (torrent_id, volume_id, node, state, updated_at, created_at)
    SELECT torrent_id, volume_id, node, state, updated_at, updated_at FROM replicas;
DROP TABLE replicas;
ALTER TABLE replicas_new RENAME TO replicas;
CREATE INDEX replicas_node_idx ON replicas (node, state);
CREATE INDEX replicas_volume_id_idx ON replicas (volume_id);

-- The seedbox.replicas each node runs with: the leader never trims below
-- the largest wish of an online node, so nodes configured differently do
-- not undo each other's copies.
ALTER TABLE nodes ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
