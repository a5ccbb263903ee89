package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Node liveness. Every running node writes its row in the nodes table every
// NodeHeartbeat; a node whose last heartbeat is older than NodeTimeout (three
// heartbeats and a second of slack) is offline: its replicas do not count
// toward a torrent's replica count, are left out of the API's replica list
// and of the url-list of .torrent files. Nodes compare last_seen with their
// own clocks, so their clocks must agree to a second or so (NTP).
const (
	NodeHeartbeat = 2 * time.Second
	NodeTimeout   = 3*NodeHeartbeat + time.Second
)

// Node is one seedbed process holding volumes, as its heartbeat describes it.
type Node struct {
	Name      string
	PublicURL string // base of its portal and web seed; "" when it runs no portal
	PeerAddr  string // its seedbox's BitTorrent listen address
	Version   string
	StartedAt time.Time
	LastSeen  time.Time
	Online    bool // filled on reads: LastSeen within NodeTimeout
}

type nodeRow struct {
	Name      string `gorm:"primaryKey"`
	PublicURL string
	PeerAddr  string
	Version   string
	StartedAt time.Time
	LastSeen  time.Time
}

func (nodeRow) TableName() string { return "nodes" }

// onlineSince is the oldest last_seen of a node that is online now.
func onlineSince() time.Time { return now().Add(-NodeTimeout) }

// Heartbeat records that node n is alive now (creating its row on the
// first beat). n.StartedAt is kept as given: a node passes the time it
// started on every beat.
func (c *Catalog) Heartbeat(ctx context.Context, n Node) error {
	op := fmt.Sprintf("heartbeat of node %q", n.Name)
	if strings.TrimSpace(n.Name) == "" || len(n.Name) > 64 {
		return fmt.Errorf("%s: %w", op, invalid("node name", "must be 1-64 characters"))
	}
	t := now()
	if n.StartedAt.IsZero() {
		n.StartedAt = t
	}
	err := c.write(ctx).Exec(`INSERT INTO nodes (name, public_url, peer_addr, version, started_at, last_seen)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET public_url = excluded.public_url, peer_addr = excluded.peer_addr,
	version = excluded.version, started_at = excluded.started_at, last_seen = excluded.last_seen`,
		n.Name, n.PublicURL, n.PeerAddr, n.Version, n.StartedAt.UTC().Truncate(time.Microsecond), t).Error
	return dbErr(op, err)
}

// NodeStopped marks a node offline at once: a clean shutdown need not wait
// for its heartbeat to time out.
func (c *Catalog) NodeStopped(ctx context.Context, name string) error {
	err := c.write(ctx).Exec(`UPDATE nodes SET last_seen = ? WHERE name = ?`,
		time.Unix(0, 0).UTC(), name).Error
	return dbErr(fmt.Sprintf("stop node %q", name), err)
}

// Nodes lists every node that ever sent a heartbeat, by name.
func (c *Catalog) Nodes(ctx context.Context) ([]Node, error) {
	var rows []nodeRow
	if err := c.read(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, dbErr("nodes", err)
	}
	since := onlineSince()
	out := make([]Node, len(rows))
	for i, r := range rows {
		out[i] = Node{Name: r.Name, PublicURL: r.PublicURL, PeerAddr: r.PeerAddr, Version: r.Version,
			StartedAt: utc(r.StartedAt), LastSeen: utc(r.LastSeen), Online: !r.LastSeen.Before(since)}
	}
	return out, nil
}

// OnlineNodes returns the names of the nodes online now.
func (c *Catalog) OnlineNodes(ctx context.Context) (map[string]bool, error) {
	var names []string
	if err := c.read(ctx).Raw(`SELECT name FROM nodes WHERE last_seen >= ?`, onlineSince()).Scan(&names).Error; err != nil {
		return nil, dbErr("online nodes", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}
