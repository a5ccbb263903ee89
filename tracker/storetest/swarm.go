package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// The cases of Run on a swarm's bookkeeping: counts, refresh, removal,
// snatches, expiry, concurrency.

func storeCounts(t *testing.T, s tracker.PeerStore) {
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{}) {
		t.Errorf("empty swarm counts %+v", c)
	}
	mustPut(t, s, ihOne, storePeer(1, true, false), storePeer(2, false, false), storePeer(3, false, true))
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Seeders: 1, Leechers: 2}) {
		t.Errorf("counts %+v, want 1 seeder 2 leechers", c)
	}
}

func storeRefresh(t *testing.T, s tracker.PeerStore) {
	p := storePeer(1, false, false)
	mustPut(t, s, ihOne, p)
	p.Port, p.LastSeen = 4242, 2000
	mustPut(t, s, ihOne, p)
	if c := mustCounts(t, s, ihOne); c.Leechers != 1 {
		t.Errorf("counts %+v after refresh, want 1 leecher", c)
	}
	got := mustAppend(t, s, ihOne, storePeer(9, false, false), 10)
	if len(got) != 1 || got[0] != p {
		t.Errorf("got %+v, want the refreshed %+v", got, p)
	}
}

func storeGraduate(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, false, false), storePeer(2, false, false))
	mustPut(t, s, ihOne, storePeer(1, true, false))
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Seeders: 1, Leechers: 1}) {
		t.Errorf("counts %+v, want 1 and 1", c)
	}
	got := mustAppend(t, s, ihOne, storePeer(9, false, false), 10)
	if !slices.Equal(ids(got), []int{1, 2}) {
		t.Errorf("got %v, want the new seeder 1 first", ids(got))
	}
}

func storeFamilies(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, false, false), storePeer(1, false, true))
	if c := mustCounts(t, s, ihOne); c.Leechers != 2 {
		t.Errorf("counts %+v, want one leecher per family", c)
	}
	if got := mustAppend(t, s, ihOne, storePeer(2, false, false), 10); len(got) != 2 || got[0].Is6() == got[1].Is6() {
		t.Errorf("got %+v, want an IPv4 and an IPv6 entry", got)
	}
}

func storeRemove(t *testing.T, s tracker.PeerStore) {
	ctx := context.Background()
	mustPut(t, s, ihOne, storePeer(1, true, false), storePeer(2, false, false))
	for _, p := range []tracker.Peer{storePeer(1, false, false), storePeer(1, false, false), storePeer(3, false, false), storePeer(2, false, true)} {
		if err := s.RemovePeer(ctx, ihOne, p); err != nil {
			t.Fatalf("RemovePeer: %v", err)
		}
	}
	if err := s.RemovePeer(ctx, ihStray, storePeer(1, false, false)); err != nil {
		t.Fatalf("RemovePeer on an unknown swarm: %v", err)
	}
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Leechers: 1}) {
		t.Errorf("counts %+v, want only leecher 2 (removal by peer_id and family, seeder flag ignored)", c)
	}
}

func storeExcludesSelf(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, false, false), storePeer(1, false, true), storePeer(2, true, false))
	got := mustAppend(t, s, ihOne, storePeer(1, false, false), 10)
	if !slices.Equal(ids(got), []int{2}) {
		t.Errorf("got %v, want only peer 2", ids(got))
	}
}

func storeSeedersFirst(t *testing.T, s tracker.PeerStore) {
	for i := 1; i <= 20; i++ {
		mustPut(t, s, ihOne, storePeer(i, i > 15, false))
	}
	for range 20 {
		got := ids(mustAppend(t, s, ihOne, storePeer(99, false, false), 8))
		if len(got) != 8 {
			t.Fatalf("got %d peers, want 8", len(got))
		}
		seeders := slices.Sorted(slices.Values(got[:5]))
		if !slices.Equal(seeders, []int{16, 17, 18, 19, 20}) || slices.ContainsFunc(got[5:], func(n int) bool { return n > 15 }) {
			t.Fatalf("got %v, want the 5 seeders first, then leechers", got)
		}
	}
}

func storeSeederGetsLeechers(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, true, false), storePeer(2, true, false), storePeer(3, false, false), storePeer(4, false, true))
	got := mustAppend(t, s, ihOne, storePeer(1, true, false), 10)
	if !slices.Equal(sortedIDs(got), []int{3, 4}) {
		t.Errorf("seeder got %v, want leechers 3 and 4 only", ids(got))
	}
}

func storeLimit(t *testing.T, s tracker.PeerStore) {
	for i := 1; i <= 10; i++ {
		mustPut(t, s, ihOne, storePeer(i, i%2 == 0, false))
	}
	me := storePeer(99, false, false)
	for _, n := range []int{0, 1, 5, 10, 11} {
		if got := mustAppend(t, s, ihOne, me, n); len(got) != min(n, 10) {
			t.Errorf("n=%d: got %d peers", n, len(got))
		}
	}
	dst := []tracker.Peer{storePeer(50, false, false)}
	got, err := s.AppendPeers(context.Background(), ihOne, storeLAN.Requester([]tracker.Peer{me}), 3, dst)
	if err != nil || len(got) != 4 || ids(got)[0] != 50 {
		t.Errorf("AppendPeers onto dst: %v %v, want dst kept plus 3", ids(got), err)
	}
}

func storeRandomStart(t *testing.T, s tracker.PeerStore) {
	for i := 1; i <= 5; i++ {
		mustPut(t, s, ihOne, storePeer(i, false, false))
	}
	first := map[int]bool{}
	for range 500 {
		first[ids(mustAppend(t, s, ihOne, storePeer(99, false, false), 1))[0]] = true
	}
	if len(first) != 5 {
		t.Errorf("only peers %v were ever handed out first, want all 5", first)
	}
}

func storeSnatch(t *testing.T, s tracker.PeerStore) {
	ctx := context.Background()
	for i, want := range []bool{true, false, true} {
		first, err := s.Snatch(ctx, ihOne, testPeerID(1+i/2))
		if err != nil || first != want {
			t.Errorf("snatch %d: %v %v, want %v", i, first, err, want)
		}
	}
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Completed: 2}) {
		t.Errorf("counts %+v, want 2 completed", c)
	}
	mustPut(t, s, ihOne, storePeer(1, true, false))
	if _, err := s.RemoveExpired(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Completed: 2}) {
		t.Errorf("counts %+v after the swarm emptied, want the 2 snatches kept", c)
	}
}

func storeExpire(t *testing.T, s tracker.PeerStore) {
	for i := 1; i <= 6; i++ {
		p := storePeer(i, i%2 == 0, i > 4)
		p.LastSeen = uint32(100 * i)
		mustPut(t, s, ihOne, p)
	}
	mustPut(t, s, ihTwo, storePeer(7, false, false)) // LastSeen 1000
	n, err := s.RemoveExpired(context.Background(), 350)
	if err != nil || n != 3 {
		t.Fatalf("RemoveExpired: %d %v, want 3", n, err)
	}
	got := mustAppend(t, s, ihOne, storePeer(99, false, false), 10)
	if !slices.Equal(sortedIDs(got), []int{4, 5, 6}) {
		t.Errorf("left %v, want 4, 5, 6", sortedIDs(got))
	}
	if c := mustCounts(t, s, ihTwo); c.Leechers != 1 {
		t.Errorf("fresh peer of another swarm expired: %+v", c)
	}
}

func storeSwarmsSeparate(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, true, false))
	mustPut(t, s, ihTwo, storePeer(2, false, false))
	if got := mustAppend(t, s, ihTwo, storePeer(9, false, false), 10); !slices.Equal(ids(got), []int{2}) {
		t.Errorf("swarm two gave %v", ids(got))
	}
	if c := mustCounts(t, s, ihStray); c != (tracker.SwarmCounts{}) {
		t.Errorf("unknown swarm counts %+v", c)
	}
}

func storeRoundTrip(t *testing.T, s tracker.PeerStore) {
	want := []tracker.Peer{storePeer(1, true, false), storePeer(2, false, true)}
	want[0].LastSeen = 123456
	want[0].Class = tracker.ClassCampus | tracker.ClassSeedbox | 5
	want[1].Class = tracker.ClassCampus | tracker.MaxNetworks
	mustPut(t, s, ihOne, want...)
	got := mustAppend(t, s, ihOne, storePeer(3, false, false), 10)
	slices.SortFunc(got, func(a, b tracker.Peer) int { return int(a.Port) - int(b.Port) })
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func storeConcurrent(t *testing.T, s tracker.PeerStore) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				ih := [][20]byte{ihOne, ihTwo}[i%2]
				p := storePeer(g*1000+i%20, i%3 == 0, i%5 == 0)
				_ = s.PutPeer(ctx, ih, p)
				_, _ = s.AppendPeers(ctx, ih, storeLAN.Requester([]tracker.Peer{p}), 10, nil)
				_, _ = s.Counts(ctx, ih)
				_, _ = s.Snatch(ctx, ih, p.ID)
				if i%7 == 0 {
					_ = s.RemovePeer(ctx, ih, p)
				}
				if i%50 == 0 {
					_, _ = s.RemoveExpired(ctx, 500)
				}
			}
		})
	}
	wg.Wait()
	for _, ih := range [][20]byte{ihOne, ihTwo} {
		c := mustCounts(t, s, ih)
		all := mustAppend(t, s, ih, storePeer(99999, false, false), 1000)
		if len(all) != c.Seeders+c.Leechers {
			t.Errorf("counts %+v disagree with %d peers listed", c, len(all))
		}
	}
}
