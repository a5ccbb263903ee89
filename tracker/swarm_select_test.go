package tracker

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"unsafe"
)

// randomSwarmPeer is peer n of a swarm mixing both families, the
// requester's subnets, named networks, campus and seedboxes.
func randomSwarmPeer(rng *rand.Rand, n int) Peer {
	var ap netip.AddrPort
	switch rng.IntN(4) {
	case 0:
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 2, byte(n)}), uint16(n+1)) // the requester's /24
	case 1:
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(rng.IntN(256)), 9, 9, byte(n)}), uint16(n+1))
	case 2:
		ap = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 2: 0x0d, 3: 0xb8, 15: byte(n)}), uint16(n+1)) // its /64
	default:
		ap = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 7: byte(rng.IntN(256)), 15: byte(n)}), uint16(n+1))
	}
	p := NewPeer(testPeerID(n), ap, rng.IntN(3) == 0, uint32(1000+n))
	p.Class = PeerClass(rng.IntN(4)) // no network, or networks 1-3
	if rng.IntN(2) == 0 {
		p.Class |= ClassCampus
	}
	if rng.IntN(8) == 0 {
		p.Class |= ClassSeedbox
	}
	return p
}

// TestSelectionReadsRecordsAsPeers: the selection's first pass over a
// memory store swarm's records (tierRec, the cached tiers, the counts and
// the seedbox it picks) agrees with the same pass over the same peers as Go
// slices, as RankPeers ranks them, and with Requester.Tier.
func TestSelectionReadsRecordsAsPeers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		s := NewMemoryStore(1)
		ih := [20]byte{byte(round)}
		size := 1 + rng.IntN(40)
		if round%10 == 0 {
			size = tierCache + 1 + rng.IntN(40) // tiers not cached
		}
		var peers []Peer
		for n := range size {
			p := randomSwarmPeer(rng, n)
			peers = append(peers, p)
			s.PutPeer(t.Context(), ih, p)
		}
		self := []Peer{NewPeer(testPeerID(rng.IntN(size+5)), netip.MustParseAddrPort("10.1.2.200:1"), rng.IntN(2) == 0, 0),
			NewPeer(testPeerID(0), netip.MustParseAddrPort("[2001:db8::77]:1"), false, 0)}
		self[1].ID = self[0].ID
		self[0].Class = PeerClass(1+rng.IntN(3)) | ClassCampus
		r := defaultLAN().Requester(self)

		sh := s.shard(&ih)
		sw := sh.load(&ih)
		recs := newBlockLists(sw.b)
		var heap peerLists
		heap.onHeap = true
		for list := range 2 {
			for i := range recs.count(list) {
				var p Peer
				recs.peer(list, i, &p)
				heap.heap[list] = append(heap.heap[list], p)
				if got, want := recs.tier(&r, list, i), tierPeer(&r, &p); got != want {
					t.Fatalf("round %d: list %d peer %d %v: tierRec %d, Tier %d", round, list, i, p.AddrPort(), got, want)
				}
			}
		}
		if n := len(heap.heap[0]) + len(heap.heap[1]); n != len(peers) {
			t.Fatalf("round %d: %d peers read back, want %d", round, n, len(peers))
		}
		a := selection{r: &r, lists: leecherDraws, box: -1}
		b := selection{r: &r, lists: leecherDraws, box: -1}
		countTiers(&a, &recs)
		countTiers(&b, &heap)
		if a.n != b.n {
			t.Fatalf("round %d: tier counts %v from records, %v from peers", round, a.n, b.n)
		}
		for list := range 2 {
			if recs.count(list) <= tierCache && a.tiers[list] != b.tiers[list] {
				t.Fatalf("round %d: list %d: cached tiers differ", round, list)
			}
		}
		if want := firstBoxFrom(&heap, &r, a.start[seeders]); a.box != want {
			t.Fatalf("round %d: seedbox %d picked from start %d, want %d", round, a.box, a.start[seeders], want)
		}
		// The whole selection: the same tiers handed out, best first, and
		// with every peer wanted, the same peers.
		for _, n := range []int{1 + rng.IntN(size), size + 2} {
			got := selectPeers(&recs, nil, &r, n)
			want := selectPeers(&heap, nil, &r, n)
			// The last slot may go to a seedbox, the last resort: one of
			// any tier, met after the random start.
			if len(got) != len(want) || len(got) > 0 && tiersOf(got[:len(got)-1], &r) != tiersOf(want[:len(want)-1], &r) {
				t.Fatalf("round %d, %d wanted: tiers %v from records, %v from peers", round, n, tiersOf(got, &r), tiersOf(want, &r))
			}
			for i := 1; i < len(got); i++ {
				if r.Tier(&got[i]) < r.Tier(&got[i-1]) && !got[i].Class.Seedbox() {
					t.Fatalf("round %d: peer %d of tier %d after tier %d", round, i, r.Tier(&got[i]), r.Tier(&got[i-1]))
				}
			}
			if n > size && !samePeers(got, want) {
				t.Fatalf("round %d: all %d wanted: %d peers from records, %d from peers, or not the same", round, n, len(got), len(want))
			}
		}
	}
}

// firstBoxFrom is the first eligible seedbox seeder of l met walking round
// from start, or -1.
func firstBoxFrom(l *peerLists, r *Requester, start int) int {
	seeding := l.heap[seeders]
	for k := range seeding {
		i := (start + k) % len(seeding)
		if p := &seeding[i]; p.Class.Seedbox() && tierPeer(r, p) != notEligible {
			return i
		}
	}
	return -1
}

func TestRecordSizes(t *testing.T) {
	if recSize(fam4) != rec4Size || recSize(fam6) != rec6Size {
		t.Fatalf("recSize %d and %d, rec4Size and rec6Size %d and %d", recSize(fam4), recSize(fam6), rec4Size, rec6Size)
	}
}

func TestMemoryShardSize(t *testing.T) {
	if size := unsafe.Sizeof(memoryShard{}); size%64 != 0 {
		t.Fatalf("a memory store shard is %d bytes, want a multiple of 64 (a cache line)", size)
	}
}

func tiersOf(peers []Peer, r *Requester) (n [NumTiers]int) {
	for i := range peers {
		n[r.Tier(&peers[i])]++
	}
	return n
}

func samePeers(a, b []Peer) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[Peer]int{}
	for _, p := range a {
		seen[p]++
	}
	for _, p := range b {
		if seen[p]--; seen[p] < 0 {
			return false
		}
	}
	return true
}
