-- Seedbed catalog, initial schema (SQLite).
-- Timestamps are DATETIME columns holding UTC text written by the Go code
-- (mattn/go-sqlite3 formats time.Time as "2006-01-02 15:04:05.999999999+00:00",
-- which sorts correctly as text); the code sets created_at/updated_at itself.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT     NOT NULL,
    email         TEXT,
    password_hash TEXT     NOT NULL,
    role          TEXT     NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'moderator', 'admin')),
    passkey       TEXT     NOT NULL CHECK (length(passkey) = 32),
    disabled      BOOLEAN  NOT NULL DEFAULT FALSE,
    seedbox       BOOLEAN  NOT NULL DEFAULT FALSE,
    uploaded      BIGINT   NOT NULL DEFAULT 0,
    downloaded    BIGINT   NOT NULL DEFAULT 0,
    quota_bytes   BIGINT,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_name_key ON users (lower(name));
CREATE UNIQUE INDEX users_passkey_key ON users (passkey);
CREATE INDEX users_updated_at_idx ON users (updated_at);

-- Passkeys replaced by a rotation; the tracker feed reports them so nodes
-- drop them from memory.
CREATE TABLE revoked_passkeys (
    passkey    TEXT     PRIMARY KEY,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    revoked_at DATETIME NOT NULL
);
CREATE INDEX revoked_passkeys_revoked_at_idx ON revoked_passkeys (revoked_at);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT     NOT NULL DEFAULT '',
    token_hash TEXT     NOT NULL UNIQUE,
    created_at DATETIME NOT NULL,
    revoked_at DATETIME
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE sessions (
    token_hash TEXT     PRIMARY KEY,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE torrents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    info_hash      TEXT     NOT NULL UNIQUE CHECK (length(info_hash) = 40),
    name           TEXT     NOT NULL,
    title          TEXT     NOT NULL,
    category       TEXT     NOT NULL DEFAULT '',
    description    TEXT     NOT NULL DEFAULT '',
    size           BIGINT   NOT NULL CHECK (size >= 0),
    md5_10m        TEXT     NOT NULL,
    piece_length   BIGINT   NOT NULL,
    pieces         BLOB     NOT NULL,
    info_bytes     BLOB     NOT NULL,
    single_file    BOOLEAN  NOT NULL,
    state          TEXT     NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'purged', 'deleted')),
    uploader_id    INTEGER  NOT NULL REFERENCES users (id),
    pinned         BOOLEAN  NOT NULL DEFAULT FALSE,
    purged_at      DATETIME,
    purge_reason   TEXT     NOT NULL DEFAULT '',
    snatches       BIGINT   NOT NULL DEFAULT 0,
    last_active_at DATETIME,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL
);
CREATE INDEX torrents_dedupe_idx ON torrents (size, md5_10m);
CREATE INDEX torrents_updated_at_idx ON torrents (updated_at);
CREATE INDEX torrents_created_at_idx ON torrents (created_at);
CREATE INDEX torrents_uploader_id_idx ON torrents (uploader_id);
CREATE INDEX torrents_category_idx ON torrents (category);

CREATE TABLE files (
    torrent_id INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    path       TEXT    NOT NULL,
    size       BIGINT  NOT NULL CHECK (size >= 0),
    PRIMARY KEY (torrent_id, idx)
);

CREATE TABLE volumes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT     NOT NULL UNIQUE,
    path       TEXT     NOT NULL,
    node       TEXT     NOT NULL DEFAULT '',
    state      TEXT     NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'readonly', 'maintenance')),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE replicas (
    torrent_id INTEGER  NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    volume_id  INTEGER  NOT NULL REFERENCES volumes (id),
    node       TEXT     NOT NULL DEFAULT '',
    state      TEXT     NOT NULL CHECK (state IN ('verified', 'copying', 'corrupt')),
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (torrent_id, volume_id)
);
CREATE INDEX replicas_node_idx ON replicas (node, state);
CREATE INDEX replicas_volume_id_idx ON replicas (volume_id);

-- Per user and torrent transfer history, from the tracker's accounting.
CREATE TABLE user_torrents (
    user_id        INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    torrent_id     INTEGER  NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    uploaded       BIGINT   NOT NULL DEFAULT 0,
    downloaded     BIGINT   NOT NULL DEFAULT 0,
    completed_at   DATETIME,
    created_at     DATETIME NOT NULL,
    last_active_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, torrent_id)
);
CREATE INDEX user_torrents_torrent_id_idx ON user_torrents (torrent_id);
