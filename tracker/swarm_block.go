package tracker

import "encoding/binary"

// The memory store keeps a swarm in two blocks from its slab, one per
// address family (BEP 7), each an 8-byte header (peers, seeders) and
// records of a fixed size:
//
//	offset      size  field
//	0           20    peer_id
//	20          a     address: 4 bytes (IPv4) or 16 (IPv6)
//	20+a        2     port
//	22+a        1     PeerClass
//	23+a        3     the baseline's Seen, as LastSeen minus it (seenLag)
//	26+a        4     LastSeen
//	30+a        16    the rest of the accounting baseline (acct)
//
// 50 bytes for an IPv4 peer, 62 for IPv6, where a Peer and its acct took
// 64 and the swarm's four slices 96 more on the heap. A block keeps its
// seeders first, then its leechers, so the selection's two lists are a
// block's two ranges. Multi-byte fields are little-endian.
const (
	blockHead = 8
	fam4      = 0
	fam6      = 1
)

// addrLen is the address length of a family's records.
func addrLen(fam int) int { return 4 + 12*fam }

// recSize is the size of a family's records.
func recSize(fam int) int { return 46 + addrLen(fam) }

func famOf(p *Peer) int {
	if p.Is6() {
		return fam6
	}
	return fam4
}

func famOfKey(k *PeerKey) int {
	if k.V6 {
		return fam6
	}
	return fam4
}

// block is one family's block of a swarm; nil: no peers.
type block []byte

func (b block) len() int {
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b))
}

func (b block) seeders() int {
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b[4:]))
}

func (b block) setCounts(n, s int) {
	binary.LittleEndian.PutUint32(b, uint32(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(s))
}

func (b block) capacity(fam int) int {
	if b == nil {
		return 0
	}
	return (len(b) - blockHead) / recSize(fam)
}

// rec returns the record at pos.
func (b block) rec(fam, pos int) []byte {
	size := recSize(fam)
	off := blockHead + pos*size
	return b[off : off+size : off+size]
}

// id returns the peer_id of the record at pos.
func (b block) id(fam, pos int) *[20]byte {
	return (*[20]byte)(b[blockHead+pos*recSize(fam):])
}

// putRec writes p and a into rec, a record of family fam.
func putRec(rec []byte, fam int, p *Peer, a acct) {
	putPeerRec(rec, fam, p)
	setRecAcct(rec, fam, a)
}

// putPeerRec writes p into rec, a record of family fam, leaving its
// baseline as it is.
func putPeerRec(rec []byte, fam int, p *Peer) {
	al := addrLen(fam)
	_ = rec[29+al]
	seen := recAcctSeen(rec, fam)
	copy(rec, p.ID[:])
	copy(rec[20:20+al], p.Addr[16-al:])
	binary.LittleEndian.PutUint16(rec[20+al:], p.Port)
	rec[22+al] = byte(p.Class)
	binary.LittleEndian.PutUint32(rec[26+al:], p.LastSeen)
	putSeenLag(rec[23+al:26+al], p.LastSeen, seen)
}

// The baseline's Seen is kept as a signed 24-bit lag behind the record's
// LastSeen: they are at most a peer's lifetime apart (a refresh without a
// new baseline moves LastSeen on; the entry of the other address family
// may get a newer baseline than its own LastSeen), far inside the +-97
// days the lag holds. A lag beyond that is clamped, which could only
// matter for a baseline older than any peer lives.
const seenLagMax = 1<<23 - 1

func putSeenLag(b []byte, lastSeen, seen uint32) {
	lag := min(max(int64(lastSeen)-int64(seen), -seenLagMax), seenLagMax)
	b[0], b[1], b[2] = byte(lag), byte(lag>>8), byte(lag>>16)
}

func getSeenLag(b []byte, lastSeen uint32) uint32 {
	lag := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
	return uint32(int64(lastSeen) - int64(lag))
}

// recAcctSeen is the Seen of rec's baseline.
func recAcctSeen(rec []byte, fam int) uint32 {
	al := addrLen(fam)
	return getSeenLag(rec[23+al:26+al], binary.LittleEndian.Uint32(rec[26+al:]))
}

// getRec reads rec, a record of family fam, into p.
func getRec(rec []byte, fam int, seeder bool, p *Peer) {
	if fam == fam4 {
		getRec4((*[rec4Size]byte)(rec), seeder, p)
	} else {
		getRec6((*[rec6Size]byte)(rec), seeder, p)
	}
}

// rec4Size and rec6Size are recSize(fam4) and recSize(fam6): getRec4 and
// getRec6, one per family and without bounds checks, are small enough to
// inline into the selection's loop.
const (
	rec4Size = 50
	rec6Size = 62
)

func getRec4(rec *[rec4Size]byte, seeder bool, p *Peer) {
	p.ID = [20]byte(rec[:20])
	binary.LittleEndian.PutUint64(p.Addr[:8], 0)
	binary.LittleEndian.PutUint64(p.Addr[8:], 0xffff0000|uint64(binary.LittleEndian.Uint32(rec[20:24]))<<32)
	p.Port = binary.LittleEndian.Uint16(rec[24:26])
	p.Seeder = seeder
	p.Class = PeerClass(rec[26])
	p.LastSeen = binary.LittleEndian.Uint32(rec[30:34])
}

func getRec6(rec *[rec6Size]byte, seeder bool, p *Peer) {
	p.ID = [20]byte(rec[:20])
	p.Addr = [16]byte(rec[20:36])
	p.Port = binary.LittleEndian.Uint16(rec[36:38])
	p.Seeder = seeder
	p.Class = PeerClass(rec[38])
	p.LastSeen = binary.LittleEndian.Uint32(rec[42:46])
}

// v4Word is the high word (see leWords) of the IPv4-mapped address of rec,
// an IPv4 record; the low word is 0.
func v4Word(rec []byte) uint64 {
	return 0xffff0000 | uint64(binary.LittleEndian.Uint32(rec[20:]))<<32
}

// recWords returns the words (see leWords) of the address of rec, a record
// of family fam, as a Peer holds it.
func recWords(rec []byte, fam int) (w0, w1 uint64) {
	if fam == fam4 {
		return 0, v4Word(rec)
	}
	return binary.LittleEndian.Uint64(rec[20:]), binary.LittleEndian.Uint64(rec[28:])
}

func recClass(rec []byte, fam int) PeerClass { return PeerClass(rec[22+addrLen(fam)]) }

// tierRec ranks rec, a record of family fam, for r as Tier ranks its Peer,
// notEligible for r itself, without unpacking it.
func tierRec(r *Requester, rec []byte, fam int) uint8 {
	if sameID((*[20]byte)(rec), &r.ID) {
		return notEligible
	}
	w0, w1 := recWords(rec, fam)
	return uint8(r.tierWords(w0, w1, fam, recClass(rec, fam)))
}

func recSeen(rec []byte, fam int) uint32 {
	return binary.LittleEndian.Uint32(rec[26+addrLen(fam):])
}

func recAcct(rec []byte, fam int) acct {
	a := getAcct(rec[30+addrLen(fam):])
	a.seen = recAcctSeen(rec, fam)
	return a
}

func setRecAcct(rec []byte, fam int, a acct) {
	al := addrLen(fam)
	a.put(rec[30+al:])
	putSeenLag(rec[23+al:26+al], binary.LittleEndian.Uint32(rec[26+al:]), a.seen)
}

// peerLists are what the selection reads: a swarm's two lists, leechers
// and seeders, by count and position. They are the memory store's two
// blocks, where the seeders are the IPv4 block's first ones then the IPv6
// block's and the leechers the rest of each, or, for RankPeers, two Go
// slices (onHeap). One concrete type, not an interface: the selection's
// calls stay direct and its Peer on the stack.
type peerLists struct {
	b [2]block
	// s and n are each block's seeders and peers.
	s, n   [2]int
	heap   [2][]Peer
	onHeap bool
}

func newBlockLists(b [2]block) peerLists {
	l := peerLists{b: b}
	for f := range b {
		l.s[f], l.n[f] = b[f].seeders(), b[f].len()
	}
	return l
}

func (l *peerLists) count(list int) int {
	if l.onHeap {
		return len(l.heap[list])
	}
	if list == seeders {
		return l.s[fam4] + l.s[fam6]
	}
	return l.n[fam4] - l.s[fam4] + l.n[fam6] - l.s[fam6]
}

// locate returns the family and block position of a list's peer i.
func (l *peerLists) locate(list, i int) (fam, pos int) {
	if list == seeders {
		if i < l.s[fam4] {
			return fam4, i
		}
		return fam6, i - l.s[fam4]
	}
	if leech4 := l.n[fam4] - l.s[fam4]; i >= leech4 {
		return fam6, l.s[fam6] + i - leech4
	}
	return fam4, l.s[fam4] + i
}

// span returns the positions [from, to) of family fam's block that hold
// list, the list's peers from index base on.
func (l *peerLists) span(list, fam int) (base, from, to int) {
	if list == seeders {
		if fam == fam6 {
			base = l.s[fam4]
		}
		return base, 0, l.s[fam]
	}
	if fam == fam6 {
		base = l.n[fam4] - l.s[fam4]
	}
	return base, l.s[fam], l.n[fam]
}

func (l *peerLists) peer(list, i int, p *Peer) {
	if l.onHeap {
		*p = l.heap[list][i]
		return
	}
	fam, pos := l.locate(list, i)
	getRec(l.b[fam].rec(fam, pos), fam, list == seeders, p)
}

// tier ranks a list's peer i for r; see tierRec.
func (l *peerLists) tier(r *Requester, list, i int) uint8 {
	if l.onHeap {
		return tierPeer(r, &l.heap[list][i])
	}
	fam, pos := l.locate(list, i)
	return tierRec(r, l.b[fam].rec(fam, pos), fam)
}

// tierPeer ranks p for r, notEligible for r itself.
func tierPeer(r *Requester, p *Peer) uint8 {
	if sameID(&p.ID, &r.ID) {
		return notEligible
	}
	return uint8(r.Tier(p))
}
