package tracker

import "net/netip"

// Peer is one member of a swarm as a PeerStore keeps it: 44 bytes, no
// pointers, so a swarm is a flat slice the garbage collector never scans.
type Peer struct {
	ID [20]byte
	// Addr is the IPv6 address, or the IPv4 address in its IPv4-mapped
	// form (::ffff:a.b.c.d).
	Addr     [16]byte
	Port     uint16
	Seeder   bool
	LastSeen uint32 // Unix seconds of the last announce
}

// NewPeer packs an address into a Peer. An IPv4-mapped IPv6 address counts
// as IPv4.
func NewPeer(id [20]byte, ap netip.AddrPort, seeder bool, now uint32) Peer {
	return Peer{
		ID:       id,
		Addr:     ap.Addr().Unmap().As16(),
		Port:     ap.Port(),
		Seeder:   seeder,
		LastSeen: now,
	}
}

// AddrPort unpacks the peer's address.
func (p *Peer) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), p.Port)
}

// Is6 reports whether the peer has an IPv6 address (BEP 7).
func (p *Peer) Is6() bool {
	a := &p.Addr
	for _, b := range a[:10] {
		if b != 0 {
			return true
		}
	}
	return a[10] != 0xff || a[11] != 0xff
}

// Key identifies the peer within a swarm: its peer_id and address family.
// A dual-stack client announcing once per family (BEP 7) is two peers; a
// client whose address changes within a family replaces its old entry.
func (p *Peer) Key() PeerKey { return PeerKey{ID: p.ID, V6: p.Is6()} }

// PeerKey identifies a peer within a swarm; see Peer.Key.
type PeerKey struct {
	ID [20]byte
	V6 bool
}
