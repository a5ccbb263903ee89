package tracker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
)

// connIDWindow is the time window of a connection ID, in seconds. The IDs of
// the current and the previous window are accepted, so an ID stays valid for
// one to two minutes: BEP 15 clients use one for a minute.
const connIDWindow = 60

// connIDSigner issues and checks BEP 15 connection IDs, which prove that a
// client receives packets at its source address before the tracker answers
// its announces. An ID is the first 8 bytes of HMAC-SHA256, keyed at random
// per ServeUDP, over the time window and the client's IP address, so nothing
// is stored per client. The port is left out: a NAT may change it between
// the connect and the announce. A signer is not safe for concurrent use;
// every UDP reader has its own.
type connIDSigner struct {
	mac hash.Hash
	in  [24]byte // window, then the IP as 16 bytes
	sum [sha256.Size]byte
}

// newConnIDKey returns a fresh random HMAC key.
func newConnIDKey() []byte {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return key
}

func newConnIDSigner(key []byte) *connIDSigner {
	return &connIDSigner{mac: hmac.New(sha256.New, key)}
}

// issue returns the connection ID for ip at now (Unix seconds).
func (s *connIDSigner) issue(now uint32, ip netip.Addr) uint64 {
	return s.sign(now/connIDWindow, ip)
}

// valid reports whether id was issued to ip in the current or the previous
// window.
func (s *connIDSigner) valid(id uint64, now uint32, ip netip.Addr) bool {
	w := now / connIDWindow
	return id == s.sign(w, ip) || (w > 0 && id == s.sign(w-1, ip))
}

func (s *connIDSigner) sign(window uint32, ip netip.Addr) uint64 {
	binary.BigEndian.PutUint64(s.in[:8], uint64(window))
	a := ip.Unmap().As16()
	copy(s.in[8:], a[:])
	s.mac.Reset()
	s.mac.Write(s.in[:])
	return binary.BigEndian.Uint64(s.mac.Sum(s.sum[:0]))
}
