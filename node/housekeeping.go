package node

import (
	"context"
	"time"
)

// sessionSweepEvery is how often expired login sessions are deleted.
const sessionSweepEvery = time.Hour

// sweepSessions deletes expired login sessions now and then every
// sessionSweepEvery, so the sessions table holds only live ones. A failed
// sweep is logged and retried at the next tick: it never stops the node.
func (n *Node) sweepSessions(ctx context.Context) error {
	tick := time.NewTicker(sessionSweepEvery)
	defer tick.Stop()
	for {
		removed, err := n.Catalog.DeleteExpiredSessions(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			n.log.Warn("sweep expired sessions", "err", err)
		case removed > 0:
			n.log.Info("swept expired sessions", "count", removed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
