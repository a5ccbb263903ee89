package node

import (
	"context"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// swarmCountsEvery is how often the tracker's seeders and leechers are
// copied into the catalog for sorting lists by seeders. Pages show the live
// counts; only the order can lag this much.
const swarmCountsEvery = 15 * time.Second

// copySwarmCounts writes the tracker's counts into the catalog until ctx
// ends, only for the torrents whose counts changed since the last copy.
//
// Why a column and not a sort in memory: a page sorted by seeders over
// 100,000 torrents, filtered by category or a search, is then one indexed
// SQL query like every other order, on every node, whatever the store
// (memory or Redis). The price is a background pass over the torrent ids
// (one narrow read) and a write of the few counts that moved.
func (n *Node) copySwarmCounts(ctx context.Context) error {
	tick := time.NewTicker(swarmCountsEvery)
	defer tick.Stop()
	for {
		if err := n.copySwarmCountsOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("copy swarm counts to the catalog", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (n *Node) copySwarmCountsOnce(ctx context.Context) error {
	stored, err := n.Catalog.SwarmCounts(ctx)
	if err != nil {
		return err
	}
	var changed []catalog.SwarmCount
	for _, s := range stored {
		ih, ok := hash20(s.InfoHash)
		if !ok {
			continue
		}
		live := n.Tracker.Counts(ih)
		if int64(live.Seeders) != s.Seeders || int64(live.Leechers) != s.Leechers {
			s.Seeders, s.Leechers = int64(live.Seeders), int64(live.Leechers)
			changed = append(changed, s)
		}
	}
	return n.Catalog.SetSwarmCounts(ctx, changed)
}
