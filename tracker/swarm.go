package tracker

// A swarm's peers are two flat lists, leechers and seeders. Removal swaps
// the last peer into the hole, so both lists stay dense. A large swarm also
// has an index from PeerKey to list and position; a small one (most of
// them) is searched by a scan of its lists, which is as fast for a few dozen
// peers and saves an index's ~50 bytes per peer.
const (
	leechers = 0
	seeders  = 1

	seederBit = 1 << 31 // in an index entry: the peer is in the seeders list

	// indexAbove is the swarm size above which the index is built; it is
	// dropped again when the swarm shrinks to indexAbove/2.
	indexAbove = 32
)

type swarm struct {
	lists [2][]Peer
	// accts are the accounting baselines of the peers of lists, position
	// by position (see acct); nil in a swarm made only to rank (RankPeers).
	accts    [2][]acct
	index    map[PeerKey]uint32 // nil while the swarm is small
	snatched map[[20]byte]struct{}
	// slab holds the arrays of lists and accts; nil: the Go heap.
	slab *slab
}

func newSwarm(s *slab) *swarm { return &swarm{slab: s} }

func listOf(seeder bool) int {
	if seeder {
		return seeders
	}
	return leechers
}

func (sw *swarm) len() int { return len(sw.lists[leechers]) + len(sw.lists[seeders]) }

func (sw *swarm) counts() SwarmCounts {
	return SwarmCounts{
		Seeders:   len(sw.lists[seeders]),
		Leechers:  len(sw.lists[leechers]),
		Completed: len(sw.snatched),
	}
}

// put adds p or refreshes the peer with its key, moving it between the lists
// when it became a seeder (or, rarely, a leecher again). A refreshed peer
// keeps its baseline, a new one has none.
func (sw *swarm) put(p Peer) {
	key := p.Key()
	var a acct
	if list, pos, ok := sw.find(&key); ok {
		a = sw.accts[list][pos]
	}
	sw.putAcct(p, a)
}

// putAcct adds p or refreshes the peer with its key, with baseline a.
func (sw *swarm) putAcct(p Peer, a acct) {
	key := p.Key()
	if list, pos, ok := sw.find(&key); ok {
		if list == listOf(p.Seeder) {
			sw.lists[list][pos], sw.accts[list][pos] = p, a
			return
		}
		sw.removeAt(list, pos)
	}
	list := listOf(p.Seeder)
	if sw.index != nil {
		sw.index[key] = encodeEntry(list, len(sw.lists[list]))
	}
	sw.lists[list] = append(slabGrow(sw.slab, sw.lists[list]), p)
	sw.accts[list] = append(slabGrow(sw.slab, sw.accts[list]), a)
	if sw.index == nil && sw.len() > indexAbove {
		sw.buildIndex()
	}
}

// find returns where the peer with key is.
func (sw *swarm) find(key *PeerKey) (list, pos int, ok bool) {
	if sw.index != nil {
		e, ok := sw.index[*key]
		list, pos = decodeEntry(e)
		return list, pos, ok
	}
	for list := range sw.lists {
		l := sw.lists[list]
		for pos := range l {
			if l[pos].ID == key.ID && l[pos].Is6() == key.V6 {
				return list, pos, true
			}
		}
	}
	return 0, 0, false
}

func (sw *swarm) buildIndex() {
	sw.index = make(map[PeerKey]uint32, sw.len())
	for list := range sw.lists {
		for pos := range sw.lists[list] {
			sw.index[sw.lists[list][pos].Key()] = encodeEntry(list, pos)
		}
	}
}

func (sw *swarm) remove(key PeerKey) {
	if list, pos, ok := sw.find(&key); ok {
		sw.removeAt(list, pos)
	}
}

// removeAt removes the peer at pos of list, moving the last peer into its
// place.
func (sw *swarm) removeAt(list, pos int) {
	l := sw.lists[list]
	last := len(l) - 1
	if sw.index != nil {
		delete(sw.index, l[pos].Key())
		if pos != last {
			sw.index[l[last].Key()] = encodeEntry(list, pos)
		}
	}
	a := sw.accts[list]
	if pos != last {
		l[pos], a[pos] = l[last], a[last]
	}
	l[last], a[last] = Peer{}, acct{}
	sw.lists[list], sw.accts[list] = l[:last], a[:last]
	if sw.index != nil && sw.len() <= indexAbove/2 {
		sw.index = nil
	}
}

// expire removes the peers last seen before cutoff. Walking backwards, the
// peer swapped into a hole has already been checked.
func (sw *swarm) expire(cutoff uint32) int {
	removed := 0
	for list := range sw.lists {
		for pos := len(sw.lists[list]) - 1; pos >= 0; pos-- {
			if sw.lists[list][pos].LastSeen < cutoff {
				sw.removeAt(list, pos)
				removed++
			}
		}
	}
	return removed
}

// release frees the lists and index of an empty swarm, dropped or kept
// for its snatches.
func (sw *swarm) release() {
	for i := range sw.lists {
		slabFree(sw.slab, sw.lists[i])
		slabFree(sw.slab, sw.accts[i])
	}
	sw.lists = [2][]Peer{}
	sw.accts = [2][]acct{}
	sw.index = nil
}

func (sw *swarm) snatch(peerID [20]byte) bool {
	if _, ok := sw.snatched[peerID]; ok {
		return false
	}
	if sw.snatched == nil {
		sw.snatched = make(map[[20]byte]struct{})
	}
	sw.snatched[peerID] = struct{}{}
	return true
}

// countNetworks adds the swarm's peers to c by named network.
func (sw *swarm) countNetworks(c *PeersByNetwork) {
	for _, list := range sw.lists {
		for i := range list {
			c[list[i].Class.Network()]++
		}
	}
}

func encodeEntry(list, pos int) uint32 {
	e := uint32(pos)
	if list == seeders {
		e |= seederBit
	}
	return e
}

func decodeEntry(e uint32) (list, pos int) {
	if e&seederBit != 0 {
		return seeders, int(e &^ seederBit)
	}
	return leechers, int(e)
}
