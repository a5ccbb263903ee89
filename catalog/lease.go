package catalog

import (
	"context"
	"fmt"
	"time"
)

// AcquireLease takes or renews the lease called name for holder, for ttl.
// It returns true when holder holds the lease now: it was free, expired, or
// already held by holder (then it is renewed). It returns false while
// another holder's lease runs. On PostgreSQL, expiry is judged by the
// database's clock, so nodes whose clocks differ still agree; SQLite serves
// one machine, whose clock is used.
//
// A holder must stop acting as one once ttl has passed since the start of
// its last successful call: see node.Leader.
func (c *Catalog) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, invalid("lease", "need a name, a holder and a positive ttl")
	}
	var got []string
	var err error
	if c.dialect == DialectPostgres {
		err = c.write(ctx).Raw(`INSERT INTO leases (name, holder, expires_at, updated_at)
VALUES (?, ?, now() + make_interval(secs => ?), now())
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
RETURNING holder`, name, holder, ttl.Seconds()).Scan(&got).Error
	} else {
		t := now()
		err = c.write(ctx).Raw(`INSERT INTO leases (name, holder, expires_at, updated_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, updated_at = excluded.updated_at
WHERE leases.holder = excluded.holder OR leases.expires_at < ?
RETURNING holder`, name, holder, t.Add(ttl), t, t).Scan(&got).Error
	}
	if err != nil {
		return false, dbErr(fmt.Sprintf("acquire lease %s", name), err)
	}
	return len(got) == 1 && got[0] == holder, nil
}

// ReleaseLease gives up holder's lease called name, so another node can
// take it at once. Releasing a lease one does not hold does nothing.
func (c *Catalog) ReleaseLease(ctx context.Context, name, holder string) error {
	err := c.write(ctx).Exec(`DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder).Error
	return dbErr(fmt.Sprintf("release lease %s", name), err)
}

// Lease is who holds a lease and until when.
type Lease struct {
	Name, Holder string
	ExpiresAt    time.Time
}

// LeaseOf returns the lease called name; ErrNotFound if nobody ever took it
// or it was released.
func (c *Catalog) LeaseOf(ctx context.Context, name string) (*Lease, error) {
	var rows []Lease
	err := c.read(ctx).Raw(`SELECT name, holder, expires_at FROM leases WHERE name = ?`, name).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("lease %s", name), err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("lease %s: %w", name, ErrNotFound)
	}
	l := rows[0]
	l.ExpiresAt = utc(l.ExpiresAt)
	return &l, nil
}
