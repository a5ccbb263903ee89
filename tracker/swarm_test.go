package tracker

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestSwarmIndexAcrossSizes grows a swarm past indexAbove and shrinks it
// again, checking after every step that each peer is found where it is,
// with and without the index.
func TestSwarmIndexAcrossSizes(t *testing.T) {
	sw := newSwarm(new(slab))
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

// TestSlabClassRoundTrip grows lists from nothing past the largest class:
// slabFree finds every small array again in the class slabGrow made it
// from (or it panics), and arrays above the largest class come from the
// heap.
func TestSlabClassRoundTrip(t *testing.T) {
	s := new(slab)
	testSlabGrowth[Peer](t, s)
	testSlabGrowth[acct](t, s)
	testSlabGrowth[[7]byte](t, s)
	for c, cl := range s.classes {
		for _, ch := range cl.partial {
			if ch.live != 0 {
				t.Errorf("class %d: a chunk has %d arrays left", c, ch.live)
			}
		}
	}
}

func testSlabGrowth[T any](t *testing.T, s *slab) {
	elem := int(unsafe.Sizeof(*new(T)))
	var l []T
	for cap(l)*elem < 2*slabClasses[len(slabClasses)-1] {
		n := cap(l)
		l = slabGrow(s, l[:n])
		made := slabClassOf((n + 1) * elem)
		if made < 0 {
			made = slabClassOf((n + n/4 + 2) * elem)
		}
		if got := slabClassOf(cap(l) * elem); got != made {
			t.Fatalf("elem %d: capacity %d is in class %d, made from class %d", elem, cap(l), got, made)
		}
		l = l[:cap(l)]
	}
	slabFree(s, l)
}

// TestSlabReuse: a freed array is handed out again, zeroed.
func TestSlabReuse(t *testing.T) {
	s := new(slab)
	l := slabGrow(s, []acct(nil))
	l = append(l, acct{owner: 1, up: 2})
	p := unsafe.SliceData(l)
	slabFree(s, l)
	m := slabGrow(s, []acct(nil))
	if unsafe.SliceData(m) != p {
		t.Fatal("the freed array was not reused")
	}
	if m = m[:cap(m)]; m[0] != (acct{}) {
		t.Errorf("reused array not zeroed: %+v", m[0])
	}
}

// TestSlabClasses: the classes are sorted multiples of 8, at most about an
// eighth apart, and slabNumClasses counts them.
func TestSlabClasses(t *testing.T) {
	if len(slabClasses) != slabNumClasses {
		t.Fatalf("%d classes, slabNumClasses says %d", len(slabClasses), slabNumClasses)
	}
	for i, c := range slabClasses {
		if c%8 != 0 || (i > 0 && (c <= slabClasses[i-1] || c > slabClasses[i-1]*9/8+8)) {
			t.Errorf("class %d: %d bytes after %d", i, c, slabClasses[max(i-1, 0)])
		}
	}
}
