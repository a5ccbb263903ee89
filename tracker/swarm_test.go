package tracker

import (
	"context"
	"net/netip"
	"testing"
)

// TestSwarmIndexAcrossSizes grows a swarm past indexAbove and shrinks it
// again, checking after every step that each peer is found where it is,
// with and without the index.
func TestSwarmIndexAcrossSizes(t *testing.T) {
	store := NewMemoryStore(1)
	sh := &store.shards[0]
	ih := [20]byte{1}
	peer := func(i int, seeder bool) Peer {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 6881)
		if i%2 == 1 { // the same peer_id as i-1, over IPv6: another peer (BEP 7)
			ap = netip.MustParseAddrPort("[2001:db8::1]:6881")
		}
		return NewPeer(testPeerID(i/2), ap, seeder, 1)
	}
	check := func(step string, n int) {
		t.Helper()
		sw := sh.load(&ih)
		if sw.len() != n {
			t.Fatalf("%s: %d peers, want %d", step, sw.len(), n)
		}
		if n > indexAbove && sw.index == nil {
			t.Fatalf("%s: no index with %d peers", step, n)
		}
		for fam, b := range sw.b {
			for pos := range b.len() {
				var p Peer
				getRec(b.rec(fam, pos), fam, pos < b.seeders(), &p)
				key := p.Key()
				if f, ps, ok := sw.find(&key); !ok || f != fam || ps != pos {
					t.Fatalf("%s: peer at %d/%d found at %d/%d (%v)", step, fam, pos, f, ps, ok)
				}
				sw.index = nil // and by a scan
				if f, ps, ok := sw.find(&key); !ok || f != fam || ps != pos {
					t.Fatalf("%s: peer at %d/%d scanned at %d/%d (%v)", step, fam, pos, f, ps, ok)
				}
				sw = sh.load(&ih)
			}
			for pos := range b.seeders() {
				if pos >= b.len() {
					t.Fatalf("%s: %d seeders of %d peers", step, b.seeders(), b.len())
				}
			}
		}
	}
	put := func(p Peer) {
		sw := sh.load(&ih)
		sw.put(&p)
		sw.save()
	}
	remove := func(p Peer) {
		sw := sh.load(&ih)
		sw.remove(p.Key())
		sw.save()
	}
	const n = 3 * indexAbove
	for i := range n {
		put(peer(i, i%3 == 0))
		check("put", i+1)
	}
	for i := range n {
		p := peer(i, i%3 != 0) // every peer changes list
		put(p)
		sw := sh.load(&ih)
		key := p.Key()
		fam, pos, ok := sw.find(&key)
		if !ok || (pos < sw.b[fam].seeders()) != p.Seeder {
			t.Fatalf("switch %d: found %v, seeder %v, want %v", i, ok, pos < sw.b[fam].seeders(), p.Seeder)
		}
	}
	check("switch", n)
	for i := 0; i < n; i += 2 {
		remove(peer(i, false))
	}
	check("remove half", n/2)
	for i := 1; i < n-4; i += 2 {
		remove(peer(i, false))
	}
	check("remove most", 2)
	if sw := sh.load(&ih); sw.index != nil || sh.big[ih] != nil {
		t.Fatal("index kept for a small swarm")
	}
	remove(peer(n-1, false))
	remove(peer(n-3, false))
	if sh.table.n != 0 || len(sh.big) != 0 {
		t.Fatalf("an empty swarm kept: %d swarms, %d indexes", sh.table.n, len(sh.big))
	}
}

// TestMemoryStoreGivesBack: swarms that empty, by expiry or by stopped
// peers, give their blocks and table room back to the slab, which keeps
// no more than its reserve of empty chunks, a partial chunk per class and
// one small table per shard.
func TestMemoryStoreGivesBack(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(4)
	const swarms, per = 20000, 12
	fill := func(seen uint32) {
		for i := range swarms {
			ih := [20]byte{byte(i), byte(i >> 8), 7, 7, byte(i * 13), byte(i >> 4)}
			for p := range per {
				ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), byte(p)}), 6881)
				if p%4 == 3 {
					ap = netip.MustParseAddrPort("[2001:db8::7]:6881")
				}
				if err := s.PutPeer(ctx, ih, NewPeer(testPeerID(p), ap, p%3 == 0, seen)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	fill(10)
	full := s.slab.mapped()
	if tot, _ := s.Totals(ctx); tot.Swarms != swarms || tot.Seeders+tot.Leechers != swarms*per {
		t.Fatalf("totals %+v", tot)
	}
	if n, _ := s.RemoveExpired(ctx, 11); n != swarms*per {
		t.Fatalf("expired %d peers, want %d", n, swarms*per)
	}
	reserve := (slabEmptyMax+slabNumClasses)*slabChunkSize + len(s.shards)*tableMinSlots*tableSlot*2
	if left := s.slab.mapped(); left > reserve || left*2 >= full {
		t.Fatalf("%d bytes mapped after expiring all (%d full), want at most %d", left, full, reserve)
	}
	t.Logf("%d bytes mapped full, %d after expiring every peer", full, s.slab.mapped())
	fill(20)
	if tot, _ := s.Totals(ctx); tot.Swarms != swarms {
		t.Fatalf("refilled: %+v", tot)
	}
}

// TestSwarmTableProbing puts and removes many swarms in one shard's table
// (through growth, backward-shift deletion and shrinking), checking that
// every swarm left is found with its own blocks.
func TestSwarmTableProbing(t *testing.T) {
	s := new(slab)
	defer s.release()
	var tb swarmTable
	ih := func(i int) *[20]byte {
		var h [20]byte
		h[4], h[5] = byte(i), byte(i>>8) // collide often in a small table
		return &h
	}
	const n = 3000
	for i := range n {
		tb.insert(s, ih(i), [2]uint32{uint32(i + 1), 0})
	}
	for i := 0; i < n; i += 3 {
		slot, ok := tb.find(ih(i))
		if !ok {
			t.Fatalf("swarm %d lost", i)
		}
		tb.remove(slot)
	}
	for i := range n {
		slot, ok := tb.find(ih(i))
		if want := i%3 != 0; ok != want || ok && tb.handles(slot)[0] != uint32(i+1) {
			t.Fatalf("swarm %d: found %v, want %v", i, ok, want)
		}
		if ok && i < n-10 {
			tb.remove(slot)
		}
	}
	tb.shrink(s)
	if tb.n != 7 || tb.mask+1 != tableMinSlots {
		t.Fatalf("%d swarms in %d slots, want 7 in %d", tb.n, tb.mask+1, tableMinSlots)
	}
	for i := n - 10; i < n; i++ {
		if _, ok := tb.find(ih(i)); ok != (i%3 != 0) {
			t.Fatalf("swarm %d after shrinking: %v", i, ok)
		}
	}
}

// TestSlabRoundTrip allocates blocks of every size up to past the largest
// class, writes each whole, checks none overlaps another, and frees them:
// the slab keeps no more than its empty chunks.
func TestSlabRoundTrip(t *testing.T) {
	s := new(slab)
	defer s.release()
	var hs []uint32
	for size := 8; size < 3*slabClasses[len(slabClasses)-1]; size += 40 {
		for range 20 {
			h := s.alloc(size)
			b := s.bytes(h)
			if len(b) != slabSizeFor(size) || len(b) < size {
				t.Fatalf("size %d: block of %d bytes", size, len(b))
			}
			for i := range b {
				if b[i] != 0 {
					t.Fatalf("size %d: block not zeroed", size)
				}
				b[i] = byte(len(hs))
			}
			hs = append(hs, h)
		}
	}
	for i, h := range hs {
		for _, c := range s.bytes(h) {
			if c != byte(i) {
				t.Fatalf("block %d overwritten", i)
			}
		}
		s.free(h)
	}
	if m := s.mapped(); m > (slabEmptyMax+slabNumClasses)*slabChunkSize {
		t.Errorf("%d bytes still mapped with no block", m)
	}
}

// TestSlabReuse: a freed block is handed out again, zeroed.
func TestSlabReuse(t *testing.T) {
	s := new(slab)
	defer s.release()
	h := s.alloc(100)
	s.bytes(h)[0] = 1
	s.free(h)
	h2 := s.alloc(100)
	if h2 != h {
		t.Fatal("the freed block was not reused")
	}
	if s.bytes(h2)[0] != 0 {
		t.Error("reused block not zeroed")
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
