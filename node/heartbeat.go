package node

import (
	"context"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// nodeRecord is what this node's heartbeat says about it: the public URL
// only when it runs the portal (which serves the web seed).
func (n *Node) nodeRecord() catalog.Node {
	rec := catalog.Node{Name: n.cfg.Seedbox.Node, PeerAddr: n.cfg.Seedbox.PeerAddr,
		Version: n.version, Replicas: n.cfg.Seedbox.Replicas, StartedAt: n.started}
	if n.parts.Portal {
		rec.PublicURL = n.cfg.PublicURL
	}
	return rec
}

// startBeat is the first heartbeat, before the node serves anything: the
// catalog sets this node's verified replicas pending (catalog.NodeStarted),
// so they count and are seeded again only once the replicator's first pass
// checked them (seedbox.Replicator.recheck).
func (n *Node) startBeat(ctx context.Context) error {
	return n.beatAs(ctx, n.Catalog.NodeStarted)
}

// beat writes one heartbeat and reports how full this node's volumes are,
// for the retention planner of whichever node leads (seedbox/retention
// Evaluate). A node that was offline longer than catalog.NodeTimeout finds
// its replicas pending, as after a restart.
func (n *Node) beat(ctx context.Context) error {
	return n.beatAs(ctx, n.Catalog.Beat)
}

func (n *Node) beatAs(ctx context.Context, write func(context.Context, catalog.Node) (catalog.BeatResult, error)) error {
	res, err := write(ctx, n.nodeRecord())
	if err != nil {
		return err
	}
	if res.Pending > 0 {
		n.log.Info("node back: its replicas count again once checked", "pending", res.Pending)
		if n.Replicator != nil {
			n.Replicator.Kick()
		}
	}
	return n.Catalog.ReportVolumeUsage(ctx, n.cfg.Seedbox.Node, n.volumeUsage())
}

// volumeUsage measures this node's volumes: one statfs each (none for a
// volume with a capacity cap). A volume that cannot be measured is left
// out; its last report ages until the planner ignores it. The reports carry
// the time measuring started, so the planner can tell whether they count
// data a purge deleted meanwhile.
func (n *Node) volumeUsage() []catalog.VolumeUsageReport {
	if n.Volumes == nil {
		return nil
	}
	at := time.Now()
	var out []catalog.VolumeUsageReport
	for _, v := range n.Volumes.List() {
		used, capa, err := v.Usage()
		if err != nil {
			continue
		}
		out = append(out, catalog.VolumeUsageReport{Name: v.Name, Used: used, Capacity: capa, MeasuredAt: at})
	}
	return out
}

// heartbeat keeps this node's row in the nodes table fresh every
// catalog.NodeHeartbeat until ctx ends, then marks the node stopped so the
// others stop counting its replicas at once. Serve wrote the first beat
// already. A failed beat is logged and retried at the next tick: a node
// that cannot reach the catalog for catalog.NodeTimeout is offline to the
// others, which is the truth.
func (n *Node) heartbeat(ctx context.Context) error {
	tick := time.NewTicker(catalog.NodeHeartbeat)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := n.Catalog.NodeStopped(sctx, n.cfg.Seedbox.Node); err != nil {
				n.log.Warn("mark node stopped", "err", err)
			}
			return nil
		case <-tick.C:
		}
		bctx, cancel := context.WithTimeout(ctx, catalog.NodeHeartbeat)
		err := n.beat(bctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			n.log.Warn("heartbeat", "err", err)
			failing = true
		case err == nil && failing:
			n.log.Info("heartbeat written again")
			failing = false
		}
	}
}
