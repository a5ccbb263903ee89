package redisstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestBaselinesAcrossNodes replays one client announcing to two nodes in
// turn: each announce is credited once, by whichever node got it, with the
// ledger's rules (first announce sets the baseline, a restart earns
// nothing, early announces wait, stopped forgets).
func TestBaselinesAcrossNodes(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	oc := redis.NewClient(c.Options())
	t.Cleanup(func() { oc.Close() })
	nodes := []*Baselines{NewBaselines(c, "acct:", 600), NewBaselines(oc, "acct:", 600)}
	var pid [20]byte
	copy(pid[:], "-TR3000-aaaaaaaaaaaa")
	const big = 1 << 50 // beyond 32 bits, below 2^53
	steps := []struct {
		node              int
		up, down          int64
		seeder, stop, reg bool
		now               uint32
		want              Credit
	}{
		{0, 0, 0, false, false, false, 1000, Credit{}},                                    // started: baseline only
		{1, 100, 1000, false, false, true, 1010, Credit{Uploaded: 100, Downloaded: 1000}}, // the other node credits the delta
		{0, 150, 1000, false, false, true, 1011, Credit{Early: true}},                     // sooner than the 5 s min interval
		{0, 160, 1200, false, false, true, 1020, Credit{Uploaded: 60, Downloaded: 200}},   // early traffic counted now
		{1, 10, 50, false, false, false, 1030, Credit{}},                                  // client restart: new baseline, no credit
		{0, 30, big, true, false, false, 1040, Credit{Uploaded: 20, Downloaded: big - 50}},
		{1, 35, big, true, false, true, 1100, Credit{Uploaded: 5, SeedingSeconds: 60}},
		{0, 40, big, true, true, false, 1200, Credit{Uploaded: 5, SeedingSeconds: 100}}, // stopped
		{1, 45, big, true, false, true, 1300, Credit{}},                                 // no baseline after stopped
	}
	for i, s := range steps {
		a := Announce{User: 7, InfoHash: ihA, PeerID: pid, Uploaded: s.up, Downloaded: s.down,
			Seeder: s.seeder, Stopped: s.stop, Regular: s.reg, Now: s.now, MinInterval: 5}
		got, err := nodes[s.node].Advance(ctx, a)
		if err != nil || got != s.want {
			t.Errorf("step %d on node %d: %+v %v, want %+v", i, s.node+1, got, err, s.want)
		}
	}
	key := fmt.Sprintf("acct:bl:%x:7:%x", ihA, pid)
	if ttl := c.TTL(ctx, key).Val(); ttl <= 0 || ttl.Seconds() > 600 {
		t.Errorf("baseline %s expires in %v, want within the 600 s TTL", key, ttl)
	}
	other := Announce{User: 8, InfoHash: ihA, PeerID: pid, Now: 1300}
	if got, _ := nodes[0].Advance(ctx, other); got != (Credit{}) {
		t.Errorf("another user's first announce credited %+v", got)
	}
	if _, err := nodes[0].Advance(ctx, Announce{Uploaded: -1}); err == nil {
		t.Error("negative counters accepted")
	}
}
