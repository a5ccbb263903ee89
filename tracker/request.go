package tracker

import (
	"net/netip"
	"time"
)

// Event is an announce's event (BEP 3), numbered as in BEP 15 so a UDP
// frontend can convert the wire value directly.
type Event uint8

// Announce events.
const (
	EventNone Event = iota
	EventCompleted
	EventStarted
	EventStopped
)

// AnnounceRequest is an announce, independent of the frontend it came from.
type AnnounceRequest struct {
	Passkey  string
	InfoHash [20]byte
	PeerID   [20]byte
	// IP is the client's address as the frontend saw it; Port is the port
	// the client listens on, from the request.
	IP   netip.Addr
	Port uint16
	// ClaimedIP, ClaimedIPv4 and ClaimedIPv6 are addresses the client
	// reported: BEP 3 ip=, BEP 7 ipv4= and ipv6= (or BEP 15's IP field);
	// a zero port means Port. Each is believed only when both IP and the
	// claim are on campus (see LANConfig.Campus), and then the peer is
	// stored under it, one entry per address family.
	ClaimedIP, ClaimedIPv4, ClaimedIPv6 netip.AddrPort

	Event      Event
	Uploaded   int64
	Downloaded int64
	Left       int64
	// NumWant is how many peers the client wants; negative means the
	// tracker's default.
	NumWant int

	// Compact asks for BEP 23/BEP 7 compact peers; NoPeerID drops "peer id"
	// from the BEP 3 dict form. Only the HTTP reply looks at them.
	Compact  bool
	NoPeerID bool
}

// AnnounceResponse is the tracker's answer to an announce. The frontend owns
// it and may reuse it (Peers keeps its capacity).
type AnnounceResponse struct {
	Interval    time.Duration
	MinInterval time.Duration
	SwarmCounts
	Peers []Peer

	// store and self are Announce's scratch: kept here, in memory the
	// frontend reuses, the announce handed to the store through an
	// interface allocates nothing.
	store StoreAnnounce
	self  [2]Peer
}

// ScrapeRequest asks for the counts of one or more swarms (BEP 48).
type ScrapeRequest struct {
	Passkey    string
	InfoHashes [][20]byte
}

// ScrapeFile is the result for one requested infohash, in request order.
// Registered is false for an infohash that is not on the allow-list; the
// HTTP reply omits those, a UDP reply (BEP 15) answers zeros in their place.
type ScrapeFile struct {
	InfoHash   [20]byte
	Registered bool
	SwarmCounts
}

// ScrapeResponse holds one ScrapeFile per requested infohash.
type ScrapeResponse struct {
	Files []ScrapeFile
}

// reset empties r for reuse, keeping the capacity of its slices.
func (r *AnnounceRequest) reset() { *r = AnnounceRequest{} }

func (r *AnnounceResponse) reset() {
	r.Interval, r.MinInterval, r.SwarmCounts, r.Peers = 0, 0, SwarmCounts{}, r.Peers[:0]
}
