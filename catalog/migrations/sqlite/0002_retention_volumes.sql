-- Retention and volume administration (SQLite).

-- Every purge of a torrent's data by retention: when, which rule, why, by
-- whom ('auto' or 'cli:<user>'). finished_at is NULL while some node still
-- holds data of the torrent (its replica rows are removed as each node
-- deletes its copy); a restart finishes what a crash left half done.
CREATE TABLE purges (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    torrent_id  INTEGER  NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    rule        TEXT     NOT NULL,
    reason      TEXT     NOT NULL,
    actor       TEXT     NOT NULL,
    bytes       BIGINT   NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL,
    finished_at DATETIME
);
CREATE INDEX purges_torrent_id_idx ON purges (torrent_id);
CREATE INDEX purges_created_at_idx ON purges (created_at);

-- Runtime settings changed by administrators (placement policy, forced
-- volume); they override the config file until removed.
CREATE TABLE settings (
    key        TEXT     PRIMARY KEY,
    value      TEXT     NOT NULL,
    updated_at DATETIME NOT NULL
);

-- A volume's optional capacity cap (0: the file system's size) and its
-- reserved free space (below it the volume takes nothing new).
ALTER TABLE volumes ADD COLUMN capacity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN reserve BIGINT NOT NULL DEFAULT 0;
CREATE INDEX volumes_node_idx ON volumes (node);
CREATE INDEX torrents_state_idx ON torrents (state);
