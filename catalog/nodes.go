package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Node liveness. Every running node writes its row in the nodes table every
// NodeHeartbeat; a node whose last heartbeat is older than NodeTimeout (three
// heartbeats and a second of slack) is offline: its replicas do not count
// toward a torrent's replica count, are left out of the API's replica list
// and of the url-list of .torrent files.
//
// Both ends use the database's clock: a heartbeat writes the database's
// now() into last_seen, and "online" is computed in SQL against the
// database's now() (onlineExpr), so nodes whose clocks disagree still agree
// on who is online. Only the database server's clock has to be right.
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
	Replicas  int // the seedbox.replicas it runs with (0: unknown)
	StartedAt time.Time
	LastSeen  time.Time // by the database's clock
	Online    bool      // filled on reads: LastSeen within NodeTimeout of the database's now
}

// BeatResult is what a heartbeat changed.
type BeatResult struct {
	// Returned: the node (re)started, or was offline before this beat.
	Returned bool
	// Pending is how many of its verified replicas were set to
	// ReplicaPending: they count again once its seedbox checked them.
	Pending int64
}

// localNow is this process's clock. Liveness never uses it (see
// onlineExpr); it only dates a node's start when the node gives none.
func (c *Catalog) localNow() time.Time {
	if c.localClock != nil {
		return c.localClock().UTC().Truncate(time.Microsecond)
	}
	return now()
}

// dbNow is an SQL expression for the database's current time, in the form
// timestamps are stored in (on SQLite the text mattn/go-sqlite3 writes).
func (c *Catalog) dbNow() string {
	if c.dialect == DialectPostgres {
		return "now()"
	}
	return "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"
}

// onlineExpr is an SQL condition that holds when the timestamp column col
// (a node's last_seen) is within NodeTimeout of the database's now. A NULL
// column (no node row) is not online.
func (c *Catalog) onlineExpr(col string) string {
	if c.dialect == DialectPostgres {
		return fmt.Sprintf("(%s >= now() - interval '%d milliseconds')", col, NodeTimeout.Milliseconds())
	}
	// julianday parses both the text the Go driver writes and dbNow's.
	return fmt.Sprintf("(julianday(%s) >= julianday('now') - %.12f)", col, NodeTimeout.Seconds()/86400)
}

// onlineFlag is onlineExpr as a 1/0 column.
func (c *Catalog) onlineFlag(col string) string {
	return "CASE WHEN " + c.onlineExpr(col) + " THEN 1 ELSE 0 END"
}

// Heartbeat records that node n is alive now (creating its row on the
// first beat); see Beat.
func (c *Catalog) Heartbeat(ctx context.Context, n Node) error {
	_, err := c.Beat(ctx, n)
	return err
}

// Beat records that node n is alive now, by the database's clock. A node
// that was offline (its last beat older than NodeTimeout, or it stopped
// cleanly) comes back with its verified replicas set to ReplicaPending:
// its data may be stale or damaged, so they neither count nor serve until
// its seedbox checked them again. n.StartedAt is stored when given; zero
// keeps the stored one (or dates a new row by this process's clock).
func (c *Catalog) Beat(ctx context.Context, n Node) (BeatResult, error) {
	return c.beat(ctx, n, false)
}

// NodeStarted is the first beat of a node that just (re)started: its
// verified replicas become ReplicaPending whether or not it looked online,
// since a quick restart after a crash beats before the others noticed.
func (c *Catalog) NodeStarted(ctx context.Context, n Node) (BeatResult, error) {
	return c.beat(ctx, n, true)
}

func (c *Catalog) beat(ctx context.Context, n Node, started bool) (BeatResult, error) {
	op := fmt.Sprintf("heartbeat of node %q", n.Name)
	if strings.TrimSpace(n.Name) == "" || len(n.Name) > 64 {
		return BeatResult{}, fmt.Errorf("%s: %w", op, invalid("node name", "must be 1-64 characters"))
	}
	keepStart := n.StartedAt.IsZero()
	if keepStart {
		n.StartedAt = c.localNow()
	}
	var res BeatResult
	err := c.tx(ctx, func(tx *gorm.DB) error {
		lock := ""
		if c.dialect == DialectPostgres {
			lock = " FOR UPDATE"
		}
		var prev []struct{ Online bool }
		if err := tx.Raw(`SELECT `+c.onlineFlag("last_seen")+` AS online FROM nodes WHERE name = ?`+lock, n.Name).
			Scan(&prev).Error; err != nil {
			return err
		}
		res.Returned = started || (len(prev) == 1 && !prev[0].Online)
		startCol := "excluded.started_at"
		if keepStart {
			startCol = "nodes.started_at"
		}
		err := tx.Exec(`INSERT INTO nodes (name, public_url, peer_addr, version, replicas, started_at, last_seen)
VALUES (?, ?, ?, ?, ?, ?, `+c.dbNow()+`)
ON CONFLICT (name) DO UPDATE SET public_url = excluded.public_url, peer_addr = excluded.peer_addr,
	version = excluded.version, replicas = excluded.replicas, started_at = `+startCol+`, last_seen = excluded.last_seen`,
			n.Name, n.PublicURL, n.PeerAddr, n.Version, n.Replicas, n.StartedAt.UTC().Truncate(time.Microsecond)).Error
		if err != nil || !res.Returned {
			return err
		}
		r := tx.Exec(`UPDATE replicas SET state = ?, updated_at = ? WHERE node = ? AND state = ?`,
			ReplicaPending, now(), n.Name, ReplicaVerified)
		res.Pending = r.RowsAffected
		return r.Error
	})
	if err != nil {
		return BeatResult{}, dbErr(op, err)
	}
	return res, nil
}

// NodeStopped marks a node offline at once: a clean shutdown need not wait
// for its heartbeat to time out.
func (c *Catalog) NodeStopped(ctx context.Context, name string) error {
	err := c.write(ctx).Exec(`UPDATE nodes SET last_seen = ? WHERE name = ?`,
		time.Unix(0, 0).UTC(), name).Error
	return dbErr(fmt.Sprintf("stop node %q", name), err)
}

type nodeRow struct {
	Name      string
	PublicURL string
	PeerAddr  string
	Version   string
	Replicas  int
	StartedAt time.Time
	LastSeen  time.Time
	Online    bool
}

// Nodes lists every node that ever sent a heartbeat, by name.
func (c *Catalog) Nodes(ctx context.Context) ([]Node, error) {
	var rows []nodeRow
	err := c.read(ctx).Raw(`SELECT name, public_url, peer_addr, version, replicas, started_at, last_seen, ` +
		c.onlineFlag("last_seen") + ` AS online FROM nodes ORDER BY name`).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("nodes", err)
	}
	out := make([]Node, len(rows))
	for i, r := range rows {
		out[i] = Node{Name: r.Name, PublicURL: r.PublicURL, PeerAddr: r.PeerAddr, Version: r.Version,
			Replicas: r.Replicas, StartedAt: utc(r.StartedAt), LastSeen: utc(r.LastSeen), Online: r.Online}
	}
	return out, nil
}

// OnlineNodes returns the names of the nodes online now.
func (c *Catalog) OnlineNodes(ctx context.Context) (map[string]bool, error) {
	var names []string
	if err := c.read(ctx).Raw(`SELECT name FROM nodes WHERE ` + c.onlineExpr("last_seen")).Scan(&names).Error; err != nil {
		return nil, dbErr("online nodes", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// onlineSince is the oldest last_seen of a node online now by this
// process's clock. Prefer onlineExpr, which asks the database's clock:
// this one is right only while the clocks agree.
func onlineSince() time.Time { return now().Add(-NodeTimeout) }
