package catalog

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ScrubRound is one cluster-wide scrub: the holder of the "scrub" lease
// starts it, and every node then re-verifies its own volumes for it.
type ScrubRound struct {
	ID        uint64
	StartedAt time.Time
	StartedBy string // the node that started it, or the admin
	// Baseline rounds only mark when the schedule began: the replicas were
	// verified when they were added, so there is nothing to scrub yet.
	Baseline bool
}

// Scrub progress states.
const (
	ScrubRunning = "running"
	ScrubDone    = "done"
	ScrubFailed  = "failed"
)

// ScrubVolumeProgress is what a node did for a round on one of its volumes.
type ScrubVolumeProgress struct {
	RoundID    uint64
	Node       string
	Volume     string
	State      string // ScrubRunning, ScrubDone, ScrubFailed
	Replicas   int64  // replicas verified so far
	Corrupt    int64  // corrupt replicas found in this round
	BytesDone  int64
	BytesTotal int64
	Error      string
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero until done or failed
}

// ScrubStatus is the latest scrub round with every volume's progress, and
// the volumes (not in maintenance) that have not started it yet: what the
// admin page shows.
type ScrubStatus struct {
	Round    *ScrubRound // nil: no round was ever started
	Progress []ScrubVolumeProgress
	Pending  []Volume
}

// StartScrubRound starts a round now, by by (a node or an admin).
func (c *Catalog) StartScrubRound(ctx context.Context, by string) (*ScrubRound, error) {
	var r *ScrubRound
	err := c.tx(ctx, func(tx *gorm.DB) error {
		var err error
		r, err = insertScrubRound(tx, by, false)
		return err
	})
	return r, dbErr("start scrub round", err)
}

// StartScrubRoundIfDue starts a round when the latest one began every ago
// or longer, and returns it; nil when none was due. With no round at all it
// records a baseline round, so the first real round comes every after the
// schedule began rather than at once.
func (c *Catalog) StartScrubRoundIfDue(ctx context.Context, by string, every time.Duration) (*ScrubRound, error) {
	if every <= 0 {
		return nil, invalid("scrub interval", "must be positive")
	}
	var r *ScrubRound
	err := c.tx(ctx, func(tx *gorm.DB) error {
		last, err := latestScrubRound(tx, true)
		if err != nil {
			return err
		}
		switch {
		case last == nil:
			r, err = insertScrubRound(tx, by, true)
		case !now().Before(last.StartedAt.Add(every)):
			r, err = insertScrubRound(tx, by, false)
		}
		return err
	})
	return r, dbErr("start scrub round", err)
}

func insertScrubRound(tx *gorm.DB, by string, baseline bool) (*ScrubRound, error) {
	r := &ScrubRound{StartedAt: now(), StartedBy: by, Baseline: baseline}
	err := tx.Raw(`INSERT INTO scrub_rounds (started_at, started_by, baseline) VALUES (?, ?, ?) RETURNING id`,
		r.StartedAt, by, baseline).Scan(&r.ID).Error
	return r, err
}

// latestScrubRound returns the newest round (baselines too when asked), or
// nil when there is none.
func latestScrubRound(db *gorm.DB, baselines bool) (*ScrubRound, error) {
	q := `SELECT id, started_at, started_by, baseline FROM scrub_rounds`
	if !baselines {
		q += ` WHERE baseline = FALSE`
	}
	var rows []ScrubRound
	if err := db.Raw(q + ` ORDER BY id DESC LIMIT 1`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	r := rows[0]
	r.StartedAt = utc(r.StartedAt)
	return &r, nil
}

// LatestScrubRound returns the newest round that is not a baseline;
// ErrNotFound when none was started yet.
func (c *Catalog) LatestScrubRound(ctx context.Context) (*ScrubRound, error) {
	r, err := latestScrubRound(c.read(ctx), false)
	if err != nil {
		return nil, dbErr("latest scrub round", err)
	}
	if r == nil {
		return nil, fmt.Errorf("latest scrub round: %w", ErrNotFound)
	}
	return r, nil
}

// SetScrubProgress records p (by round, node and volume), replacing what
// was recorded before. StartedAt is kept from the first record.
func (c *Catalog) SetScrubProgress(ctx context.Context, p ScrubVolumeProgress) error {
	switch p.State {
	case ScrubRunning, ScrubDone, ScrubFailed:
	default:
		return invalid("scrub state", fmt.Sprintf("%q is not running, done or failed", p.State))
	}
	t := now()
	var finished *time.Time
	if p.State != ScrubRunning {
		finished = &t
	}
	err := c.write(ctx).Exec(`INSERT INTO scrub_progress (round_id, node, volume, state, replicas, corrupt, bytes_done, bytes_total,
  error, started_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (round_id, node, volume) DO UPDATE SET state = excluded.state, replicas = excluded.replicas,
  corrupt = excluded.corrupt, bytes_done = excluded.bytes_done, bytes_total = excluded.bytes_total,
  error = excluded.error, updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
		p.RoundID, p.Node, p.Volume, p.State, p.Replicas, p.Corrupt, p.BytesDone, p.BytesTotal, p.Error, t, t, finished).Error
	return dbErr("set scrub progress", err)
}

// ScrubProgress returns every volume's progress in round, by node and
// volume.
func (c *Catalog) ScrubProgress(ctx context.Context, round uint64) ([]ScrubVolumeProgress, error) {
	var rows []struct {
		RoundID                                  uint64
		Node, Volume, State, Error               string
		Replicas, Corrupt, BytesDone, BytesTotal int64
		StartedAt, UpdatedAt                     time.Time
		FinishedAt                               *time.Time
	}
	err := c.read(ctx).Raw(`SELECT round_id, node, volume, state, replicas, corrupt, bytes_done, bytes_total, error,
  started_at, updated_at, finished_at FROM scrub_progress WHERE round_id = ? ORDER BY node, volume`, round).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("scrub progress", err)
	}
	out := make([]ScrubVolumeProgress, len(rows))
	for i, r := range rows {
		out[i] = ScrubVolumeProgress{RoundID: r.RoundID, Node: r.Node, Volume: r.Volume, State: r.State,
			Replicas: r.Replicas, Corrupt: r.Corrupt, BytesDone: r.BytesDone, BytesTotal: r.BytesTotal, Error: r.Error,
			StartedAt: utc(r.StartedAt), UpdatedAt: utc(r.UpdatedAt), FinishedAt: utcPtr(r.FinishedAt)}
	}
	return out, nil
}

// ScrubStatusNow returns the latest round, its progress and the volumes
// that have not started it yet.
func (c *Catalog) ScrubStatusNow(ctx context.Context) (*ScrubStatus, error) {
	r, err := latestScrubRound(c.read(ctx), false)
	if err != nil {
		return nil, dbErr("scrub status", err)
	}
	st := &ScrubStatus{Round: r}
	if r == nil {
		return st, nil
	}
	if st.Progress, err = c.ScrubProgress(ctx, r.ID); err != nil {
		return nil, err
	}
	vols, err := c.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	started := map[[2]string]bool{}
	for _, p := range st.Progress {
		started[[2]string{p.Node, p.Volume}] = true
	}
	for _, v := range vols {
		if v.State != VolumeMaintenance && !started[[2]string{v.Node, v.Name}] {
			st.Pending = append(st.Pending, v)
		}
	}
	return st, nil
}

// ScrubRoundDue reports whether StartScrubRoundIfDue would start a round
// (or the baseline) now: a cheap read before taking the lease's fence.
func (c *Catalog) ScrubRoundDue(ctx context.Context, every time.Duration) (bool, error) {
	last, err := latestScrubRound(c.read(ctx), true)
	if err != nil {
		return false, dbErr("scrub round due", err)
	}
	return last == nil || !now().Before(last.StartedAt.Add(every)), nil
}
