package tracker

// A swarm's peers, as the selection sees them, are two lists: leechers and
// seeders. The memory store keeps them in blocks outside the Go heap (see
// swarm_block.go); swarm is the same two lists as Go slices, for RankPeers.
const (
	leechers = 0
	seeders  = 1

	// indexAbove is the swarm size above which the memory store builds an
	// index from PeerKey to position; it is dropped again when the swarm
	// shrinks to indexAbove/2. A small swarm (most of them) is searched by
	// a scan, which is as fast for a few dozen peers and saves an index's
	// ~50 bytes per peer.
	indexAbove = 32
)

// swarm is a swarm's two lists on the Go heap.
type swarm struct {
	lists [2][]Peer
}

// appendFor ranks the swarm's peers for r; see selectPeers.
func (sw *swarm) appendFor(dst []Peer, r *Requester, n int) []Peer {
	l := peerLists{heap: sw.lists, onHeap: true}
	return selectPeers(&l, dst, r, n)
}

func listOf(seeder bool) int {
	if seeder {
		return seeders
	}
	return leechers
}
