package redisstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
)

// TestLargeSwarmSnapshot: a large swarm's lists serve the next announces
// without a command to Redis, and another node's new peer still shows
// within a second; a small swarm is fetched every time.
func TestLargeSwarmSnapshot(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	var sent commandCounter
	c.AddHook(&sent)
	s := New(c, Options{LargeSwarm: 20, SnapshotTTL: 300 * time.Millisecond})
	oc := redis.NewClient(c.Options())
	t.Cleanup(func() { oc.Close() })
	other := New(oc, Options{LargeSwarm: -1})
	for n := range 30 {
		mustPut(t, s, ihA, testPeer(n, fmt.Sprintf("10.0.0.%d", n), n < 10, 100))
	}
	mustPut(t, s, ihB, testPeer(1, "10.0.1.1", true, 100))

	appendAll := func(ih [20]byte, seeder bool) ([]tracker.Peer, int64) {
		t.Helper()
		before := sent.n.Load()
		got, err := s.AppendPeers(ctx, ih, anyRequester(seeder), 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got, sent.n.Load() - before
	}
	if got, cmds := appendAll(ihA, false); len(got) != 30 || cmds != 1 {
		t.Fatalf("first fetch: %d peers in %d commands, want 30 in 1", len(got), cmds)
	}
	if got, cmds := appendAll(ihA, false); len(got) != 30 || cmds != 0 {
		t.Errorf("second fetch: %d peers in %d commands, want 30 from the snapshot", len(got), cmds)
	}
	if got, cmds := appendAll(ihA, true); len(got) != 20 || slices.ContainsFunc(got, func(p tracker.Peer) bool { return p.Seeder }) || cmds != 0 {
		t.Errorf("seeder got %d peers in %d commands, want the 20 leechers from the snapshot", len(got), cmds)
	}
	for range 2 {
		if _, cmds := appendAll(ihB, false); cmds != 1 {
			t.Errorf("small swarm fetched in %d commands, want 1 every time", cmds)
		}
	}

	start := time.Now()
	newcomer := testPeer(77, "10.0.0.77", true, 100)
	mustPut(t, other, ihA, newcomer)
	for {
		got, _ := appendAll(ihA, false)
		if slices.Contains(got, newcomer) {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("another node's peer is not handed out within a second")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
