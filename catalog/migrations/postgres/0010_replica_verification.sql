-- Replicas pending verification, surplus replicas and each node's wanted
-- replica count (PostgreSQL).
--
-- A node that restarts or returns after being offline has its verified
-- replicas set to 'pending' until its seedbox checked them again; the
-- leader marks copies beyond the wanted count 'surplus' and their node
-- deletes them (node/trim.go). replicas.created_at (when the copy was first
-- recorded, never changed by state updates) decides which copies stay.
ALTER TABLE replicas DROP CONSTRAINT IF EXISTS replicas_state_check;
ALTER TABLE replicas ADD CONSTRAINT replicas_state_check
    CHECK (state IN ('verified', 'copying', 'corrupt', 'pending', 'surplus'));
ALTER TABLE replicas ADD COLUMN created_at TIMESTAMPTZ;
UPDATE replicas SET created_at = updated_at;
ALTER TABLE replicas ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN created_at SET NOT NULL;

-- The seedbox.replicas each node runs with: the leader never trims below
-- the largest wish of an online node, so nodes configured differently do
-- not undo each other's copies.
ALTER TABLE nodes ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
