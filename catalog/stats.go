package catalog

import (
	"context"
	"fmt"
	"sort"

	"gorm.io/gorm"
)

// StatDelta is transfer accounting for one user and torrent since the last
// flush. Completed is set when the user announced event=completed;
// Leeching when one of the user's peers announced as a leecher (left > 0),
// even with nothing transferred: demand that keeps the torrent from going
// stale for retention.
type StatDelta struct {
	UserID, TorrentID    uint64
	Uploaded, Downloaded int64
	Completed            bool
	Leeching             bool
}

// ApplyStats adds a batch of deltas in one transaction: to the users'
// uploaded and downloaded totals, to the per user and torrent history
// (uploaded, downloaded, first completion time), and to the torrents'
// snatch counts (one per user, at their first completion) and last activity
// time. Deltas for the same user and torrent are merged. A delta naming an
// unknown user or torrent fails the whole batch with ErrNotFound. Neither
// users.updated_at nor torrents.updated_at changes, so the tracker's change
// feed is not flooded by accounting.
func (c *Catalog) ApplyStats(ctx context.Context, deltas []StatDelta) error {
	merged, err := mergeDeltas(deltas)
	if err != nil || len(merged) == 0 {
		return err
	}
	err = c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		for _, d := range merged {
			if err := applyDelta(tx, d, t); err != nil {
				return fmt.Errorf("user %d torrent %d: %w", d.UserID, d.TorrentID, err)
			}
		}
		return addUserTotals(tx, merged)
	})
	return dbErr("apply stats", err)
}

// mergeDeltas sums deltas per (user, torrent), in (user, torrent) order so
// concurrent flushes from several nodes lock rows in the same order.
func mergeDeltas(deltas []StatDelta) ([]StatDelta, error) {
	type key struct{ user, torrent uint64 }
	byKey := make(map[key]int, len(deltas))
	var merged []StatDelta
	for _, d := range deltas {
		if d.Uploaded < 0 || d.Downloaded < 0 {
			return nil, fmt.Errorf("apply stats: %w", invalid("delta", fmt.Sprintf("negative transfer for user %d torrent %d", d.UserID, d.TorrentID)))
		}
		k := key{d.UserID, d.TorrentID}
		i, ok := byKey[k]
		if !ok {
			byKey[k] = len(merged)
			merged = append(merged, d)
			continue
		}
		merged[i].Uploaded += d.Uploaded
		merged[i].Downloaded += d.Downloaded
		merged[i].Completed = merged[i].Completed || d.Completed
		merged[i].Leeching = merged[i].Leeching || d.Leeching
	}
	sort.Slice(merged, func(i, j int) bool {
		if merged[i].UserID != merged[j].UserID {
			return merged[i].UserID < merged[j].UserID
		}
		return merged[i].TorrentID < merged[j].TorrentID
	})
	return merged, nil
}

// applyDelta updates the torrent and the user's history row for one delta.
func applyDelta(tx *gorm.DB, d StatDelta, t any) error {
	// Activity for retention: a completed download, a leecher's announce or
	// any transfer (an upload means some leecher is there).
	if d.Completed || d.Leeching || d.Downloaded > 0 || d.Uploaded > 0 {
		// A snatch counts once per user: only if the history has no
		// completion yet. Runs before the history upsert below.
		err := tx.Exec(`UPDATE torrents SET last_active_at = ?,
	snatches = snatches + CASE WHEN ? AND NOT EXISTS (
		SELECT 1 FROM user_torrents WHERE user_id = ? AND torrent_id = ? AND completed_at IS NOT NULL
	) THEN 1 ELSE 0 END
WHERE id = ?`, t, d.Completed, d.UserID, d.TorrentID, d.TorrentID).Error
		if err != nil {
			return err
		}
	}
	var completedAt any
	if d.Completed {
		completedAt = t
	}
	return tx.Exec(`INSERT INTO user_torrents (user_id, torrent_id, uploaded, downloaded, completed_at, created_at, last_active_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (user_id, torrent_id) DO UPDATE SET
	uploaded = user_torrents.uploaded + excluded.uploaded,
	downloaded = user_torrents.downloaded + excluded.downloaded,
	completed_at = COALESCE(user_torrents.completed_at, excluded.completed_at),
	last_active_at = excluded.last_active_at`,
		d.UserID, d.TorrentID, d.Uploaded, d.Downloaded, completedAt, t, t).Error
}

// addUserTotals adds each user's summed deltas to users.uploaded/downloaded.
func addUserTotals(tx *gorm.DB, merged []StatDelta) error {
	for i := 0; i < len(merged); {
		user := merged[i].UserID
		var up, down int64
		for ; i < len(merged) && merged[i].UserID == user; i++ {
			up += merged[i].Uploaded
			down += merged[i].Downloaded
		}
		if up == 0 && down == 0 {
			continue
		}
		res := tx.Exec("UPDATE users SET uploaded = uploaded + ?, downloaded = downloaded + ? WHERE id = ?", up, down, user)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d: %w", user, ErrNotFound)
		}
	}
	return nil
}

// UserTorrentStats is one row of a user's transfer history.
type UserTorrentStats struct {
	UserID, TorrentID    uint64
	Uploaded, Downloaded int64
	Completed            bool
}

// UserTorrentStats returns the history of one user and torrent; ErrNotFound
// if the user never transferred anything of it.
func (c *Catalog) UserTorrentStats(ctx context.Context, userID, torrentID uint64) (*UserTorrentStats, error) {
	var rows []struct {
		Uploaded, Downloaded int64
		Completed            bool
	}
	err := c.read(ctx).Raw(`SELECT uploaded, downloaded, completed_at IS NOT NULL AS completed
FROM user_torrents WHERE user_id = ? AND torrent_id = ?`, userID, torrentID).Scan(&rows).Error
	op := fmt.Sprintf("stats of user %d torrent %d", userID, torrentID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	r := rows[0]
	return &UserTorrentStats{UserID: userID, TorrentID: torrentID, Uploaded: r.Uploaded, Downloaded: r.Downloaded, Completed: r.Completed}, nil
}
