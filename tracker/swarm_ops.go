package tracker

// swarmRef is one swarm of a memory store shard while an operation works
// on it under the shard's lock: its blocks and, for a large swarm, its
// index. Changes to the blocks' handles and the index go back to the shard
// with save.
type swarmRef struct {
	sh   *memoryShard
	ih   [20]byte
	slot int // in sh.table; -1: not there yet
	h    [2]uint32
	b    [2]block
	// index maps a large swarm's peers to their positions in their
	// family's block (see indexAbove); nil while the swarm is small.
	index        map[PeerKey]uint32
	indexChanged bool
}

// load returns the swarm of ih, empty when the shard has none.
func (sh *memoryShard) load(ih *[20]byte) (sr swarmRef) {
	sh.loadInto(&sr, ih) // small enough to inline: sr is not copied
	return sr
}

func (sh *memoryShard) loadInto(sr *swarmRef, ih *[20]byte) {
	sr.sh, sr.ih, sr.slot = sh, *ih, -1
	i, ok := sh.table.find(ih)
	if !ok {
		return
	}
	// The handles as scalars: read back from sr.h, as an array, they
	// stalled the load.
	h4, h6 := sh.table.handle(i, fam4), sh.table.handle(i, fam6)
	sr.slot, sr.h[fam4], sr.h[fam6] = i, h4, h6
	if h4 != 0 {
		sr.b[fam4] = sh.slab.bytes(h4)
	}
	if h6 != 0 {
		sr.b[fam6] = sh.slab.bytes(h6)
	}
	if sr.len() > indexAbove/2 {
		sr.index = sh.big[*ih]
	}
}

// save writes the swarm's handles and index back to the shard, dropping a
// swarm with no peers left.
func (sr *swarmRef) save() {
	sh := sr.sh
	switch {
	case sr.h == [2]uint32{}:
		if sr.slot >= 0 {
			sh.table.remove(sr.slot)
			sr.slot = -1
		}
	case sr.slot >= 0:
		sh.table.setHandles(sr.slot, sr.h)
	default:
		sr.slot = sh.table.insert(sh.slab, &sr.ih, sr.h)
	}
	if sr.indexChanged {
		if sr.index == nil {
			delete(sh.big, sr.ih)
		} else {
			if sh.big == nil {
				sh.big = make(map[[20]byte]map[PeerKey]uint32)
			}
			sh.big[sr.ih] = sr.index
		}
		sr.indexChanged = false
	}
}

func (sr *swarmRef) len() int { return sr.b[fam4].len() + sr.b[fam6].len() }

func (sr *swarmRef) counts() SwarmCounts {
	s4, s6 := sr.b[fam4].seeders(), sr.b[fam6].seeders()
	return SwarmCounts{
		Seeders:   s4 + s6,
		Leechers:  sr.len() - s4 - s6,
		Completed: len(sr.sh.snatched[sr.ih]),
	}
}

// find returns where the peer with key is.
func (sr *swarmRef) find(key *PeerKey) (fam, pos int, ok bool) {
	fam = famOfKey(key)
	if sr.index != nil {
		p, ok := sr.index[*key]
		return fam, int(p), ok
	}
	b := sr.b[fam]
	for pos := range b.len() {
		if sameID(b.id(fam, pos), &key.ID) {
			return fam, pos, true
		}
	}
	return fam, 0, false
}

// put adds p or refreshes the peer with its key, moving it between seeders
// and leechers as needed. A refreshed peer keeps its baseline, a new one
// has none.
func (sr *swarmRef) put(p *Peer) {
	key := p.Key()
	fam, pos, ok := sr.find(&key)
	var a acct
	if ok {
		rec := sr.b[fam].rec(fam, pos)
		if (pos < sr.b[fam].seeders()) == p.Seeder {
			putPeerRec(rec, fam, p) // a refresh, the common case
			return
		}
		a = recAcct(rec, fam)
	}
	sr.putAt(p, a, fam, pos, ok)
}

// putAcct adds p or refreshes the peer with its key, with baseline a.
func (sr *swarmRef) putAcct(p *Peer, a acct) {
	key := p.Key()
	fam, pos, ok := sr.find(&key)
	sr.putAt(p, a, fam, pos, ok)
}

// putAt is putAcct for p of family fam, found at pos (ok) or not there,
// and returns p's position.
func (sr *swarmRef) putAt(p *Peer, a acct, fam, pos int, ok bool) int {
	if ok {
		if (pos < sr.b[fam].seeders()) == p.Seeder {
			putRec(sr.b[fam].rec(fam, pos), fam, p, a)
			return pos
		}
		sr.removeAt(fam, pos)
	}
	n, s := sr.b[fam].len(), sr.b[fam].seeders()
	if n == sr.b[fam].capacity(fam) {
		sr.grow(fam)
	}
	b := sr.b[fam]
	putRec(b.rec(fam, n), fam, p, a)
	if sr.index != nil {
		sr.index[p.Key()] = uint32(n)
	}
	pos = n
	if p.Seeder {
		sr.swap(fam, n, s)
		pos = s
		s++
	}
	b.setCounts(n+1, s)
	if sr.index == nil && sr.len() > indexAbove {
		sr.buildIndex()
	}
	return pos
}

// grow moves family fam's block to one with room for one more peer: the
// next size class up (about an eighth more), or a quarter more for a large
// swarm.
func (sr *swarmRef) grow(fam int) {
	n := sr.b[fam].len()
	size := blockHead + (n+1)*recSize(fam)
	if slabClassOf(size) < 0 {
		size = blockHead + (n+n/4+2)*recSize(fam)
	}
	sl := sr.sh.slab
	h := sl.alloc(size)
	b := block(sl.bytes(h))
	if old := sr.b[fam]; old != nil {
		copy(b, old[:blockHead+n*recSize(fam)])
		sl.free(sr.h[fam])
	}
	sr.h[fam], sr.b[fam] = h, b
}

// swap exchanges the records at i and j of family fam.
func (sr *swarmRef) swap(fam, i, j int) {
	if i == j {
		return
	}
	var tmp [64]byte
	b := sr.b[fam]
	ri, rj := b.rec(fam, i), b.rec(fam, j)
	copy(tmp[:], ri)
	copy(ri, rj)
	copy(rj, tmp[:len(ri)])
	if sr.index != nil {
		sr.index[PeerKey{ID: *b.id(fam, i), V6: fam == fam6}] = uint32(i)
		sr.index[PeerKey{ID: *b.id(fam, j), V6: fam == fam6}] = uint32(j)
	}
}

// move copies the record at from of family fam over the one at to.
func (sr *swarmRef) move(fam, from, to int) {
	if from == to {
		return
	}
	b := sr.b[fam]
	copy(b.rec(fam, to), b.rec(fam, from))
	if sr.index != nil {
		sr.index[PeerKey{ID: *b.id(fam, to), V6: fam == fam6}] = uint32(to)
	}
}

func (sr *swarmRef) buildIndex() {
	sr.index = make(map[PeerKey]uint32, sr.len())
	for fam, b := range sr.b {
		for pos := range b.len() {
			sr.index[PeerKey{ID: *b.id(fam, pos), V6: fam == fam6}] = uint32(pos)
		}
	}
	sr.indexChanged = true
}

func (sr *swarmRef) remove(key PeerKey) {
	if fam, pos, ok := sr.find(&key); ok {
		sr.removeAt(fam, pos)
	}
}

// removeAt removes the peer at pos of family fam, keeping the block's
// seeders first and every range dense; a block left empty goes back to the
// slab.
func (sr *swarmRef) removeAt(fam, pos int) {
	b := sr.b[fam]
	n, s := b.len(), b.seeders()
	if sr.index != nil {
		delete(sr.index, PeerKey{ID: *b.id(fam, pos), V6: fam == fam6})
	}
	if pos < s {
		sr.move(fam, s-1, pos)
		pos = s - 1
		s--
	}
	sr.move(fam, n-1, pos)
	clear(b.rec(fam, n-1))
	n--
	b.setCounts(n, s)
	if n == 0 {
		sr.sh.slab.free(sr.h[fam])
		sr.h[fam], sr.b[fam] = 0, nil
	}
	if sr.index != nil && sr.len() <= indexAbove/2 {
		sr.index, sr.indexChanged = nil, true
	}
}

// expire removes the peers last seen before cutoff. Walking backwards, a
// peer moved into a hole has already been checked.
func (sr *swarmRef) expire(cutoff uint32) int {
	removed := 0
	for fam := range sr.b {
		for pos := sr.b[fam].len() - 1; pos >= 0; pos-- {
			if recSeen(sr.b[fam].rec(fam, pos), fam) < cutoff {
				sr.removeAt(fam, pos)
				removed++
			}
		}
	}
	return removed
}

// countNetworks adds the swarm's peers to c by named network.
func (sr *swarmRef) countNetworks(c *PeersByNetwork) {
	for fam, b := range sr.b {
		for pos := range b.len() {
			c[PeerClass(b.rec(fam, pos)[22+addrLen(fam)]).Network()]++
		}
	}
}

// appendFor ranks the swarm's peers for r; see selectPeers.
func (sr *swarmRef) appendFor(dst []Peer, r *Requester, n int) []Peer {
	l := newBlockLists(sr.b)
	return selectPeers(&l, dst, r, n)
}

func (sh *memoryShard) snatch(ih *[20]byte, peerID [20]byte) bool {
	set := sh.snatched[*ih]
	if _, ok := set[peerID]; ok {
		return false
	}
	if set == nil {
		if sh.snatched == nil {
			sh.snatched = make(map[[20]byte]map[[20]byte]struct{})
		}
		set = make(map[[20]byte]struct{})
		sh.snatched[*ih] = set
	}
	set[peerID] = struct{}{}
	return true
}
