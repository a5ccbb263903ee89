// Package storetest is the conformance suite of tracker.PeerStore: every
// implementation (the memory store, the Redis store) runs Run from its own
// tests, so they all behave as the tracker needs.
package storetest

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// The swarms of the suite: two in use and one never announced to.
var (
	ihOne   = sha1.Sum([]byte("torrent one"))
	ihTwo   = sha1.Sum([]byte("torrent two"))
	ihStray = sha1.Sum([]byte("not registered"))
)

// Run checks that a tracker.PeerStore behaves as the tracker needs. Every
// implementation (memory, Redis) runs it with a constructor that returns an
// empty store; newStore is called once per case.
func Run(t *testing.T, newStore func() tracker.PeerStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s tracker.PeerStore)
	}{
		{"counts seeders and leechers", storeCounts},
		{"put refreshes the same peer", storeRefresh},
		{"leecher becomes seeder", storeGraduate},
		{"families are separate peers", storeFamilies},
		{"remove", storeRemove},
		{"never the requester", storeExcludesSelf},
		{"leecher gets seeders first", storeSeedersFirst},
		{"seeder gets only leechers", storeSeederGetsLeechers},
		{"n limits and dst is kept", storeLimit},
		{"random start gives every peer a turn", storeRandomStart},
		{"snatch once per peer_id", storeSnatch},
		{"expired peers are removed", storeExpire},
		{"swarms are separate", storeSwarmsSeparate},
		{"peer is stored exactly", storeRoundTrip},
		{"concurrent use", storeConcurrent},
		{"LAN tiers rank first", storeTiers},
		{"seeder gets leechers by tier", storeSeederTiers},
		{"tiers cut at n", storeTierCut},
		{"every peer of a tier gets a turn", storeTierTurns},
		{"requester with both families", storeDualStack},
		{"seedbox is the source of last resort", storeSeedboxLastResort},
		{"seedbox not forced on seeders", storeSeedboxNotForSeeders},
		{"large swarm ranks the same", storeLargeSwarm},
		{"seedbox never handed itself", storeSeedboxSelf},
		{"counts by network", storeCountNetworks},
		{"totals", storeTotals},
		{"announce puts, ranks and counts", announcePeersAndCounts},
		{"announce returns the last baseline", announceBaselines},
		{"baselines belong to their user", announceOwners},
		{"early announce keeps the baseline", announceEarly},
		{"stopped drops the baseline", announceStopped},
		{"one baseline for both families", announceFamilies},
		{"expired peer takes its baseline", announceExpiry},
		{"announce counts a snatch once", announceSnatch},
		{"concurrent announces chain baselines", announceConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore()) })
	}
}

// testPeerID is a recognisable peer_id: -SB0001- and the number.
func testPeerID(n int) [20]byte {
	var id [20]byte
	copy(id[:], fmt.Sprintf("-SB0001-%012d", n))
	return id
}

// storePeer is peer n of a test swarm: 10.1.x.y for IPv4, 2001:db8::n for IPv6.
func storePeer(n int, seeder, v6 bool) tracker.Peer {
	ip := netip.AddrFrom4([4]byte{10, 1, byte(n >> 8), byte(n)})
	if v6 {
		ip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(n >> 8), 15: byte(n)})
	}
	return tracker.NewPeer(testPeerID(n), netip.AddrPortFrom(ip, uint16(1000+n)), seeder, 1000)
}

func mustPut(t *testing.T, s tracker.PeerStore, ih [20]byte, peers ...tracker.Peer) {
	t.Helper()
	for _, p := range peers {
		if err := s.PutPeer(context.Background(), ih, p); err != nil {
			t.Fatalf("PutPeer: %v", err)
		}
	}
}

func mustCounts(t *testing.T, s tracker.PeerStore, ih [20]byte) tracker.SwarmCounts {
	t.Helper()
	c, err := s.Counts(context.Background(), ih)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return c
}

// mustAppend asks for n peers for the requester whose only entry is p.
func mustAppend(t *testing.T, s tracker.PeerStore, ih [20]byte, p tracker.Peer, n int) []tracker.Peer {
	t.Helper()
	got, err := s.AppendPeers(context.Background(), ih, storeLAN.Requester([]tracker.Peer{p}), n, nil)
	if err != nil {
		t.Fatalf("AppendPeers: %v", err)
	}
	return got
}

func ids(peers []tracker.Peer) []int {
	out := make([]int, 0, len(peers))
	for _, p := range peers {
		var n int
		fmt.Sscanf(string(p.ID[8:]), "%d", &n)
		out = append(out, n)
	}
	return out
}

func sortedIDs(peers []tracker.Peer) []int {
	out := ids(peers)
	slices.Sort(out)
	return out
}
