package catalog

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RetentionTorrent is an active torrent as the retention policy sees it.
type RetentionTorrent struct {
	ID              uint64
	InfoHash, Title string
	Category        string
	Size            int64
	Pinned          bool
	CreatedAt       time.Time
	LastActiveAt    time.Time // last completed download or leecher activity; zero: never
	Replicas        []Replica // VolumeID, VolumeName, Node and State filled
	Snatches        int64
}

// RetentionTorrents lists every active torrent with its replicas, by id.
func (c *Catalog) RetentionTorrents(ctx context.Context) ([]RetentionTorrent, error) {
	op := "retention torrents"
	var rows []struct {
		ID                        uint64
		InfoHash, Title, Category string
		Size, Snatches            int64
		Pinned                    bool
		CreatedAt                 time.Time
		LastActiveAt              *time.Time
	}
	err := c.read(ctx).Raw(`SELECT id, info_hash, title, category, size, snatches, pinned, created_at, last_active_at
FROM torrents WHERE state = ? ORDER BY id`, string(StateActive)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(op, err)
	}
	var reps []replicaRow
	err = c.read(ctx).Raw(`SELECT r.torrent_id, r.volume_id, r.node, r.state, r.updated_at, v.name AS volume_name
FROM replicas r JOIN volumes v ON v.id = r.volume_id JOIN torrents t ON t.id = r.torrent_id
WHERE t.state = ? ORDER BY r.torrent_id, r.volume_id`, string(StateActive)).Scan(&reps).Error
	if err != nil {
		return nil, dbErr(op, err)
	}
	byID := make(map[uint64][]Replica, len(rows))
	for _, r := range reps {
		byID[r.TorrentID] = append(byID[r.TorrentID], Replica{TorrentID: r.TorrentID, VolumeID: r.VolumeID,
			VolumeName: r.VolumeName, Node: r.Node, State: r.State, UpdatedAt: utc(r.UpdatedAt)})
	}
	out := make([]RetentionTorrent, len(rows))
	for i, r := range rows {
		out[i] = RetentionTorrent{ID: r.ID, InfoHash: r.InfoHash, Title: r.Title, Category: r.Category,
			Size: r.Size, Snatches: r.Snatches, Pinned: r.Pinned, CreatedAt: utc(r.CreatedAt),
			LastActiveAt: utcPtr(r.LastActiveAt), Replicas: byID[r.ID]}
	}
	return out, nil
}

// Purge is one purge of a torrent's data by retention.
type Purge struct {
	ID         uint64    `json:"id"`
	TorrentID  uint64    `json:"torrent_id"`
	InfoHash   string    `json:"info_hash"`
	Title      string    `json:"title"`
	Rule       string    `json:"rule"`
	Reason     string    `json:"reason"`
	Actor      string    `json:"by"` // "auto" or "cli:<user>"
	Bytes      int64     `json:"bytes"`
	CreatedAt  time.Time `json:"at"`
	FinishedAt time.Time `json:"finished_at"` // zero while some node still holds data
}

// StartPurge is the first step of a purge, in one transaction: the torrent
// becomes purged (with the reason shown to users) and the purge is recorded.
// The replica rows stay until each node has deleted its copy (see
// PurgeWork, FinishPurgeReplica), so a crash between the steps leaves a
// purged torrent whose leftover data the next pass removes, never an active
// torrent with missing data. A torrent that is not active gives ErrConflict;
// an unknown one ErrNotFound.
func (c *Catalog) StartPurge(ctx context.Context, torrentID uint64, rule, reason, actor string, bytes int64) error {
	op := fmt.Sprintf("purge torrent %d", torrentID)
	if rule == "" || actor == "" {
		return fmt.Errorf("%s: %w", op, invalid("purge", "rule and actor must be set"))
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		res := tx.Exec(`UPDATE torrents SET state = ?, purged_at = ?, purge_reason = ?, updated_at = ?
WHERE id = ? AND state = ?`, string(StatePurged), t, reason, t, torrentID, string(StateActive))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&torrentRow{}).Where("id = ?", torrentID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return gorm.ErrRecordNotFound
			}
			return fmt.Errorf("torrent is not active: %w", ErrConflict)
		}
		var finished any
		var left int64
		if err := tx.Model(&replicaRow{}).Where("torrent_id = ?", torrentID).Count(&left).Error; err != nil {
			return err
		}
		if left == 0 {
			finished = t
		}
		return tx.Exec(`INSERT INTO purges (torrent_id, rule, reason, actor, bytes, created_at, finished_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, torrentID, rule, reason, actor, bytes, t, finished).Error
	})
	return dbErr(op, err)
}

// PurgeWorkItem is one copy of a purged torrent's data still on a node.
type PurgeWorkItem struct {
	TorrentID  uint64
	InfoHash   string
	VolumeID   uint64
	VolumeName string
}

// PurgeWork lists the replicas on node of purged torrents: data a purge has
// yet to delete there (a purge in progress, or one a crash interrupted).
func (c *Catalog) PurgeWork(ctx context.Context, node string) ([]PurgeWorkItem, error) {
	var rows []PurgeWorkItem
	err := c.read(ctx).Raw(`SELECT t.id AS torrent_id, t.info_hash, v.id AS volume_id, v.name AS volume_name
FROM replicas r JOIN torrents t ON t.id = r.torrent_id JOIN volumes v ON v.id = r.volume_id
WHERE r.node = ? AND t.state = ? ORDER BY t.id, v.id`, node, string(StatePurged)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("purge work on node %q", node), err)
	}
	return rows, nil
}

// PurgePending reports whether the torrent is purged and still has a
// replica row on the volume: its data there may be deleted.
func (c *Catalog) PurgePending(ctx context.Context, torrentID, volumeID uint64) (bool, error) {
	var n int64
	err := c.read(ctx).Raw(`SELECT COUNT(*) FROM replicas r JOIN torrents t ON t.id = r.torrent_id
WHERE r.torrent_id = ? AND r.volume_id = ? AND t.state = ?`, torrentID, volumeID, string(StatePurged)).Scan(&n).Error
	if err != nil {
		return false, dbErr(fmt.Sprintf("purge of torrent %d on volume %d", torrentID, volumeID), err)
	}
	return n > 0, nil
}

// FinishPurgeReplica records that a purged torrent's data is gone from the
// volume: the replica row is removed, the volume's freed_at is set and,
// when it was the last one, the torrent's open purge is marked finished.
func (c *Catalog) FinishPurgeReplica(ctx context.Context, torrentID, volumeID uint64) error {
	err := c.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM replicas WHERE torrent_id = ? AND volume_id = ?", torrentID, volumeID).Error; err != nil {
			return err
		}
		// A usage report measured before now still counts the deleted bytes
		// (see OnlineVolumeUsage).
		if err := tx.Exec("UPDATE volumes SET freed_at = ? WHERE id = ?", now(), volumeID).Error; err != nil {
			return err
		}
		var left int64
		if err := tx.Model(&replicaRow{}).Where("torrent_id = ?", torrentID).Count(&left).Error; err != nil || left > 0 {
			return err
		}
		return tx.Exec("UPDATE purges SET finished_at = ? WHERE torrent_id = ? AND finished_at IS NULL", now(), torrentID).Error
	})
	return dbErr(fmt.Sprintf("finish purge of torrent %d on volume %d", torrentID, volumeID), err)
}

// Purges lists the most recent purges first (at most limit; 0: all).
func (c *Catalog) Purges(ctx context.Context, limit int) ([]Purge, error) {
	var rows []struct {
		ID, TorrentID       uint64
		InfoHash, Title     string
		Rule, Reason, Actor string
		Bytes               int64
		CreatedAt           time.Time
		FinishedAt          *time.Time
	}
	q := c.read(ctx).Raw(`SELECT p.id, p.torrent_id, t.info_hash, t.title, p.rule, p.reason, p.actor, p.bytes,
	p.created_at, p.finished_at
FROM purges p JOIN torrents t ON t.id = p.torrent_id ORDER BY p.id DESC`)
	if limit > 0 {
		q = c.read(ctx).Raw(`SELECT p.id, p.torrent_id, t.info_hash, t.title, p.rule, p.reason, p.actor, p.bytes,
	p.created_at, p.finished_at
FROM purges p JOIN torrents t ON t.id = p.torrent_id ORDER BY p.id DESC LIMIT ?`, limit)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, dbErr("purges", err)
	}
	out := make([]Purge, len(rows))
	for i, r := range rows {
		out[i] = Purge{ID: r.ID, TorrentID: r.TorrentID, InfoHash: r.InfoHash, Title: r.Title, Rule: r.Rule,
			Reason: r.Reason, Actor: r.Actor, Bytes: r.Bytes, CreatedAt: utc(r.CreatedAt), FinishedAt: utcPtr(r.FinishedAt)}
	}
	return out, nil
}

// ReviveTorrent makes a purged torrent active again because its content was
// uploaded anew and stored as rep (a verified replica), in one transaction:
// state active, purge reason cleared, the replica recorded, open purges
// closed, and the upload counts as activity. Replica rows a purge had not
// finished on other volumes are marked corrupt: their data may be partly
// deleted, so they count only once verified again. A torrent that is not purged gives ErrConflict.
func (c *Catalog) ReviveTorrent(ctx context.Context, torrentID uint64, rep Replica) error {
	op := fmt.Sprintf("revive torrent %d", torrentID)
	if !validReplicaState(rep.State) || rep.VolumeID == 0 {
		return fmt.Errorf("%s: %w", op, invalid("replica", "needs a volume and a valid state"))
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		// The upload is activity: the torrent is not stale again at once.
		res := tx.Exec(`UPDATE torrents SET state = ?, purged_at = NULL, purge_reason = '', updated_at = ?, last_active_at = ?
WHERE id = ? AND state = ?`, string(StateActive), t, t, torrentID, string(StatePurged))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("torrent is not purged: %w", ErrConflict)
		}
		if err := tx.Exec("UPDATE replicas SET state = ?, updated_at = ? WHERE torrent_id = ? AND volume_id <> ?",
			ReplicaCorrupt, t, torrentID, rep.VolumeID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO replicas (torrent_id, volume_id, node, state, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (torrent_id, volume_id) DO UPDATE SET node = excluded.node, state = excluded.state, updated_at = excluded.updated_at`,
			torrentID, rep.VolumeID, rep.Node, rep.State, t).Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE purges SET finished_at = ? WHERE torrent_id = ? AND finished_at IS NULL", t, torrentID).Error
	})
	return dbErr(op, err)
}
