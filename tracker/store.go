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
	// Announce does the store's whole share of one announce in one call
	// (one round trip for a remote store): it puts the requester's entries
	// a.Self into the swarm of ih, or removes them when a.Stopped; counts
	// a.Snatch; moves the requester's accounting baseline (see Baseline)
	// and returns the one it replaced; then appends up to a.NumWant peers
	// for a.Requester to dst exactly as AppendPeers does, and returns the
	// swarm's counts after the change.
	Announce(ctx context.Context, ih [20]byte, a *StoreAnnounce, dst []Peer) ([]Peer, AnnounceResult, error)
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

// Baseline is what one peer reported at its last credited announce: the
// tracker credits only what grew since. A store keeps one per (torrent,
// peer_id) for as long as the peer has an entry in the swarm, whatever its
// address families, together with the user it belongs to, so every node
// sharing the store advances the same baseline and a peer that announces
// to node 1, then to node 2, is credited once. A peer that expires, or
// stops with no other entry left, takes its baseline with it.
type Baseline struct {
	Uploaded, Downloaded int64 // at most MaxBaselineCounter each
	Seen                 uint32
	Seeder               bool
}

// MaxBaselineCounter caps the counters a baseline keeps (128 TiB per client
// session); the tracker clamps what clients report to it, so every store
// keeps them exactly.
const MaxBaselineCounter = 1<<47 - 1

// StoreAnnounce is one announce as a store does it; see PeerStore.Announce.
type StoreAnnounce struct {
	// Self are the requester's entries, one per address family (BEP 7),
	// all with the same peer_id; 1 or 2 of them.
	Self    []Peer
	Stopped bool // event=stopped: remove Self instead of putting it
	// Snatch counts a completed download of Self's peer_id (see
	// PeerStore.Snatch); AnnounceResult.FirstSnatch tells whether it was
	// the first.
	Snatch bool
	// Owner is the user the baseline belongs to; 0 keeps none (a seedbox,
	// or a tracker without accounting). A baseline of another owner (a
	// peer_id reused by another user) counts as none and is replaced.
	Owner uint64
	// Base is the baseline this announce sets; Base.Seen is the time.
	Base Baseline
	// MinInterval, when positive: an announce with Regular
	// set sooner than this many seconds after the baseline's Seen leaves
	// the baseline as it is (AnnounceResult.Early).
	MinInterval uint32
	Regular     bool // no event
	Requester   Requester
	NumWant     int
}

// AnnounceResult is what PeerStore.Announce tells besides the peers.
type AnnounceResult struct {
	Counts SwarmCounts // after the change
	// Prev is the baseline the announce replaced (or, when Early, kept);
	// Known is false when there was none of this Owner.
	Prev  Baseline
	Known bool
	// Early: a regular announce within MinInterval of Prev.Seen; the
	// baseline was not moved.
	Early bool
	// FirstSnatch: Snatch was set and counted for the first time.
	FirstSnatch bool
}

// early reports whether the announce leaves the baseline prev (known: of
// a.Owner) as it is: a regular announce within the min interval. The Redis
// store decides the same in Lua.
func (a *StoreAnnounce) early(prev Baseline, known bool) bool {
	return known && a.Regular && a.MinInterval > 0 && a.Base.Seen < prev.Seen+a.MinInterval
}
