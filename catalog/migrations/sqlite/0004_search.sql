-- Browse and full-text search (SQLite, FTS5: build with -tags sqlite_fts5).
--
-- seeders/leechers are the tracker's live swarm counts, copied now and then
-- by the node (Catalog.SetSwarmCounts) so a page sorted by seeders is one
-- indexed query, not 100,000 lookups; pages still show the live counts.
ALTER TABLE torrents ADD COLUMN seeders BIGINT NOT NULL DEFAULT 0;
ALTER TABLE torrents ADD COLUMN leechers BIGINT NOT NULL DEFAULT 0;
-- The torrent's file paths, one per line (capped; see searchPaths), written
-- with the row so one index entry per torrent covers its files too.
ALTER TABLE torrents ADD COLUMN search_paths TEXT NOT NULL DEFAULT '';
UPDATE torrents SET search_paths = coalesce((SELECT substr(group_concat(path, char(10)), 1, 16384) FROM files WHERE files.torrent_id = torrents.id), '');

CREATE INDEX torrents_seeders_idx ON torrents (seeders, id);
CREATE INDEX torrents_size_id_idx ON torrents (size, id);
CREATE INDEX torrents_snatches_idx ON torrents (snatches, id);
CREATE INDEX torrents_title_idx ON torrents (lower(title), id);
-- COUNT(*) of a filtered list reads this index, not the wide rows.
CREATE INDEX torrents_state_category_idx ON torrents (state, category);
-- A category's page in each order.
DROP INDEX torrents_category_idx;
CREATE INDEX torrents_category_id_idx ON torrents (category, id);
CREATE INDEX torrents_category_seeders_idx ON torrents (category, seeders, id);
CREATE INDEX torrents_category_size_idx ON torrents (category, size, id);
CREATE INDEX torrents_category_snatches_idx ON torrents (category, snatches, id);

-- One row per torrent that is not deleted, rowid = torrents.id, kept by
-- triggers; so a search's match count needs no look at the torrents table.
CREATE VIRTUAL TABLE torrent_text USING fts5(title, name, description, paths, tokenize = 'unicode61', prefix = '2 3');
INSERT INTO torrent_text (rowid, title, name, description, paths)
    SELECT id, title, name, description, search_paths FROM torrents WHERE state <> 'deleted';
CREATE TRIGGER torrents_text_ai AFTER INSERT ON torrents WHEN new.state <> 'deleted' BEGIN
    INSERT INTO torrent_text (rowid, title, name, description, paths) VALUES (new.id, new.title, new.name, new.description, new.search_paths);
END;
CREATE TRIGGER torrents_text_au AFTER UPDATE OF title, name, description, search_paths, state ON torrents BEGIN
    DELETE FROM torrent_text WHERE rowid = old.id;
    INSERT INTO torrent_text (rowid, title, name, description, paths)
        SELECT new.id, new.title, new.name, new.description, new.search_paths WHERE new.state <> 'deleted';
END;
CREATE TRIGGER torrents_text_ad AFTER DELETE ON torrents BEGIN
    DELETE FROM torrent_text WHERE rowid = old.id;
END;

-- Invitation codes for registration = "invite": single use; only the
-- SHA-256 of a code is stored.
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash  TEXT     NOT NULL UNIQUE,
    created_by INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    used_by    INTEGER  REFERENCES users (id) ON DELETE SET NULL,
    used_at    DATETIME
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
