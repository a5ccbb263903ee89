package portal

import (
	"context"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// beatNode keeps node online in cat, as a running node's heartbeat would,
// until the test ends.
func beatNode(t testing.TB, cat *catalog.Catalog, node string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := cat.Heartbeat(ctx, catalog.Node{Name: node}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(catalog.NodeHeartbeat)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				cat.Heartbeat(ctx, catalog.Node{Name: node})
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}
