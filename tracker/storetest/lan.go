package storetest

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// The selection semantics of Run: LAN tiers, seeders first
// within a tier, and the seedbox as the source of last resort.

// storeLAN is the campus of the conformance tests: 10/8 and fd00::/8, with
// dorm-a (10.1/16, fd00:a::/32) and dorm-b (10.2/16).
var storeLAN = mustLAN(tracker.LANConfig{
	Campus: prefixes("10.0.0.0/8", "fd00::/8"),
	Networks: []tracker.Network{
		{Name: "dorm-a", Prefixes: prefixes("10.1.0.0/16", "fd00:a::/32")},
		{Name: "dorm-b", Prefixes: prefixes("10.2.0.0/16")},
	},
})

func mustLAN(cfg tracker.LANConfig) *tracker.LAN {
	l, err := tracker.NewLAN(cfg)
	if err != nil {
		panic(err)
	}
	return l
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// lanPeer is peer n at addr, port 1000+n, classified by storeLAN.
func lanPeer(n int, addr string, seeder bool) tracker.Peer {
	a := netip.MustParseAddr(addr)
	p := tracker.NewPeer(testPeerID(n), netip.AddrPortFrom(a, uint16(1000+n)), seeder, 1000)
	p.Class = storeLAN.Classify(a)
	return p
}

// boxPeer is lanPeer of a seedbox.
func boxPeer(n int, addr string, seeder bool) tracker.Peer {
	p := lanPeer(n, addr, seeder)
	p.Class |= tracker.ClassSeedbox
	return p
}

// tieredSwarm fills ihOne with two peers per tier for a requester at
// 10.1.1.99 (dorm-a): odd numbers seed.
//
//	subnet 1 S 10.1.1.1, 2 L 10.1.1.2      network 3 S 10.1.2.3, 4 L 10.1.3.4
//	campus 5 S 10.2.0.5, 6 L 10.9.0.6      other 7 S 192.0.2.7, 8 L 198.51.100.8, 9 L 2001:db8::9
func tieredSwarm(t *testing.T, s tracker.PeerStore) {
	for n, addr := range map[int]string{
		1: "10.1.1.1", 2: "10.1.1.2", 3: "10.1.2.3", 4: "10.1.3.4", 5: "10.2.0.5",
		6: "10.9.0.6", 7: "192.0.2.7", 8: "198.51.100.8", 9: "2001:db8::9",
	} {
		mustPut(t, s, ihOne, lanPeer(n, addr, n%2 == 1 && n != 9))
	}
}

func storeTiers(t *testing.T, s tracker.PeerStore) {
	tieredSwarm(t, s)
	for range 20 {
		got := ids(mustAppend(t, s, ihOne, lanPeer(99, "10.1.1.99", false), 20))
		if len(got) != 9 || !slices.Equal(got[:7], []int{1, 2, 3, 4, 5, 6, 7}) || !slices.Equal(slices.Sorted(slices.Values(got[7:])), []int{8, 9}) {
			t.Fatalf("leecher got %v, want 1..7 in order (by tier, seeders first), then 8 and 9", got)
		}
	}
}

func storeSeederTiers(t *testing.T, s tracker.PeerStore) {
	tieredSwarm(t, s)
	for range 20 {
		got := ids(mustAppend(t, s, ihOne, lanPeer(99, "10.1.1.99", true), 20))
		if len(got) != 5 || !slices.Equal(got[:3], []int{2, 4, 6}) || !slices.Equal(slices.Sorted(slices.Values(got[3:])), []int{8, 9}) {
			t.Fatalf("seeder got %v, want leechers 2, 4, 6, then 8 and 9", got)
		}
	}
}

func storeTierCut(t *testing.T, s tracker.PeerStore) {
	tieredSwarm(t, s)
	me := lanPeer(99, "10.1.1.99", false)
	for n, want := range map[int][]int{1: {1}, 3: {1, 2, 3}, 6: {1, 2, 3, 4, 5, 6}} {
		if got := ids(mustAppend(t, s, ihOne, me, n)); !slices.Equal(got, want) {
			t.Errorf("n=%d: got %v, want %v", n, got, want)
		}
	}
	off := lanPeer(98, "203.0.113.98", false) // off campus: campus is no better than elsewhere
	if got := ids(mustAppend(t, s, ihOne, off, 20)); len(got) != 9 {
		t.Errorf("off-campus leecher got %v, want all 9", got)
	}
}

func storeTierTurns(t *testing.T, s tracker.PeerStore) {
	for n := 1; n <= 5; n++ {
		mustPut(t, s, ihOne, lanPeer(n, netip.AddrFrom4([4]byte{10, 1, byte(10 + n), 1}).String(), false))
		mustPut(t, s, ihOne, lanPeer(10+n, netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}).String(), true))
	}
	first := map[int]bool{}
	for range 500 {
		got := ids(mustAppend(t, s, ihOne, lanPeer(99, "10.1.1.99", false), 1))
		if got[0] > 5 {
			t.Fatalf("got off-campus seeder %d before a dorm-a leecher", got[0])
		}
		first[got[0]] = true
	}
	if len(first) != 5 {
		t.Errorf("only %v were ever handed out, want all 5 of the best tier", first)
	}
}

func storeDualStack(t *testing.T, s tracker.PeerStore) {
	me4, me6 := lanPeer(99, "10.1.1.99", false), lanPeer(99, "fd00:a::99", false)
	mustPut(t, s, ihOne, me4, me6,
		lanPeer(1, "fd00:a::1", false), lanPeer(2, "10.1.1.2", false),
		lanPeer(3, "10.2.0.3", false), lanPeer(4, "fd00:b::4", false))
	r := storeLAN.Requester([]tracker.Peer{me4, me6})
	for range 20 {
		got, err := s.AppendPeers(context.Background(), ihOne, r, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		ns := ids(got)
		if len(ns) != 4 || !slices.Equal(slices.Sorted(slices.Values(ns[:2])), []int{1, 2}) {
			t.Fatalf("got %v, want the subnet-mates of both families (1, 2) first, never 99", ns)
		}
	}
}

func storeSeedboxLastResort(t *testing.T, s tracker.PeerStore) {
	for n := 1; n <= 6; n++ {
		mustPut(t, s, ihOne, lanPeer(n, netip.AddrFrom4([4]byte{10, 1, 1, byte(n)}).String(), true))
	}
	mustPut(t, s, ihOne, boxPeer(50, "192.0.2.50", true), boxPeer(51, "192.0.2.51", false))
	me := lanPeer(99, "10.1.1.99", false)
	for n, want := range map[int]int{1: 1, 4: 4, 10: 8} {
		got := ids(mustAppend(t, s, ihOne, me, n))
		if len(got) != want || slices.Index(got, 50) != min(n, 7)-1 {
			t.Errorf("n=%d: got %v, want %d peers with seedbox 50 in slot %d", n, got, want, min(n, 7))
		}
	}
	mustPut(t, s, ihOne, boxPeer(52, "192.0.2.52", true))
	seen := map[int]bool{}
	for range 200 {
		got := ids(mustAppend(t, s, ihOne, me, 3))
		box := got[2]
		if box != 50 && box != 52 || got[0] > 6 || got[1] > 6 {
			t.Fatalf("got %v, want two LAN seeders then one seedbox", got)
		}
		seen[box] = true
	}
	if len(seen) != 2 {
		t.Errorf("only seedbox %v ever took the last slot, want both in turn", seen)
	}
}

func storeSeedboxNotForSeeders(t *testing.T, s tracker.PeerStore) {
	for n := 1; n <= 4; n++ {
		mustPut(t, s, ihOne, lanPeer(n, netip.AddrFrom4([4]byte{10, 1, 1, byte(n)}).String(), false))
	}
	mustPut(t, s, ihOne, boxPeer(50, "192.0.2.50", true))
	if got := ids(mustAppend(t, s, ihOne, lanPeer(99, "10.1.1.99", true), 2)); slices.Contains(got, 50) || len(got) != 2 {
		t.Errorf("seeder got %v, want two leechers and no seedbox", got)
	}
}

func storeSeedboxSelf(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, lanPeer(1, "10.1.1.1", true), lanPeer(2, "10.1.1.2", true), boxPeer(50, "192.0.2.50", true))
	replica := boxPeer(50, "fd00:a::50", false) // the same seedbox, leeching over IPv6
	got := ids(mustAppend(t, s, ihOne, replica, 1))
	if len(got) != 1 || got[0] == 50 {
		t.Errorf("seedbox got %v, want one peer and never itself", got)
	}
}

func storeLargeSwarm(t *testing.T, s tracker.PeerStore) {
	for n := 1; n <= 600; n++ {
		mustPut(t, s, ihOne, lanPeer(n, netip.AddrFrom4([4]byte{192, 0, byte(n >> 8), byte(n)}).String(), n%2 == 0))
	}
	for n := 601; n <= 605; n++ {
		mustPut(t, s, ihOne, lanPeer(n, netip.AddrFrom4([4]byte{10, 1, 1, byte(n - 600)}).String(), false))
	}
	me := lanPeer(600, "10.1.1.99", false) // shares its ID with an off-campus seeder
	for range 20 {
		got := ids(mustAppend(t, s, ihOne, me, 8))
		if !slices.Equal(slices.Sorted(slices.Values(got[:5])), []int{601, 602, 603, 604, 605}) ||
			slices.ContainsFunc(got[5:], func(n int) bool { return n%2 != 0 || n == 600 }) {
			t.Fatalf("got %v, want the 5 subnet leechers, then off-campus seeders, never 600", got)
		}
	}
}

func storeCountNetworks(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, lanPeer(1, "10.1.1.1", true), lanPeer(2, "fd00:a::2", false),
		lanPeer(3, "10.2.0.3", false), lanPeer(4, "10.9.0.4", true), lanPeer(5, "192.0.2.5", false))
	c, err := s.CountNetworks(context.Background(), ihOne)
	if err != nil {
		t.Fatal(err)
	}
	if c[0] != 2 || c[1] != 2 || c[2] != 1 || c[3] != 0 {
		t.Errorf("counts by network %v, want none 2, dorm-a 2, dorm-b 1", c[:4])
	}
	if c, err := s.CountNetworks(context.Background(), ihStray); err != nil || c != (tracker.PeersByNetwork{}) {
		t.Errorf("unknown swarm: %v %v", c[:3], err)
	}
}

func storeTotals(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, true, false), storePeer(2, true, true), storePeer(3, false, false))
	mustPut(t, s, ihTwo, storePeer(4, false, false))
	if _, err := s.Snatch(context.Background(), ihStray, testPeerID(5)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Totals(context.Background())
	if want := (tracker.StoreTotals{Swarms: 2, Seeders: 2, Leechers: 2}); err != nil || got != want {
		t.Errorf("Totals %+v %v, want %+v", got, err, want)
	}
}
