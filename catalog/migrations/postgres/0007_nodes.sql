-- Nodes and per-node volume names (PostgreSQL).
--
-- A volume's name is unique on its node, not across the catalog: every node
-- may call its volume "default". Ids are untouched, so replicas keep
-- pointing at their volumes.
ALTER TABLE volumes DROP CONSTRAINT IF EXISTS volumes_name_key;
ALTER TABLE volumes ADD CONSTRAINT volumes_node_name_key UNIQUE (node, name);

-- Every running node's heartbeat: a node is online while last_seen is
-- recent (catalog.NodeTimeout); replicas on other nodes neither count
-- toward a torrent's replica count nor appear in its url-list.
CREATE TABLE nodes (
    name       TEXT        PRIMARY KEY,
    public_url TEXT        NOT NULL DEFAULT '',
    peer_addr  TEXT        NOT NULL DEFAULT '',
    version    TEXT        NOT NULL DEFAULT '',
    started_at TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL
);
CREATE INDEX nodes_last_seen_idx ON nodes (last_seen);
