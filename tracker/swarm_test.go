package tracker

import (
	"net/netip"
	"testing"
)

// TestSwarmIndexAcrossSizes grows a swarm past indexAbove and shrinks it
// again, checking after every step that each peer is found where it is,
// with and without the index.
func TestSwarmIndexAcrossSizes(t *testing.T) {
	sw := newSwarm()
	peer := func(i int, seeder bool) Peer {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 6881)
		if i%2 == 1 { // the same peer_id as i-1, over IPv6: another peer (BEP 7)
			ap = netip.MustParseAddrPort("[2001:db8::1]:6881")
		}
		return NewPeer(testPeerID(i/2), ap, seeder, 1)
	}
	check := func(step string, n int) {
		t.Helper()
		if sw.len() != n {
			t.Fatalf("%s: %d peers, want %d", step, sw.len(), n)
		}
		if n > indexAbove && sw.index == nil {
			t.Fatalf("%s: no index with %d peers", step, n)
		}
		for list := range sw.lists {
			for pos, p := range sw.lists[list] {
				key := p.Key()
				if l, ps, ok := sw.find(&key); !ok || l != list || ps != pos {
					t.Fatalf("%s: peer at %d/%d found at %d/%d (%v)", step, list, pos, l, ps, ok)
				}
			}
		}
	}
	const n = 3 * indexAbove
	for i := range n {
		sw.put(peer(i, i%3 == 0))
		check("put", i+1)
	}
	for i := range n {
		sw.put(peer(i, i%3 != 0)) // every peer changes list
	}
	check("switch", n)
	for i := 0; i < n; i += 2 {
		p := peer(i, false)
		sw.remove(p.Key())
	}
	check("remove half", n/2)
	for i := 1; i < n-4; i += 2 {
		p := peer(i, false)
		sw.remove(p.Key())
	}
	check("remove most", 2)
	if sw.index != nil {
		t.Fatal("index kept for a small swarm")
	}
}
