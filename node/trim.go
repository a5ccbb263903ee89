package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// Trimming surplus replicas. With seedbox.replicas = N and a node away, the
// others copy its torrents until N copies count again; when it returns and
// its copies are verified again, some torrents have more than N. The holder
// of the "trim" lease marks the surplus copies in the catalog
// (catalog.MarkSurplus, the rule is catalog.PlanTrim: the oldest copies
// stay, one per node first, never fewer than N that count, nothing while a
// copy is being made or checked), as a fenced run (Leader.Run). Every node
// then deletes its own surplus copies like deleted torrents (reap.go):
// state first, files after, so a crash at any point is finished by the
// next pass.

// trimEvery is how often the leader looks for surplus copies and every node
// for its own surplus copies to delete.
const trimEvery = 10 * time.Second

// trimBatch bounds the torrents one leader run trims.
const trimBatch = 500

// serveTrim runs the trim leader's lease and, every trimEvery, the leader's
// run (when this node leads) and this node's sweep, until ctx ends.
func (n *Node) serveTrim(ctx context.Context) error {
	leader := NewLeader(n.Catalog, "trim", n.cfg.Seedbox.Node, LeaseTTL, n.log)
	done := make(chan error, 1)
	go func() { done <- leader.Serve(ctx) }()
	tick := time.NewTicker(trimEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case <-tick.C:
		}
		if leader.Leading(ctx) {
			if _, err := leader.Run(ctx, n.trimSurplus); err != nil && ctx.Err() == nil {
				n.log.Warn("trim surplus replicas", "err", err)
			}
		}
		if err := n.sweepSurplus(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("delete surplus replicas", "err", err)
		}
	}
}

// trimSurplus marks the surplus copies of every torrent that has some: the
// leader's job.
func (n *Node) trimSurplus(ctx context.Context) error {
	want := n.cfg.Seedbox.Replicas
	ids, err := n.Catalog.SurplusTorrents(ctx, want, trimBatch)
	if err != nil {
		return err
	}
	for _, id := range ids {
		marked, err := n.Catalog.MarkSurplus(ctx, id, want)
		if err != nil {
			return err
		}
		for _, r := range marked {
			n.log.Info("replica marked surplus", "torrent_id", id, "node", r.Node, "volume", r.VolumeName)
		}
	}
	return nil
}

// sweepSurplus deletes this node's surplus copies: stop serving each from
// that volume, then, under the volume's content lock and only if the
// catalog still calls it surplus, remove its folder, then forget the row.
func (n *Node) sweepSurplus(ctx context.Context) error {
	ps, err := n.Catalog.SurplusOnNode(ctx, n.cfg.Seedbox.Node)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := n.deleteSurplus(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) deleteSurplus(ctx context.Context, p catalog.Placement) error {
	v, ok := n.Volumes.ByName(p.VolumeName)
	if !ok || v.ID != p.VolumeID {
		return nil // not mounted here
	}
	if n.Seeder != nil {
		if vol, seeding := n.Seeder.Volume(p.InfoHash); seeding && vol == v.Name {
			n.Seeder.Drop(p.InfoHash)
			n.Seeder.Kick() // serve it from another local copy, if any
		}
	}
	unlock, err := v.LockContent()
	if err != nil {
		return err
	}
	state, err := n.Catalog.ReplicaState(ctx, p.TorrentID, p.VolumeID)
	if err != nil || state != catalog.ReplicaSurplus {
		unlock()
		if errors.Is(err, catalog.ErrNotFound) {
			err = nil // gone already
		}
		return err // or no longer surplus
	}
	err = os.RemoveAll(v.TorrentDir(p.InfoHash))
	unlock()
	if err != nil {
		return fmt.Errorf("remove surplus replica of %s on %s: %w", p.InfoHash, v.Name, err)
	}
	if _, err := n.Catalog.DeleteSurplusReplica(ctx, p.TorrentID, p.VolumeID); err != nil {
		return err
	}
	n.log.Info("removed surplus replica", "info_hash", p.InfoHash, "volume", v.Name)
	return nil
}
