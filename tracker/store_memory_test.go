package tracker_test

import (
	"testing"

	"github.com/seedbed/seedbed/tracker"
	"github.com/seedbed/seedbed/tracker/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func() tracker.PeerStore { return tracker.NewMemoryStore(8) })
	t.Run("one shard", func(t *testing.T) {
		storetest.Run(t, func() tracker.PeerStore { return tracker.NewMemoryStore(1) })
	})
}
