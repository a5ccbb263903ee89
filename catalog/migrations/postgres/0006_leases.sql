-- Leases: which node runs a job that must run on one node at a time
-- (retention and scrub scheduling). A holder renews its lease well before
-- expires_at; another node takes it over only once it has expired. Expiry
-- is judged by the database's clock, so nodes' clocks need not agree.
CREATE TABLE leases (
    name       TEXT        PRIMARY KEY,
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
