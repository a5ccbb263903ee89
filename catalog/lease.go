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
	epoch, err := c.AcquireLeaseEpoch(ctx, name, holder, ttl)
	return epoch > 0, err
}

// AcquireLeaseEpoch is AcquireLease returning the lease's epoch when holder
// holds it (0 when not). The epoch grows by one every time the lease
// changes holder and stays while one holder renews it, so a job that sees
// the same holder and epoch before and after its work knew no other leader
// in between (see StartJobRun).
func (c *Catalog) AcquireLeaseEpoch(ctx context.Context, name, holder string, ttl time.Duration) (int64, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return 0, invalid("lease", "need a name, a holder and a positive ttl")
	}
	var got []struct {
		Holder string
		Epoch  int64
	}
	var err error
	if c.dialect == DialectPostgres {
		err = c.write(ctx).Raw(`INSERT INTO leases (name, holder, expires_at, updated_at, epoch)
VALUES (?, ?, now() + make_interval(secs => ?), now(), 1)
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at,
  epoch = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.epoch ELSE leases.epoch + 1 END
WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
RETURNING holder, epoch`, name, holder, ttl.Seconds()).Scan(&got).Error
	} else {
		t := now()
		err = c.write(ctx).Raw(`INSERT INTO leases (name, holder, expires_at, updated_at, epoch)
VALUES (?, ?, ?, ?, 1)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, updated_at = excluded.updated_at,
  epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END
WHERE leases.holder = excluded.holder OR leases.expires_at < ?
RETURNING holder, epoch`, name, holder, t.Add(ttl), t, t).Scan(&got).Error
	}
	if err != nil {
		return 0, dbErr(fmt.Sprintf("acquire lease %s", name), err)
	}
	if len(got) != 1 || got[0].Holder != holder {
		return 0, nil
	}
	return got[0].Epoch, nil
}

// released is the expiry a released lease gets: long past, so anyone takes
// it at once.
var released = time.Unix(0, 0).UTC()

// ReleaseLease gives up holder's lease called name, so another node can
// take it at once. Releasing a lease one does not hold does nothing. The
// row stays (with no holder) so the lease's epoch never repeats.
func (c *Catalog) ReleaseLease(ctx context.Context, name, holder string) error {
	err := c.write(ctx).Exec(`UPDATE leases SET holder = '', expires_at = ?, updated_at = ? WHERE name = ? AND holder = ?`,
		released, now(), name, holder).Error
	return dbErr(fmt.Sprintf("release lease %s", name), err)
}

// Lease is who holds a lease and until when.
type Lease struct {
	Name, Holder string
	Epoch        int64
	ExpiresAt    time.Time
}

// LeaseOf returns the lease called name; ErrNotFound if nobody ever took it
// or it was released.
func (c *Catalog) LeaseOf(ctx context.Context, name string) (*Lease, error) {
	var rows []Lease
	err := c.read(ctx).Raw(`SELECT name, holder, epoch, expires_at FROM leases WHERE name = ? AND holder <> ''`, name).Scan(&rows).Error
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
