package tracker

import "context"

// SwarmCounts are the numbers a scrape (BEP 48) and the portal show.
type SwarmCounts struct {
	Seeders   int // "complete"
	Leechers  int // "incomplete"
	Completed int // "downloaded": snatches
}

// PeerStore keeps the swarms. The memory store serves one node; a Redis store
// lets several nodes answer the same announces. Every implementation must
// pass RunStoreConformance (store_conformance_test.go). Times are Unix
// seconds (Peer.LastSeen), handed in by the tracker's cached clock, so stores
// never read a clock themselves.
type PeerStore interface {
	// PutPeer adds p to the swarm of ih, or refreshes the peer with the same
	// Key: its address, seeder flag and LastSeen are replaced.
	PutPeer(ctx context.Context, ih [20]byte, p Peer) error
	// RemovePeer removes the peer with p's Key from the swarm, if present.
	RemovePeer(ctx context.Context, ih [20]byte, p Peer) error
	// AppendPeers appends up to n peers of the swarm for the requester p to
	// dst and returns it. Never the requester itself (any peer with p.ID);
	// a seeder gets only leechers; a leecher gets seeders first, then
	// leechers. Each call starts at a random position, so every peer gets
	// its turn.
	AppendPeers(ctx context.Context, ih [20]byte, p Peer, n int, dst []Peer) ([]Peer, error)
	// Counts returns the swarm's seeders, leechers and snatches.
	Counts(ctx context.Context, ih [20]byte) (SwarmCounts, error)
	// Snatch counts a completed download once per (torrent, peer_id); first
	// is true only the first time.
	Snatch(ctx context.Context, ih [20]byte, peerID [20]byte) (first bool, err error)
	// RemoveExpired drops every peer whose LastSeen is before cutoff and
	// returns how many it dropped.
	RemoveExpired(ctx context.Context, cutoff uint32) (int, error)
}
