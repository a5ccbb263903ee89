package catalog

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Trimming surplus replicas. Copies made while a node was away leave a
// torrent with more verified copies than wanted once the node returns and
// its copies are verified again. The trim leader (node/trim.go) finds such
// torrents (SurplusTorrents) and marks the copies PlanTrim drops surplus
// (MarkSurplus, re-planned inside one transaction on the torrent's locked
// row); each node then deletes its own surplus copies: data first, then the
// row (SurplusOnNode, DeleteSurplusReplica). State first, files after, so a
// crash at any point is finished by the next pass.

// TrimCopy is one replica of a torrent as PlanTrim sees it.
type TrimCopy struct {
	VolumeID    uint64
	Node        string
	State       string
	VolumeState string
	NodeOnline  bool
	CreatedAt   time.Time // when the copy was first recorded
}

// counts tells whether a copy counts toward the wanted number: verified,
// on a volume that is read, on a node that is online.
func (r TrimCopy) counts() bool {
	return r.State == ReplicaVerified && r.VolumeState != VolumeMaintenance && r.NodeOnline
}

// PlanTrim returns the volume ids of the copies to drop so that exactly
// want copies that count remain. The rule:
//   - only copies that count (verified, online node, volume not in
//     maintenance) are kept or dropped; nothing else is touched or counted;
//   - nothing is dropped while the torrent is in flux: a copy being made
//     (copying) or checked again (pending) on an online node;
//   - the oldest copies stay (by when they were first recorded, then by
//     volume id), one per node first, so copies made while a node was away
//     are the ones dropped when it returns, and replicas keep preferring
//     distinct nodes;
//   - never fewer than want copies that count, and nothing when want < 1.
func PlanTrim(copies []TrimCopy, want int) []uint64 {
	if want < 1 {
		return nil
	}
	var counted []TrimCopy
	for _, r := range copies {
		if r.NodeOnline && (r.State == ReplicaCopying || r.State == ReplicaPending) {
			return nil
		}
		if r.counts() {
			counted = append(counted, r)
		}
	}
	if len(counted) <= want {
		return nil
	}
	sort.Slice(counted, func(i, j int) bool {
		if !counted[i].CreatedAt.Equal(counted[j].CreatedAt) {
			return counted[i].CreatedAt.Before(counted[j].CreatedAt)
		}
		return counted[i].VolumeID < counted[j].VolumeID
	})
	keep := make([]bool, len(counted))
	kept, nodes := 0, map[string]bool{}
	for i, r := range counted { // one per node first
		if kept < want && !nodes[r.Node] {
			keep[i], nodes[r.Node] = true, true
			kept++
		}
	}
	for i := range counted { // then the oldest of the rest
		if kept < want && !keep[i] {
			keep[i] = true
			kept++
		}
	}
	var drop []uint64
	for i, r := range counted {
		if !keep[i] {
			drop = append(drop, r.VolumeID)
		}
	}
	sort.Slice(drop, func(i, j int) bool { return drop[i] < drop[j] })
	return drop
}

// wantedReplicas is the largest of want and the seedbox.replicas of every
// online node: no node's wish is trimmed away.
func (c *Catalog) wantedReplicas(db *gorm.DB, want int) (int, error) {
	var most int
	err := db.Raw(`SELECT COALESCE(MAX(replicas), 0) FROM nodes WHERE ` + c.onlineExpr("last_seen")).Scan(&most).Error
	return max(want, most), err
}

// SurplusTorrents lists (by id, at most limit) the active torrents with
// more copies that count than wanted (want, or more if an online node
// wants more): the trim leader's work list.
func (c *Catalog) SurplusTorrents(ctx context.Context, want, limit int) ([]uint64, error) {
	db := c.read(ctx)
	want, err := c.wantedReplicas(db, want)
	if err != nil {
		return nil, dbErr("surplus torrents", err)
	}
	var ids []uint64
	err = db.Raw(`SELECT r.torrent_id FROM replicas r
JOIN torrents t ON t.id = r.torrent_id
JOIN volumes v ON v.id = r.volume_id
LEFT JOIN nodes n ON n.name = r.node
WHERE t.state = ? AND r.state = ? AND v.state <> ? AND `+c.onlineExpr("n.last_seen")+`
GROUP BY r.torrent_id HAVING COUNT(*) > ?
ORDER BY r.torrent_id LIMIT ?`, string(StateActive), ReplicaVerified, VolumeMaintenance, want, limit).Scan(&ids).Error
	if err != nil {
		return nil, dbErr("surplus torrents", err)
	}
	return ids, nil
}

// MarkSurplus marks the copies of an active torrent that PlanTrim drops
// surplus, planning again in the same transaction with the torrent's row
// locked (as ClaimReplica does), and returns them. A torrent that is not
// active, or no longer has a surplus, is left alone.
func (c *Catalog) MarkSurplus(ctx context.Context, torrentID uint64, want int) ([]Replica, error) {
	op := fmt.Sprintf("trim replicas of torrent %d", torrentID)
	var marked []Replica
	err := c.tx(ctx, func(tx *gorm.DB) error {
		lock := ""
		if c.dialect == DialectPostgres {
			lock = " FOR UPDATE"
		}
		var t []struct{ ID uint64 }
		if err := tx.Raw(`SELECT id FROM torrents WHERE id = ? AND state = ?`+lock, torrentID, string(StateActive)).Scan(&t).Error; err != nil || len(t) == 0 {
			return err
		}
		want, err := c.wantedReplicas(tx, want)
		if err != nil {
			return err
		}
		var rows []struct {
			TrimCopy
			VolumeName string
		}
		err = tx.Raw(`SELECT r.volume_id, r.node, r.state, r.created_at, v.state AS volume_state, v.name AS volume_name,
	`+c.onlineFlag("n.last_seen")+` AS node_online
FROM replicas r JOIN volumes v ON v.id = r.volume_id LEFT JOIN nodes n ON n.name = r.node
WHERE r.torrent_id = ?`, torrentID).Scan(&rows).Error
		if err != nil {
			return err
		}
		copies := make([]TrimCopy, len(rows))
		for i, r := range rows {
			copies[i] = r.TrimCopy
		}
		drop := PlanTrim(copies, want)
		for _, r := range rows {
			if !slices.Contains(drop, r.VolumeID) {
				continue
			}
			at := now()
			res := tx.Exec(`UPDATE replicas SET state = ?, updated_at = ? WHERE torrent_id = ? AND volume_id = ? AND state = ?`,
				ReplicaSurplus, at, torrentID, r.VolumeID, ReplicaVerified)
			if res.Error != nil {
				return res.Error
			}
			marked = append(marked, Replica{TorrentID: torrentID, VolumeID: r.VolumeID, VolumeName: r.VolumeName,
				Node: r.Node, State: ReplicaSurplus, UpdatedAt: at})
		}
		return nil
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return marked, nil
}

// SurplusOnNode lists node's surplus copies, of torrents in any state: the
// data its trim sweep deletes.
func (c *Catalog) SurplusOnNode(ctx context.Context, node string) ([]Placement, error) {
	return c.placementsOnNode(ctx, node, "r.state = ?", ReplicaSurplus, "surplus replicas")
}

// ReplicaState returns the state of a torrent's replica on a volume, or
// ErrNotFound.
func (c *Catalog) ReplicaState(ctx context.Context, torrentID, volumeID uint64) (string, error) {
	var states []string
	err := c.read(ctx).Raw(`SELECT state FROM replicas WHERE torrent_id = ? AND volume_id = ?`, torrentID, volumeID).
		Scan(&states).Error
	op := fmt.Sprintf("replica of torrent %d on volume %d", torrentID, volumeID)
	if err != nil {
		return "", dbErr(op, err)
	}
	if len(states) == 0 {
		return "", fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return states[0], nil
}

// DeleteSurplusReplica forgets a surplus copy whose data is gone. It tells
// whether the row was still surplus (and so was deleted).
func (c *Catalog) DeleteSurplusReplica(ctx context.Context, torrentID, volumeID uint64) (bool, error) {
	res := c.write(ctx).Exec(`DELETE FROM replicas WHERE torrent_id = ? AND volume_id = ? AND state = ?`,
		torrentID, volumeID, ReplicaSurplus)
	if res.Error != nil {
		return false, dbErr(fmt.Sprintf("delete surplus replica of torrent %d on volume %d", torrentID, volumeID), res.Error)
	}
	return res.RowsAffected > 0, nil
}
