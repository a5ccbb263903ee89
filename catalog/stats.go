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
		snatches := map[uint64]int64{}
		for _, d := range merged {
			first, err := applyHistory(tx, d, t)
			if err != nil {
				return fmt.Errorf("user %d torrent %d: %w", d.UserID, d.TorrentID, err)
			}
			if first {
				snatches[d.TorrentID]++
			}
		}
		if err := touchTorrents(tx, merged, snatches, t); err != nil {
			return err
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

// applyHistory adds one delta to the user's history row and reports
// whether it recorded the user's first completion of the torrent. The
// completion is set by an UPDATE guarded by completed_at IS NULL after the
// upsert, so of two flushes racing on the same row (two nodes, READ
// COMMITTED) only the one whose update changed the row counts a snatch: the
// other waits on the row lock and then sees the completion.
func applyHistory(tx *gorm.DB, d StatDelta, t any) (bool, error) {
	err := tx.Exec(`INSERT INTO user_torrents (user_id, torrent_id, uploaded, downloaded, completed_at, created_at, last_active_at)
VALUES (?, ?, ?, ?, NULL, ?, ?)
ON CONFLICT (user_id, torrent_id) DO UPDATE SET
	uploaded = user_torrents.uploaded + excluded.uploaded,
	downloaded = user_torrents.downloaded + excluded.downloaded,
	last_active_at = excluded.last_active_at`,
		d.UserID, d.TorrentID, d.Uploaded, d.Downloaded, t, t).Error
	if err != nil || !d.Completed {
		return false, err
	}
	res := tx.Exec(`UPDATE user_torrents SET completed_at = ?
WHERE user_id = ? AND torrent_id = ? AND completed_at IS NULL`, t, d.UserID, d.TorrentID)
	return res.RowsAffected == 1, res.Error
}

// touchTorrents sets last_active_at (activity for retention: a completed
// download, a leecher's announce or any transfer) and adds first
// completions to the snatch counts, in torrent id order so that concurrent
// flushes lock torrent rows in the same order.
func touchTorrents(tx *gorm.DB, merged []StatDelta, snatches map[uint64]int64, t any) error {
	active := map[uint64]bool{}
	for _, d := range merged {
		if d.Completed || d.Leeching || d.Downloaded > 0 || d.Uploaded > 0 {
			active[d.TorrentID] = true
		}
	}
	ids := make([]uint64, 0, len(active))
	for id := range active {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		res := tx.Exec(`UPDATE torrents SET last_active_at = ?, snatches = snatches + ? WHERE id = ?`, t, snatches[id], id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("torrent %d: %w", id, ErrNotFound)
		}
	}
	return nil
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
