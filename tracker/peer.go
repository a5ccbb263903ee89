package tracker

import "net/netip"

// Peer is one member of a swarm as a PeerStore hands it out: 44 bytes, no
// pointers. The memory store keeps it more compactly (see swarm_block.go).
type Peer struct {
	ID [20]byte
	// Addr is the IPv6 address, or the IPv4 address in its IPv4-mapped
	// form (::ffff:a.b.c.d).
	Addr   [16]byte
	Port   uint16
	Seeder bool
	// Class is what the tracker learnt of the peer when it announced: its
	// named network, whether it is on campus, whether it is a seedbox. It
	// depends only on Addr and the owner, so stores keep it as it is and
	// rank peers with it (see Requester.Tier) without looking anything up.
	Class    PeerClass
	LastSeen uint32 // Unix seconds of the last announce
}

// PeerClass packs a peer's named network (0: none, 1..MaxNetworks), its
// campus bit and its seedbox bit into one byte.
type PeerClass uint8

const (
	// MaxNetworks is how many named networks a PeerClass tells apart.
	MaxNetworks = 63

	classNetwork PeerClass = 0x3f
	// ClassCampus marks a peer inside the campus ranges or a named network.
	ClassCampus PeerClass = 0x40
	// ClassSeedbox marks a peer of a Seedbox user: a source of last resort.
	ClassSeedbox PeerClass = 0x80
)

// Network is the peer's named network, 1..MaxNetworks, or 0 for none.
func (c PeerClass) Network() int { return int(c & classNetwork) }

// Campus reports whether the peer is on campus.
func (c PeerClass) Campus() bool { return c&ClassCampus != 0 }

// Seedbox reports whether the peer is one of Seedbed's seedboxes.
func (c PeerClass) Seedbox() bool { return c&ClassSeedbox != 0 }

// NewPeer packs an address into a Peer of no particular class. An
// IPv4-mapped IPv6 address counts as IPv4.
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
