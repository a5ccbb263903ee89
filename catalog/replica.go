package catalog

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Replica states beyond those every replica goes through (ReplicaVerified,
// ReplicaCopying, ReplicaCorrupt). Neither counts toward a torrent's replica
// count, is seeded, served by the web seed or named in a url-list.
const (
	// ReplicaPending: verified once, but its node restarted or came back
	// after being offline (Beat, NodeStarted); its seedbox checks it again
	// and sets it verified (or corrupt).
	ReplicaPending = "pending"
	// ReplicaSurplus: a verified copy beyond the wanted count, chosen by
	// the trim leader (MarkSurplus); its node deletes the data, then the row.
	ReplicaSurplus = "surplus"
)

// ReplicaRow is one replica of an active torrent with what the replicator
// needs to judge it: the torrent's size and the state of the volume.
type ReplicaRow struct {
	TorrentID   uint64
	InfoHash    string
	Size        int64
	VolumeID    uint64
	VolumeName  string
	VolumeNode  string
	VolumeState string
	Node        string
	State       string // ReplicaVerified, ReplicaCopying or ReplicaCorrupt
	NodeOnline  bool   // the replica's node sent a heartbeat within NodeTimeout
}

// ActiveReplicas lists every replica of every active torrent, by torrent id
// then volume id: the replicator's and the scrubber's work list.
func (c *Catalog) ActiveReplicas(ctx context.Context) ([]ReplicaRow, error) {
	var rows []ReplicaRow
	err := c.read(ctx).Raw(`SELECT t.id AS torrent_id, t.info_hash, t.size, v.id AS volume_id,
	v.name AS volume_name, v.node AS volume_node, v.state AS volume_state, r.node, r.state,
	`+c.onlineFlag("n.last_seen")+` AS node_online
FROM replicas r
JOIN torrents t ON t.id = r.torrent_id
JOIN volumes v ON v.id = r.volume_id
LEFT JOIN nodes n ON n.name = r.node
WHERE t.state = ?
ORDER BY t.id, v.id`, string(StateActive)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("active replicas", err)
	}
	return rows, nil
}

// SetReplicaStateByHash is SetReplicaState for a torrent named by infohash.
func (c *Catalog) SetReplicaStateByHash(ctx context.Context, infoHash string, volumeID uint64, node, state string) error {
	var row struct{ ID uint64 }
	res := c.read(ctx).Raw(`SELECT id FROM torrents WHERE info_hash = ?`, strings.ToLower(infoHash)).Scan(&row)
	if res.Error != nil {
		return dbErr("torrent "+infoHash, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("torrent %s: %w", infoHash, ErrNotFound)
	}
	return c.SetReplicaState(ctx, row.ID, volumeID, node, state)
}

// ClaimReplica records a "copying" replica of the torrent on the volume if
// the torrent has fewer than want replicas that are verified or being made
// (on volumes not in maintenance, on nodes that are online, the claiming
// node counting as online), and node holds none of them yet, and tells
// whether it did: how nodes agree on which of them fetches a missing
// replica, one per node. Concurrent claims are serialized on the torrent's
// row.
func (c *Catalog) ClaimReplica(ctx context.Context, infoHash string, volumeID uint64, node string, want int) (bool, error) {
	op := fmt.Sprintf("claim replica of %s on volume %d", infoHash, volumeID)
	claimed := false
	err := c.tx(ctx, func(tx *gorm.DB) error {
		lock := ""
		if c.dialect == DialectPostgres {
			lock = " FOR UPDATE"
		}
		var t struct{ ID uint64 }
		res := tx.Raw(`SELECT id FROM torrents WHERE info_hash = ?`+lock, strings.ToLower(infoHash)).Scan(&t)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		var held struct{ Live, Mine int64 }
		// live: verified or copying, on a readable volume of an online
		// node. mine: anything of node's that it is still checking or
		// deleting counts too, so a node never holds two copies.
		err := tx.Raw(`SELECT
	COALESCE(SUM(CASE WHEN r.state IN (?, ?) AND v.state <> ? AND (r.node = ? OR `+c.onlineExpr("n.last_seen")+`)
		THEN 1 ELSE 0 END), 0) AS live,
	COALESCE(SUM(CASE WHEN r.node = ? AND r.state IN (?, ?, ?, ?) AND v.state <> ? THEN 1 ELSE 0 END), 0) AS mine
FROM replicas r JOIN volumes v ON v.id = r.volume_id LEFT JOIN nodes n ON n.name = r.node
WHERE r.torrent_id = ? AND r.volume_id <> ?`,
			ReplicaVerified, ReplicaCopying, VolumeMaintenance, node,
			node, ReplicaVerified, ReplicaCopying, ReplicaPending, ReplicaSurplus, VolumeMaintenance,
			t.ID, volumeID).Scan(&held).Error
		if err != nil || held.Live >= int64(want) || held.Mine > 0 {
			return err
		}
		claimed = true
		return tx.Exec(`INSERT INTO replicas (torrent_id, volume_id, node, state, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (torrent_id, volume_id) DO UPDATE SET node = excluded.node,
	state = excluded.state, updated_at = excluded.updated_at`,
			t.ID, volumeID, node, ReplicaCopying, now()).Error
	})
	if err != nil {
		return false, dbErr(op, err)
	}
	return claimed, nil
}
