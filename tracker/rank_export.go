package tracker

// RankPeers appends up to n of a swarm's peers for r to dst and returns it,
// ranked exactly as the memory store ranks them (see
// PeerStore.AppendPeers): LAN tiers first, seeders first for a leecher,
// only leechers for a seeder, never r itself, a random start per list, and
// a seedbox as the source of last resort. seeding and leeching are the
// swarm's two lists; RankPeers reads them and keeps no reference. It is for
// stores that fetch a swarm and rank it in Go, such as the Redis store.
func RankPeers(dst []Peer, r *Requester, n int, seeding, leeching []Peer) []Peer {
	sw := swarm{lists: [2][]Peer{leechers: leeching, seeders: seeding}}
	return sw.appendFor(dst, r, n)
}
