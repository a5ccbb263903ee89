-- Groups ("dormitories") with a shared storage quota. A user belongs to at
-- most one group; quota_bytes NULL means no limit. users.quota_bytes (0001)
-- is the per-user quota; NULL there means the configured default.
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT     NOT NULL,
    quota_bytes BIGINT CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX user_groups_name_key ON user_groups (lower(name));

ALTER TABLE users ADD COLUMN group_id INTEGER REFERENCES user_groups (id) ON DELETE SET NULL;
CREATE INDEX users_group_id_idx ON users (group_id);
