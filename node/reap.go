package node

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// reapEvery is how often a node looks for deleted torrents on its volumes;
// a delete on this node's portal wakes it at once.
const reapEvery = 5 * time.Second

// torrentDeleted runs after the portal marked a torrent deleted: the tracker
// refuses it at once and the reaper is woken.
func (n *Node) torrentDeleted(infoHash string) {
	if ih, ok := hash20(infoHash); ok {
		n.Access.Disallow(ih)
	}
	select {
	case n.reap <- struct{}{}:
	default:
	}
}

// reapDeleted removes the data of deleted torrents from this node's volumes
// until ctx ends: stop seeding, remove the directory, then forget the
// replica. The catalog row was marked deleted before, so a crash at any step
// is finished by the next pass.
func (n *Node) reapDeleted(ctx context.Context) error {
	tick := time.NewTicker(reapEvery)
	defer tick.Stop()
	for {
		if err := n.reapOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("remove deleted torrents", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-n.reap:
		}
	}
}

func (n *Node) reapOnce(ctx context.Context) error {
	ps, err := n.Catalog.DeletedReplicasOnNode(ctx, n.cfg.Seedbox.Node)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := n.reapReplica(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) reapReplica(ctx context.Context, p catalog.Placement) error {
	v, ok := n.Volumes.ByName(p.VolumeName)
	if !ok {
		return nil // not mounted here; the node that has it removes it
	}
	if n.Seeder != nil {
		n.Seeder.Drop(p.InfoHash)
	}
	if err := os.RemoveAll(v.TorrentDir(p.InfoHash)); err != nil {
		return fmt.Errorf("remove data of deleted torrent %s on %s: %w", p.InfoHash, v.Name, err)
	}
	if err := n.Catalog.DeleteReplica(ctx, p.TorrentID, p.VolumeID); err != nil {
		return err
	}
	n.log.Info("removed deleted torrent's data", "info_hash", p.InfoHash, "volume", v.Name)
	return nil
}
