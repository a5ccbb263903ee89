package node

import (
	"context"
	"fmt"
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
// policy every retention.interval as a fenced run of leader (only while this
// node holds the "retention" lease; see Leader.Run).
func (n *Node) serveRetention(ctx context.Context, leader *Leader) error {
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
			if _, err := leader.Run(ctx, func(ctx context.Context) error { return n.applyRetention(ctx, a) }); err != nil && ctx.Err() == nil {
				n.log.Warn("retention: scheduled run", "err", err)
			}
		}
	}
}

// applyRetention evaluates the policy now and applies it as "auto".
func (n *Node) applyRetention(ctx context.Context, a *retention.Applier) error {
	plan, err := retention.Evaluate(ctx, n.Catalog, n.Volumes, n.cfg.Seedbox.Node, retention.PolicyFrom(n.cfg.Retention), time.Now())
	if err != nil {
		return fmt.Errorf("make plan: %w", err)
	}
	res, err := a.Apply(ctx, plan, "auto")
	if len(res.Purged) > 0 {
		n.log.Info("retention: applied", "purged", len(res.Purged), "skipped", len(res.Skipped))
	}
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// serveStorageAdmin runs the volume watcher and, on a seedbox node,
// retention.
func (n *Node) serveStorageAdmin(ctx context.Context) error {
	if !n.parts.Seedbox {
		return n.watchVolumes(ctx)
	}
	// Scheduled retention and the scrub schedule run on one node at a
	// time: the holders of the "retention" and "scrub" leases in the
	// catalog (node/leader.go).
	leader := NewLeader(n.Catalog, "retention", n.cfg.Seedbox.Node, LeaseTTL, n.log)
	scrubLeader := NewLeader(n.Catalog, "scrub", n.cfg.Seedbox.Node, LeaseTTL, n.log)
	errc := make(chan error, 4)
	go func() { errc <- n.watchVolumes(ctx) }()
	go func() { errc <- leader.Serve(ctx) }()
	go func() { errc <- scrubLeader.Serve(ctx) }()
	go func() { errc <- n.scheduleScrubs(ctx, scrubLeader) }()
	err := n.serveRetention(ctx, leader)
	for range 4 {
		if werr := <-errc; err == nil {
			err = werr
		}
	}
	return err
}
