package redisstore

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/seedbed/seedbed/tracker"
)

// A peer is stored as a hash field (its tracker.PeerKey) and a fixed-size
// record (everything the tracker hands out or ranks by). Whether it seeds is
// told by the hash it is in.
const (
	fieldSize  = 21 // peer_id, then '4' or '6'
	recordSize = 43 // peer_id, address (16), port (2), class (1), LastSeen (4)
	memberSize = 20 + fieldSize
)

// swarmKeys are the names of one swarm's keys.
type swarmKeys struct {
	seeders, leechers, snatches, baselines string
}

// keys names the keys of the swarm ih under prefix:
// <prefix>sw:<hex infohash>:s|l|c|b, all four cut from one string.
func (s *Store) keys(ih *[20]byte) swarmKeys {
	n := len(s.swarmPrefix) + 2*len(ih)
	b := make([]byte, 0, 4*(n+2))
	for _, suffix := range [...]string{":s", ":l", ":c", ":b"} {
		b = hex.AppendEncode(append(b, s.swarmPrefix...), ih[:])
		b = append(b, suffix...)
	}
	all := unsafe.String(unsafe.SliceData(b), len(b))
	m := n + 2
	return swarmKeys{seeders: all[:m], leechers: all[m : 2*m], snatches: all[2*m : 3*m], baselines: all[3*m:]}
}

// field is the hash field of p: its peer_id and address family, as
// tracker.Peer.Key.
func field(p *tracker.Peer) [fieldSize]byte {
	var f [fieldSize]byte
	copy(f[:20], p.ID[:])
	f[20] = '4'
	if p.Is6() {
		f[20] = '6'
	}
	return f
}

// member is p's entry in the expiry index: the infohash, then the field.
func member(ih *[20]byte, f *[fieldSize]byte) [memberSize]byte {
	var m [memberSize]byte
	copy(m[:20], ih[:])
	copy(m[20:], f[:])
	return m
}

// encodeRecord packs p; the seeder flag is not part of it.
func encodeRecord(p *tracker.Peer) [recordSize]byte {
	var r [recordSize]byte
	copy(r[:20], p.ID[:])
	copy(r[20:36], p.Addr[:])
	binary.BigEndian.PutUint16(r[36:38], p.Port)
	r[38] = byte(p.Class)
	binary.BigEndian.PutUint32(r[39:43], p.LastSeen)
	return r
}

// decodeRecords appends the records concatenated in b to dst, as seeders
// or leechers.
func decodeRecords(dst []tracker.Peer, b string, seeder bool) ([]tracker.Peer, error) {
	if len(b)%recordSize != 0 {
		return dst, fmt.Errorf("swarm list of %d bytes is not made of %d-byte peer records", len(b), recordSize)
	}
	for ; len(b) > 0; b = b[recordSize:] {
		var p tracker.Peer
		copy(p.ID[:], b[:20])
		copy(p.Addr[:], b[20:36])
		p.Port = uint16(b[36])<<8 | uint16(b[37])
		p.Class = tracker.PeerClass(b[38])
		p.LastSeen = uint32(b[39])<<24 | uint32(b[40])<<16 | uint32(b[41])<<8 | uint32(b[42])
		p.Seeder = seeder
		dst = append(dst, p)
	}
	return dst, nil
}
