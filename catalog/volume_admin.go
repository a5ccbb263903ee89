package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// VolumeInfo is a volume with its limits and what the catalog knows it holds.
type VolumeInfo struct {
	Volume
	Capacity int64 // bytes; 0: the file system's size
	Reserve  int64 // free bytes below which the volume takes nothing new
	Torrents int64 // torrents with a replica on it (filled on reads)
	Bytes    int64 // their total size (filled on reads)
}

type volumeInfoRow struct {
	ID                      uint64
	Name, Path, Node, State string
	Capacity, Reserve       int64
	Torrents, Bytes         int64
	CreatedAt, UpdatedAt    time.Time
}

func (r volumeInfoRow) info() VolumeInfo {
	return VolumeInfo{Volume: Volume{ID: r.ID, Name: r.Name, Path: r.Path, Node: r.Node, State: r.State},
		Capacity: r.Capacity, Reserve: r.Reserve, Torrents: r.Torrents, Bytes: r.Bytes}
}

// ValidVolumeState reports whether s is active, readonly or maintenance.
func ValidVolumeState(s string) bool {
	return s == VolumeActive || s == VolumeReadonly || s == VolumeMaintenance
}

func validateVolume(v *VolumeInfo) error {
	if v.State == "" {
		v.State = VolumeActive
	}
	switch {
	case strings.TrimSpace(v.Name) == "" || len(v.Name) > 64 || strings.ContainsAny(v.Name, " \t\n/"):
		return invalid("volume name", "must be 1-64 characters without spaces or slashes")
	case v.Path == "":
		return invalid("volume path", "must not be empty")
	case !ValidVolumeState(v.State):
		return invalid("volume state", fmt.Sprintf("%q is not active, readonly or maintenance", v.State))
	case v.Capacity < 0 || v.Reserve < 0:
		return invalid("volume capacity", "capacity and reserve must not be negative")
	}
	return nil
}

// RegisterVolume records a configured volume when its node starts: it
// creates the volume v.Name of node v.Node, or updates its path, capacity
// and reserve. The
// stored state is kept, so an administrator's `seedbed volume set` survives
// restarts, unless v.State is readonly or maintenance: a non-active state in
// the config file is imposed at every start.
func (c *Catalog) RegisterVolume(ctx context.Context, v VolumeInfo) (*VolumeInfo, error) {
	op := fmt.Sprintf("register volume %q of node %q", v.Name, v.Node)
	if err := validateVolume(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out *VolumeInfo
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		err := tx.Exec(`INSERT INTO volumes (name, path, node, state, capacity, reserve, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (node, name) DO UPDATE SET path = excluded.path,
	capacity = excluded.capacity, reserve = excluded.reserve, updated_at = excluded.updated_at,
	state = CASE WHEN excluded.state = 'active' THEN volumes.state ELSE excluded.state END`,
			v.Name, v.Path, v.Node, v.State, v.Capacity, v.Reserve, t, t).Error
		if err != nil {
			return err
		}
		out, err = volumeInfoByName(tx, v.Node, v.Name)
		return err
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// AddVolume creates a volume (`seedbed volume add`); a name its node already
// uses gives ErrConflict.
func (c *Catalog) AddVolume(ctx context.Context, v VolumeInfo) (*VolumeInfo, error) {
	op := fmt.Sprintf("add volume %q to node %q", v.Name, v.Node)
	if err := validateVolume(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out *VolumeInfo
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		res := tx.Exec(`INSERT INTO volumes (name, path, node, state, capacity, reserve, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, name) DO NOTHING`,
			v.Name, v.Path, v.Node, v.State, v.Capacity, v.Reserve, t, t)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrDuplicatedKey
		}
		var err error
		out, err = volumeInfoByName(tx, v.Node, v.Name)
		return err
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// SetVolumeState changes the state of volume name of node; ErrNotFound for
// an unknown volume.
func (c *Catalog) SetVolumeState(ctx context.Context, node, name, state string) error {
	op := fmt.Sprintf("set state of volume %q of node %q", name, node)
	if !ValidVolumeState(state) {
		return fmt.Errorf("%s: %w", op, invalid("volume state", fmt.Sprintf("%q is not active, readonly or maintenance", state)))
	}
	res := c.write(ctx).Exec("UPDATE volumes SET state = ?, updated_at = ? WHERE node = ? AND name = ?", state, now(), node, name)
	if res.Error != nil {
		return dbErr(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

const volumeInfoQuery = `SELECT v.id, v.name, v.path, v.node, v.state, v.capacity, v.reserve,
	v.created_at, v.updated_at,
	(SELECT COUNT(*) FROM replicas r WHERE r.volume_id = v.id) AS torrents,
	(SELECT COALESCE(SUM(t.size), 0) FROM replicas r JOIN torrents t ON t.id = r.torrent_id WHERE r.volume_id = v.id) AS bytes
FROM volumes v`

func volumeInfoByName(db *gorm.DB, node, name string) (*VolumeInfo, error) {
	var rows []volumeInfoRow
	if err := db.Raw(volumeInfoQuery+" WHERE v.node = ? AND v.name = ?", node, name).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, gorm.ErrRecordNotFound
	}
	vi := rows[0].info()
	return &vi, nil
}

// VolumeByName returns volume name of node with its counts, or ErrNotFound.
func (c *Catalog) VolumeByName(ctx context.Context, node, name string) (*VolumeInfo, error) {
	v, err := volumeInfoByName(c.read(ctx), node, name)
	if err != nil {
		return nil, dbErr(fmt.Sprintf("volume %q of node %q", name, node), err)
	}
	return v, nil
}

// VolumeInfos lists the volumes of one node (every node when node is
// empty) by node and name, with how many torrents and bytes each holds.
func (c *Catalog) VolumeInfos(ctx context.Context, node string) ([]VolumeInfo, error) {
	q, args := volumeInfoQuery, []any{}
	if node != "" {
		q, args = q+" WHERE v.node = ?", append(args, node)
	}
	var rows []volumeInfoRow
	if err := c.read(ctx).Raw(q+" ORDER BY v.node, v.name", args...).Scan(&rows).Error; err != nil {
		return nil, dbErr("volumes", err)
	}
	out := make([]VolumeInfo, len(rows))
	for i, r := range rows {
		out[i] = r.info()
	}
	return out, nil
}

// ForcedVolume is the value of SettingForceVolume naming volume name of
// node: "node/name" (a volume name has no slash).
func ForcedVolume(node, name string) string { return node + "/" + name }

// ParseForcedVolume splits a SettingForceVolume value. A bare name (written
// before volume names were per node) gives node "": any node's volume of
// that name.
func ParseForcedVolume(value string) (node, name string) {
	if i := strings.LastIndexByte(value, '/'); i >= 0 {
		return value[:i], value[i+1:]
	}
	return "", value
}
