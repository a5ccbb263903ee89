package tracker

import "context"

// SwarmCounts are the numbers a scrape (BEP 48) and the portal show.
type SwarmCounts struct {
	Seeders   int // "complete"
	Leechers  int // "incomplete"
	Completed int // "downloaded": snatches
}

// PeersByNetwork counts a swarm's peers by named network: index i is
// network i (see PeerClass.Network), index 0 the peers in none.
type PeersByNetwork [MaxNetworks + 1]int

// StoreTotals are the sizes of a whole store, for metrics.
type StoreTotals struct {
	Swarms   int // swarms with at least one peer
	Seeders  int
	Leechers int
}

// PeerStore keeps the swarms. The memory store serves one node; a Redis store
// lets several nodes answer the same announces. Every implementation must
// pass storetest.Run (package tracker/storetest). Times are Unix
// seconds (Peer.LastSeen), handed in by the tracker's cached clock, so stores
// never read a clock themselves. A peer's Class is computed by the tracker
// and kept as it is.
type PeerStore interface {
	// PutPeer adds p to the swarm of ih, or refreshes the peer with the same
	// Key: its address, seeder flag, class and LastSeen are replaced.
	PutPeer(ctx context.Context, ih [20]byte, p Peer) error
	// RemovePeer removes the peer with p's Key from the swarm, if present.
	RemovePeer(ctx context.Context, ih [20]byte, p Peer) error
	// AppendPeers appends up to n peers of the swarm for r to dst and
	// returns it, ranked LAN first: by r.Tier, best first; within a tier
	// seeders before leechers for a leecher, while a seeder gets only
	// leechers. Never a peer with r.ID. Within a tier the choice and order
	// start at a random place, so every peer gets its turn. A leecher
	// always gets a seeder of class ClassSeedbox when the swarm has one
	// (the source of last resort): when the ranking leaves every seedbox
	// out, one takes the last of the n slots.
	AppendPeers(ctx context.Context, ih [20]byte, r Requester, n int, dst []Peer) ([]Peer, error)
	// Counts returns the swarm's seeders, leechers and snatches.
	Counts(ctx context.Context, ih [20]byte) (SwarmCounts, error)
	// CountNetworks returns how many of the swarm's peers are on each
	// named network. It reads the whole swarm: not for the announce path.
	CountNetworks(ctx context.Context, ih [20]byte) (PeersByNetwork, error)
	// Totals returns the number of active swarms and of peers in all.
	Totals(ctx context.Context) (StoreTotals, error)
	// Snatch counts a completed download once per (torrent, peer_id); first
	// is true only the first time.
	Snatch(ctx context.Context, ih [20]byte, peerID [20]byte) (first bool, err error)
	// RemoveExpired drops every peer whose LastSeen is before cutoff and
	// returns how many it dropped.
	RemoveExpired(ctx context.Context, cutoff uint32) (int, error)
}
