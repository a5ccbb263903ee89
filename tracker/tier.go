package tracker

import "encoding/binary"

// Tier ranks a peer for a requester, best first: LAN first.
type Tier uint8

// The tiers, best first.
const (
	TierSubnet  Tier = iota // the requester's own subnet (/24 and /64 by default)
	TierNetwork             // the requester's named network (a dorm, the library)
	TierCampus              // elsewhere on campus, for a requester on campus
	TierOther               // everything else
	NumTiers
)

var tierNames = [NumTiers]string{"subnet", "network", "campus", "other"}

// String names the tier as metrics label it.
func (t Tier) String() string {
	if t < NumTiers {
		return tierNames[t]
	}
	return "unknown"
}

// Requester is who asks for peers, as a PeerStore needs it to rank a swarm.
// The tracker builds it once per announce (LAN.Requester); Tier then ranks a
// stored peer with a few comparisons and no lookup, so a store (memory or
// Redis) ranks peers the same way wherever it runs.
type Requester struct {
	ID     [20]byte
	Seeder bool
	campus bool
	// nets has bit n set for n, the named network of its IPv4 or IPv6
	// entry (1..MaxNetworks).
	nets   uint64
	subnet [2]subnet // its own subnet: [0] IPv4, [1] IPv6
}

// subnet is a prefix and its mask as little-endian words of the 16-byte
// address: ANDing and comparing bytes does not care about their order, and
// little-endian loads are plain loads.
type subnet struct {
	p0, p1, m0, m1 uint64
	ok             bool
}

// Requester describes the peer whose own entries, one per address family it
// announced and classified by l, are self. self must not be empty.
func (l *LAN) Requester(self []Peer) Requester {
	var r Requester
	for i := range self {
		p := &self[i]
		r.ID, r.Seeder = p.ID, p.Seeder
		x := addrU128(p.Addr)
		fam, bits := 0, 96+l.bits4
		if !x.is4() {
			fam, bits = 1, l.bits6
		}
		m := maskBits(bits)
		p0, p1 := leWords(x.and(m).bytes())
		m0, m1 := leWords(m.bytes())
		r.subnet[fam] = subnet{p0: p0, p1: p1, m0: m0, m1: m1, ok: true}
		if n := p.Class.Network(); n != 0 {
			r.nets |= 1 << n
		}
		r.campus = r.campus || p.Class.Campus()
	}
	return r
}

// Tier ranks p for r: r's own subnet, r's named network, the rest of campus
// (only when r is on campus itself), everything else.
func (r *Requester) Tier(p *Peer) Tier {
	w0, w1 := leWords(p.Addr)
	fam := 1
	if w0 == 0 && uint32(w1) == 0xffff0000 { // IPv4-mapped: ::ffff:a.b.c.d
		fam = 0
	}
	return r.tierWords(w0, w1, fam, p.Class)
}

// tierWords is Tier of a peer of class c whose address has the words w0,
// w1 (see leWords) and is IPv4-mapped (fam 0) or IPv6 (fam 1).
func (r *Requester) tierWords(w0, w1 uint64, fam int, c PeerClass) Tier {
	s := &r.subnet[fam&1]
	switch {
	case s.ok && w0&s.m0 == s.p0 && w1&s.m1 == s.p1:
		return TierSubnet
	case r.nets>>c.Network()&1 != 0:
		return TierNetwork
	case r.campus && c.Campus():
		return TierCampus
	}
	return TierOther
}

func leWords(a [16]byte) (uint64, uint64) {
	return binary.LittleEndian.Uint64(a[:8]), binary.LittleEndian.Uint64(a[8:])
}

// sameID compares two peer_ids a word at a time, the tail first: peer_ids
// of one client share their head ("-qB4650-").
func sameID(a, b *[20]byte) bool {
	return binary.LittleEndian.Uint64(a[12:]) == binary.LittleEndian.Uint64(b[12:]) &&
		binary.LittleEndian.Uint64(a[:8]) == binary.LittleEndian.Uint64(b[:8]) &&
		binary.LittleEndian.Uint32(a[8:12]) == binary.LittleEndian.Uint32(b[8:12])
}
