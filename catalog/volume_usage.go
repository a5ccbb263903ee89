package catalog

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Volume usage. Every node measures its own volumes on each heartbeat and
// reports the numbers with ReportVolumeUsage; the retention planner of the
// leader reads them with OnlineVolumeUsage, so a volume filling up on any
// node is relieved, not only on the node that plans (issue 6).

// VolumeUsageReport is how full one of the reporting node's volumes is.
type VolumeUsageReport struct {
	Name     string
	Used     int64
	Capacity int64
	// MeasuredAt is when the node started measuring (before its statfs);
	// zero: now.
	MeasuredAt time.Time
}

// VolumeUsage is how full a volume is as the catalog knows it.
type VolumeUsage struct {
	Node, Name     string
	Used, Capacity int64
	// At is when its node measured it (zero: never reported). For a volume
	// with a capacity cap (Capped) Used is the content the catalog places
	// on it, counted at the read, and At is the read's time.
	At     time.Time
	Capped bool
	// FreedAt is when a purge last deleted data on the volume: a report
	// measured before then still counts the deleted bytes.
	FreedAt time.Time
	// Pending is the bytes of purged torrents whose data is still on the
	// volume: its node deletes them soon (retention.Applier.Sweep).
	Pending int64
}

// VolumeUsageSnapshot is the reported usage of the volumes of online
// nodes, and the nodes holding volumes that are offline now (their usage
// is not current, so nothing is planned from it).
type VolumeUsageSnapshot struct {
	Volumes []VolumeUsage // by node, then name
	Offline []string      // node names, sorted
}

// ReportVolumeUsage records the usage node measured now on its volumes. A
// name that is not one of node's volumes is ignored: the volume list may
// have changed since the node measured.
func (c *Catalog) ReportVolumeUsage(ctx context.Context, node string, reports []VolumeUsageReport) error {
	op := fmt.Sprintf("report volume usage of node %q", node)
	for _, r := range reports {
		if r.Used < 0 || r.Capacity < 0 {
			return fmt.Errorf("%s: %w", op, invalid("volume usage", "bytes must not be negative"))
		}
	}
	if len(reports) == 0 {
		return nil
	}
	at := now()
	err := c.tx(ctx, func(tx *gorm.DB) error {
		for _, r := range reports {
			measured := at
			if !r.MeasuredAt.IsZero() {
				measured = r.MeasuredAt.UTC().Truncate(time.Microsecond)
			}
			err := tx.Exec(`UPDATE volumes SET used_bytes = ?, capacity_bytes = ?, usage_at = ? WHERE node = ? AND name = ?`,
				r.Used, r.Capacity, measured, node, r.Name).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	return dbErr(op, err)
}

type volumeUsageRow struct {
	Node, Name    string
	Capacity      int64 // the cap; 0: none
	UsedBytes     int64
	CapacityBytes int64
	UsageAt       *time.Time
	FreedAt       *time.Time
	LastSeen      *time.Time
	Online        bool  // by the database's clock (onlineExpr)
	Held          int64 // bytes of every torrent with a replica on it
	Pending       int64 // of those, bytes of purged torrents
}

// OnlineVolumeUsage returns the usage of every volume of the nodes online
// now (see NodeTimeout): the last report of its node with when it was
// measured, or for a volume with a capacity cap the content placed on it
// now; and names the nodes with volumes that are offline.
func (c *Catalog) OnlineVolumeUsage(ctx context.Context) (VolumeUsageSnapshot, error) {
	var rows []volumeUsageRow
	at := now()
	err := c.read(ctx).Raw(`SELECT v.node, v.name, v.capacity, v.used_bytes, v.capacity_bytes, v.usage_at, v.freed_at,
	n.last_seen, `+c.onlineFlag("n.last_seen")+` AS online,
	(SELECT COALESCE(SUM(t.size), 0) FROM replicas r JOIN torrents t ON t.id = r.torrent_id WHERE r.volume_id = v.id) AS held,
	(SELECT COALESCE(SUM(t.size), 0) FROM replicas r JOIN torrents t ON t.id = r.torrent_id
		WHERE r.volume_id = v.id AND t.state = ?) AS pending
FROM volumes v LEFT JOIN nodes n ON n.name = v.node
ORDER BY v.node, v.name`, string(StatePurged)).Scan(&rows).Error
	if err != nil {
		return VolumeUsageSnapshot{}, dbErr("volume usage", err)
	}
	var out VolumeUsageSnapshot
	offline := map[string]bool{}
	for _, r := range rows {
		if r.LastSeen == nil || !r.Online {
			offline[r.Node] = true
			continue
		}
		u := VolumeUsage{Node: r.Node, Name: r.Name, Used: r.UsedBytes, Capacity: r.CapacityBytes,
			At: utcPtr(r.UsageAt), FreedAt: utcPtr(r.FreedAt), Pending: r.Pending}
		if r.Capacity > 0 {
			u.Used, u.Capacity, u.At, u.Capped = r.Held, r.Capacity, at, true
		}
		out.Volumes = append(out.Volumes, u)
	}
	for n := range offline {
		out.Offline = append(out.Offline, n)
	}
	sort.Strings(out.Offline)
	return out, nil
}
