package tracker

// A swarm's peers are two flat lists, leechers and seeders, plus an index
// from PeerKey to list and position. Removal swaps the last peer into the
// hole, so both lists stay dense.
const (
	leechers = 0
	seeders  = 1

	seederBit = 1 << 31 // in an index entry: the peer is in the seeders list
)

type swarm struct {
	lists    [2][]Peer
	index    map[PeerKey]uint32
	snatched map[[20]byte]struct{}
}

func newSwarm() *swarm { return &swarm{} }

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
// when it became a seeder (or, rarely, a leecher again).
func (sw *swarm) put(p Peer) {
	if sw.index == nil {
		sw.index = make(map[PeerKey]uint32)
	}
	key := p.Key()
	if e, ok := sw.index[key]; ok {
		list, pos := decodeEntry(e)
		if list == listOf(p.Seeder) {
			sw.lists[list][pos] = p
			return
		}
		sw.removeAt(list, pos)
	}
	list := listOf(p.Seeder)
	sw.index[key] = encodeEntry(list, len(sw.lists[list]))
	sw.lists[list] = append(sw.lists[list], p)
}

func (sw *swarm) remove(key PeerKey) {
	if e, ok := sw.index[key]; ok {
		sw.removeAt(decodeEntry(e))
	}
}

// removeAt removes the peer at pos of list, moving the last peer into its
// place.
func (sw *swarm) removeAt(list, pos int) {
	l := sw.lists[list]
	delete(sw.index, l[pos].Key())
	last := len(l) - 1
	if pos != last {
		l[pos] = l[last]
		sw.index[l[pos].Key()] = encodeEntry(list, pos)
	}
	sw.lists[list] = l[:last]
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

// release frees the lists and index of an empty swarm kept for its snatches.
func (sw *swarm) release() {
	sw.lists = [2][]Peer{}
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
