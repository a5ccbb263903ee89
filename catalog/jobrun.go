package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrLeaseLost means a job's lease is no longer held by the holder and
// epoch the job started under: another node may lead now.
var ErrLeaseLost = errors.New("lease lost")

// jobRunsKept is how long finished job runs are kept.
const jobRunsKept = 30 * 24 * time.Hour

// JobRun is one run of a leader job, as the run recorded it.
type JobRun struct {
	ID         uint64
	Job        string
	Node       string
	Holder     string
	Epoch      int64
	StartedAt  time.Time
	FinishedAt time.Time // zero while running, or when the run died
	// Held is whether the lease was still the run's (same holder and epoch,
	// not expired) when it finished; nil while running or when it died.
	Held  *bool
	Error string
}

// leaseHeld reports whether holder holds lease name with epoch now, locking
// the lease row (PostgreSQL) so nobody takes it over until tx ends. On
// SQLite the IMMEDIATE transaction holds the write lock already.
func (c *Catalog) leaseHeld(tx *gorm.DB, name, holder string, epoch int64) (bool, error) {
	var rows []struct{ Live bool }
	var err error
	if c.dialect == DialectPostgres {
		err = tx.Raw(`SELECT expires_at > clock_timestamp() AS live FROM leases
WHERE name = ? AND holder = ? AND epoch = ? FOR UPDATE`, name, holder, epoch).Scan(&rows).Error
	} else {
		err = tx.Raw(`SELECT expires_at > ? AS live FROM leases WHERE name = ? AND holder = ? AND epoch = ?`,
			now(), name, holder, epoch).Scan(&rows).Error
	}
	return len(rows) == 1 && rows[0].Live, err
}

// clock is the SQL expression for "now" in job records: the database's
// clock on PostgreSQL (the one lease expiry is judged by), ours on SQLite.
func (c *Catalog) clock() (string, []any) {
	if c.dialect == DialectPostgres {
		return "clock_timestamp()", nil
	}
	return "?", []any{now()}
}

// StartJobRun records the start of a run of job by holder (of node) under
// the lease named job with epoch, in the same transaction that checks the
// lease is still held: ErrLeaseLost when it is not, and nothing is
// recorded. It returns the run's id for FinishJobRun.
func (c *Catalog) StartJobRun(ctx context.Context, job, node, holder string, epoch int64) (uint64, error) {
	var id uint64
	err := c.tx(ctx, func(tx *gorm.DB) error {
		held, err := c.leaseHeld(tx, job, holder, epoch)
		if err != nil {
			return err
		}
		if !held {
			return ErrLeaseLost
		}
		ts, args := c.clock()
		args = append([]any{job, node, holder, epoch}, args...)
		return tx.Raw(`INSERT INTO job_runs (job, node, holder, epoch, started_at) VALUES (?, ?, ?, ?, `+ts+`) RETURNING id`,
			args...).Scan(&id).Error
	})
	if err != nil {
		return 0, dbErr(fmt.Sprintf("start %s run", job), err)
	}
	return id, nil
}

// FinishJobRun records the end of run id with runErr (nil: success) and
// whether its lease was still held with the run's epoch. It returns
// ErrLeaseLost when it was not: the run outlived its lease, which the
// record shows (held = false).
func (c *Catalog) FinishJobRun(ctx context.Context, id uint64, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	var held bool
	var job string
	err := c.tx(ctx, func(tx *gorm.DB) error {
		var runs []struct {
			Job, Holder string
			Epoch       int64
		}
		if err := tx.Raw(`SELECT job, holder, epoch FROM job_runs WHERE id = ?`, id).Scan(&runs).Error; err != nil {
			return err
		}
		if len(runs) != 1 {
			return fmt.Errorf("job run %d: %w", id, ErrNotFound)
		}
		r := runs[0]
		job = r.Job
		var err error
		if held, err = c.leaseHeld(tx, r.Job, r.Holder, r.Epoch); err != nil {
			return err
		}
		ts, args := c.clock()
		args = append(args, held, msg, id)
		if err := tx.Exec(`UPDATE job_runs SET finished_at = `+ts+`, held = ?, error = ? WHERE id = ?`, args...).Error; err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM job_runs WHERE job = ? AND finished_at < ?`, r.Job, now().Add(-jobRunsKept)).Error
	})
	if err != nil {
		return dbErr(fmt.Sprintf("finish job run %d", id), err)
	}
	if !held {
		return fmt.Errorf("finish %s run %d: %w", job, id, ErrLeaseLost)
	}
	return nil
}

// JobRuns returns the runs of job started at or after since, oldest first.
func (c *Catalog) JobRuns(ctx context.Context, job string, since time.Time) ([]JobRun, error) {
	var rows []struct {
		ID                uint64
		Job, Node, Holder string
		Epoch             int64
		StartedAt         time.Time
		FinishedAt        *time.Time
		Held              *bool
		Error             string
	}
	err := c.read(ctx).Raw(`SELECT id, job, node, holder, epoch, started_at, finished_at, held, error FROM job_runs
WHERE job = ? AND started_at >= ? ORDER BY started_at, id`, job, since.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("%s runs", job), err)
	}
	out := make([]JobRun, len(rows))
	for i, r := range rows {
		out[i] = JobRun{ID: r.ID, Job: r.Job, Node: r.Node, Holder: r.Holder, Epoch: r.Epoch,
			StartedAt: utc(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt), Held: r.Held, Error: r.Error}
	}
	return out, nil
}
