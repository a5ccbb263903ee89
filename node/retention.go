package node

import (
	"context"
	"time"

	"github.com/seedbed/seedbed/seedbox/retention"
)

// purgeSweepEvery is how often a node deletes its copies of torrents purged
// elsewhere (by another node or `seedbed retention apply`) or left half
// purged by a crash.
const purgeSweepEvery = 10 * time.Second

// retentionApplier deletes purged data on this node's volumes.
func (n *Node) retentionApplier() *retention.Applier {
	a := &retention.Applier{Catalog: n.Catalog, Volumes: n.Volumes, Node: n.cfg.Seedbox.Node, Logger: n.log}
	if n.Seeder != nil {
		a.BeforeDelete = n.Seeder.Drop
	}
	return a
}

// serveRetention finishes half-done purges at start, keeps deleting this
// node's copies of purged torrents, and with retention.auto applies the
// policy every retention.interval while leader says this node leads.
func (n *Node) serveRetention(ctx context.Context, leader retention.Leader) error {
	a := n.retentionApplier()
	sweep := time.NewTicker(purgeSweepEvery)
	defer sweep.Stop()
	var auto <-chan time.Time
	if n.cfg.Retention.Auto {
		t := time.NewTicker(n.cfg.Retention.Interval.D())
		defer t.Stop()
		auto = t.C
	}
	for {
		if done, err := a.Sweep(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("retention: finish purges", "err", err)
		} else if done > 0 {
			n.log.Info("retention: deleted data of purged torrents", "copies", done)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sweep.C:
		case <-auto:
			if leader.Leading(ctx) {
				n.applyRetention(ctx, a)
			}
		}
	}
}

// applyRetention evaluates the policy now and applies it as "auto".
func (n *Node) applyRetention(ctx context.Context, a *retention.Applier) {
	plan, err := retention.Evaluate(ctx, n.Catalog, n.Volumes, n.cfg.Seedbox.Node, retention.PolicyFrom(n.cfg.Retention), time.Now())
	if err != nil {
		n.log.Warn("retention: make plan", "err", err)
		return
	}
	res, err := a.Apply(ctx, plan, "auto")
	if err != nil && ctx.Err() == nil {
		n.log.Warn("retention: apply", "err", err)
	}
	if len(res.Purged) > 0 {
		n.log.Info("retention: applied", "purged", len(res.Purged), "skipped", len(res.Skipped))
	}
}

// serveStorageAdmin runs the volume watcher and, on a seedbox node,
// retention.
func (n *Node) serveStorageAdmin(ctx context.Context) error {
	if !n.parts.Seedbox {
		return n.watchVolumes(ctx)
	}
	// Scheduled retention runs on one node at a time: the holder of the
	// "retention" lease in the catalog (node/leader.go).
	leader := NewLeader(n.Catalog, "retention", n.cfg.Seedbox.Node, LeaseTTL, n.log)
	errc := make(chan error, 2)
	go func() { errc <- n.watchVolumes(ctx) }()
	go func() { errc <- leader.Serve(ctx) }()
	err := n.serveRetention(ctx, leader)
	for range 2 {
		if werr := <-errc; err == nil {
			err = werr
		}
	}
	return err
}
