-- seedbed:foreign_keys=off
-- Nodes and per-node volume names (SQLite).
--
-- A volume's name is unique on its node, not across the catalog: every node
-- may call its volume "default". SQLite cannot drop the inline UNIQUE of
-- volumes.name (an automatic index), so the table is rebuilt following
-- https://www.sqlite.org/lang_altertable.html#otheralter: the migration runs
-- with foreign keys off (the directive above; see migrate.go), keeps every
-- id so replicas.volume_id stays valid, and is checked with
-- PRAGMA foreign_key_check before it commits.

CREATE TABLE volumes_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT     NOT NULL,
    path       TEXT     NOT NULL,
    node       TEXT     NOT NULL DEFAULT '',
    state      TEXT     NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'readonly', 'maintenance')),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    capacity   BIGINT   NOT NULL DEFAULT 0,
    reserve    BIGINT   NOT NULL DEFAULT 0,
    UNIQUE (node, name)
);
INSERT INTO volumes_new (id, name, path, node, state, created_at, updated_at, capacity, reserve)
    SELECT id, name, path, node, state, created_at, updated_at, capacity, reserve FROM volumes;
DROP TABLE volumes;
ALTER TABLE volumes_new RENAME TO volumes;
CREATE INDEX volumes_node_idx ON volumes (node);

-- Every running node's heartbeat: a node is online while last_seen is
-- recent (catalog.NodeTimeout); replicas on other nodes neither count
-- toward a torrent's replica count nor appear in its url-list.
CREATE TABLE nodes (
    name       TEXT     PRIMARY KEY,
    public_url TEXT     NOT NULL DEFAULT '',
    peer_addr  TEXT     NOT NULL DEFAULT '',
    version    TEXT     NOT NULL DEFAULT '',
    started_at DATETIME NOT NULL,
    last_seen  DATETIME NOT NULL
);
CREATE INDEX nodes_last_seen_idx ON nodes (last_seen);
