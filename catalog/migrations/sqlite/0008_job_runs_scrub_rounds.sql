-- Fencing for leader jobs and leader-driven scrub rounds (SQLite).
-- Keep in step with ../postgres/0008_job_runs_scrub_rounds.sql.

-- A lease's epoch grows by one every time the lease changes holder (a
-- release keeps the row with an empty holder, so epochs never repeat). A
-- job run that finds the same holder and epoch at its start and at its end
-- ran while no other node could lead. (Rows of older binaries get epoch 1.)
ALTER TABLE leases ADD COLUMN epoch BIGINT NOT NULL DEFAULT 1;

-- Every run of a leader job (retention, scrub scheduling), written by the
-- run itself: started under the lease, finished with whether the lease was
-- still held (same holder, same epoch, not expired) at its end.
-- Times come from the machine's clock (SQLite serves one machine).
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT        NOT NULL,
    node        TEXT        NOT NULL,
    holder      TEXT        NOT NULL,
    epoch       BIGINT      NOT NULL,
    started_at  DATETIME    NOT NULL,
    finished_at DATETIME,
    held        BOOLEAN,                      -- NULL while running or if the run died
    error       TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job_started_idx ON job_runs (job, started_at);

-- Scrub rounds: the holder of the "scrub" lease starts one every scrub
-- interval; every node then re-verifies its own volumes for that round. A
-- baseline round only marks when the schedule began (nothing to scrub).
CREATE TABLE scrub_rounds (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at DATETIME    NOT NULL,
    started_by TEXT        NOT NULL,
    baseline   BOOLEAN     NOT NULL DEFAULT FALSE
);

-- What each node did for a round, per volume: what the admin page shows.
CREATE TABLE scrub_progress (
    round_id    BIGINT      NOT NULL REFERENCES scrub_rounds (id) ON DELETE CASCADE,
    node        TEXT        NOT NULL,
    volume      TEXT        NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    replicas    BIGINT      NOT NULL DEFAULT 0,
    corrupt     BIGINT      NOT NULL DEFAULT 0,
    bytes_done  BIGINT      NOT NULL DEFAULT 0,
    bytes_total BIGINT      NOT NULL DEFAULT 0,
    error       TEXT        NOT NULL DEFAULT '',
    started_at  DATETIME    NOT NULL,
    updated_at  DATETIME    NOT NULL,
    finished_at DATETIME,
    PRIMARY KEY (round_id, node, volume)
);
