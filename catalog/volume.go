package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Volume states.
const (
	VolumeActive      = "active"      // takes new uploads and replicas
	VolumeReadonly    = "readonly"    // serves what it has, takes nothing new
	VolumeMaintenance = "maintenance" // out of service
)

// Replica states.
const (
	ReplicaVerified = "verified" // complete and checked; seedable
	ReplicaCopying  = "copying"  // being downloaded from other replicas
	ReplicaCorrupt  = "corrupt"  // failed verification
)

// Volume is a storage directory on one node.
type Volume struct {
	ID    uint64
	Name  string // unique on its node: (Node, Name) names a volume
	Path  string
	Node  string
	State string // VolumeActive, VolumeReadonly or VolumeMaintenance
}

// Replica is one copy of a torrent's data on a volume.
type Replica struct {
	TorrentID  uint64
	VolumeID   uint64
	VolumeName string // filled on reads
	Node       string
	State      string // ReplicaVerified, ReplicaCopying or ReplicaCorrupt
	UpdatedAt  time.Time
	// Filled on reads from the node's heartbeat: whether the node is online
	// now (see NodeTimeout) and the base URL of its portal.
	NodeOnline    bool
	NodePublicURL string
}

// Placement is one torrent a node must seed from one of its volumes.
type Placement struct {
	TorrentID  uint64
	InfoHash   string
	VolumeName string
	VolumeID   uint64
}

type volumeRow struct {
	ID        uint64 `gorm:"primaryKey"`
	Name      string
	Path      string
	Node      string
	State     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (volumeRow) TableName() string { return "volumes" }

type replicaRow struct {
	TorrentID     uint64
	VolumeID      uint64
	Node          string
	State         string
	UpdatedAt     time.Time
	VolumeName    string `gorm:"->"` // volumes.name, read through a join
	NodeOnline    bool   `gorm:"->"` // from nodes, read through a join
	NodePublicURL string `gorm:"->"`
}

func (replicaRow) TableName() string { return "replicas" }

func validReplicaState(s string) bool {
	return s == ReplicaVerified || s == ReplicaCopying || s == ReplicaCorrupt
}

// UpsertVolume creates the volume v.Name of node v.Node or updates its path
// and state, and returns the stored volume. An empty State means active.
func (c *Catalog) UpsertVolume(ctx context.Context, v Volume) (*Volume, error) {
	op := fmt.Sprintf("upsert volume %q of node %q", v.Name, v.Node)
	if v.State == "" {
		v.State = VolumeActive
	}
	switch {
	case strings.TrimSpace(v.Name) == "" || len(v.Name) > 64:
		return nil, fmt.Errorf("%s: %w", op, invalid("volume name", "must be 1-64 characters"))
	case v.Path == "":
		return nil, fmt.Errorf("%s: %w", op, invalid("volume path", "must not be empty"))
	case v.State != VolumeActive && v.State != VolumeReadonly && v.State != VolumeMaintenance:
		return nil, fmt.Errorf("%s: %w", op, invalid("volume state", fmt.Sprintf("%q is not active, readonly or maintenance", v.State)))
	}
	var row volumeRow
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		err := tx.Exec(`INSERT INTO volumes (name, path, node, state, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (node, name) DO UPDATE SET path = excluded.path,
	state = excluded.state, updated_at = excluded.updated_at`,
			v.Name, v.Path, v.Node, v.State, t, t).Error
		if err != nil {
			return err
		}
		return tx.Where("node = ? AND name = ?", v.Node, v.Name).Take(&row).Error
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return row.volume(), nil
}

func (r *volumeRow) volume() *Volume {
	return &Volume{ID: r.ID, Name: r.Name, Path: r.Path, Node: r.Node, State: r.State}
}

// Volumes lists all volumes by node and name.
func (c *Catalog) Volumes(ctx context.Context) ([]Volume, error) {
	var rows []volumeRow
	if err := c.read(ctx).Order("node, name").Find(&rows).Error; err != nil {
		return nil, dbErr("volumes", err)
	}
	out := make([]Volume, len(rows))
	for i := range rows {
		out[i] = *rows[i].volume()
	}
	return out, nil
}

// ReplicasOf lists a torrent's replicas by volume id.
func (c *Catalog) ReplicasOf(ctx context.Context, torrentID uint64) ([]Replica, error) {
	var rows []replicaRow
	err := c.replicaQuery(ctx).Where("replicas.torrent_id = ?", torrentID).Order("replicas.volume_id").Find(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("replicas of torrent %d", torrentID), err)
	}
	out := make([]Replica, len(rows))
	for i := range rows {
		out[i] = rows[i].replica()
	}
	return out, nil
}

// replicaQuery selects replica rows with their volume's name and their
// node's liveness and public URL.
func (c *Catalog) replicaQuery(ctx context.Context) *gorm.DB {
	return c.read(ctx).Model(&replicaRow{}).
		Select(`replicas.torrent_id, replicas.volume_id, replicas.node, replicas.state, replicas.updated_at,
	volumes.name AS volume_name, COALESCE(nodes.public_url, '') AS node_public_url,
	` + c.onlineFlag("nodes.last_seen") + ` AS node_online`).
		Joins("JOIN volumes ON volumes.id = replicas.volume_id").
		Joins("LEFT JOIN nodes ON nodes.name = replicas.node")
}

func (r *replicaRow) replica() Replica {
	return Replica{TorrentID: r.TorrentID, VolumeID: r.VolumeID, VolumeName: r.VolumeName,
		Node: r.Node, State: r.State, UpdatedAt: utc(r.UpdatedAt),
		NodeOnline: r.NodeOnline, NodePublicURL: r.NodePublicURL}
}

// SetReplicaState records that the torrent has a replica in the given state
// on the volume (creating the replica row if needed). An unknown torrent or
// volume gives ErrNotFound.
func (c *Catalog) SetReplicaState(ctx context.Context, torrentID, volumeID uint64, node, state string) error {
	op := fmt.Sprintf("set replica of torrent %d on volume %d", torrentID, volumeID)
	if !validReplicaState(state) {
		return fmt.Errorf("%s: %w", op, invalid("replica state", fmt.Sprintf("%q is not verified, copying or corrupt", state)))
	}
	err := c.write(ctx).Exec(`INSERT INTO replicas (torrent_id, volume_id, node, state, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (torrent_id, volume_id) DO UPDATE SET node = excluded.node,
	state = excluded.state, updated_at = excluded.updated_at`,
		torrentID, volumeID, node, state, now()).Error
	return dbErr(op, err)
}

// DeleteReplica forgets a replica (its data was removed). Deleting a missing
// replica is not an error.
func (c *Catalog) DeleteReplica(ctx context.Context, torrentID, volumeID uint64) error {
	err := c.write(ctx).Where("torrent_id = ? AND volume_id = ?", torrentID, volumeID).Delete(&replicaRow{}).Error
	return dbErr(fmt.Sprintf("delete replica of torrent %d on volume %d", torrentID, volumeID), err)
}

// PlacementsOnNode is a node's seeding work list: every active torrent with a
// verified replica on that node, by torrent id.
func (c *Catalog) PlacementsOnNode(ctx context.Context, node string) ([]Placement, error) {
	var rows []Placement
	err := c.read(ctx).Raw(`SELECT t.id AS torrent_id, t.info_hash, v.name AS volume_name, v.id AS volume_id
FROM replicas r
JOIN torrents t ON t.id = r.torrent_id
JOIN volumes v ON v.id = r.volume_id
WHERE r.node = ? AND r.state = ? AND t.state = ?
ORDER BY t.id, v.id`, node, ReplicaVerified, string(StateActive)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("placements on node %q", node), err)
	}
	return rows, nil
}

// InfoBytes returns a torrent's bencoded info dict. PlacementsOnNode leaves
// it out, since a seeder polls that list and needs the dict only once per
// torrent.
func (c *Catalog) InfoBytes(ctx context.Context, infoHash string) ([]byte, error) {
	var row struct{ InfoBytes []byte }
	res := c.read(ctx).Raw(`SELECT info_bytes FROM torrents WHERE info_hash = ?`, infoHash).Scan(&row)
	if res.Error != nil {
		return nil, dbErr("info bytes of "+infoHash, res.Error)
	}
	if res.RowsAffected == 0 || len(row.InfoBytes) == 0 {
		return nil, fmt.Errorf("info bytes of %s: %w", infoHash, ErrNotFound)
	}
	return row.InfoBytes, nil
}
