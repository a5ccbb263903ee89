-- Volume usage reported by each node's heartbeat (PostgreSQL).
--
-- Every node measures its own volumes (statfs, or the content against the
-- capacity cap) on each heartbeat and writes the numbers here, so the
-- retention leader plans the high-water rule for the volumes of every
-- online node, not only its own. usage_at is when the node measured; NULL
-- until its first report. freed_at is when a purge last deleted data on
-- the volume (catalog.FinishPurgeReplica): a report measured before it
-- still counts the deleted bytes and is not planned from. Both times come
-- from the clock of the volume's own node.
ALTER TABLE volumes ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN capacity_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN usage_at TIMESTAMPTZ;
ALTER TABLE volumes ADD COLUMN freed_at TIMESTAMPTZ;
