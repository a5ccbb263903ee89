-- Leases: which node runs a job that must run on one node at a time
-- (retention and scrub scheduling). A holder renews its lease well before
-- expires_at; another node takes it over only once it has expired.
CREATE TABLE leases (
    name       TEXT     PRIMARY KEY,
    holder     TEXT     NOT NULL,
    expires_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
