package tracker

import "encoding/binary"

// acct is a peer's accounting baseline as the memory store keeps it, in
// the peer's record (see swarm_block.go): 20 bytes, where the ledger's separate table
// of baselines took about 40 per peer. The owner is the low 32 bits of the
// user ID (0: no baseline); the counters have 47 bits each, their low 32
// bits in up and down and the rest in hi with the seeder bit.
type acct struct {
	owner, seen, up, down, hi uint32
}

const (
	acctHiBits  = 15 // bits of a counter above its low 32
	acctHiMask  = 1<<acctHiBits - 1
	acctSeeder  = 1 << (2 * acctHiBits)
	acctNoOwner = 0
)

// acctOwner is how an acct names the user ID owner. User IDs are catalog
// row IDs, far below 2^32; 0 is no user.
func acctOwner(owner uint64) uint32 { return uint32(owner) }

func packAcct(owner uint64, b Baseline) acct {
	up := uint64(min(max(b.Uploaded, 0), MaxBaselineCounter))
	down := uint64(min(max(b.Downloaded, 0), MaxBaselineCounter))
	a := acct{
		owner: acctOwner(owner), seen: b.Seen, up: uint32(up), down: uint32(down),
		hi: uint32(up>>32) | uint32(down>>32)<<acctHiBits,
	}
	if b.Seeder {
		a.hi |= acctSeeder
	}
	return a
}

// put writes a into b (16 bytes), all but its seen: a record keeps that
// beside its LastSeen (setRecAcct).
func (a acct) put(b []byte) {
	_ = b[15]
	binary.LittleEndian.PutUint32(b, a.owner)
	binary.LittleEndian.PutUint32(b[4:], a.up)
	binary.LittleEndian.PutUint32(b[8:], a.down)
	binary.LittleEndian.PutUint32(b[12:], a.hi)
}

// getAcct reads what put wrote; seen is left 0.
func getAcct(b []byte) acct {
	_ = b[15]
	return acct{
		owner: binary.LittleEndian.Uint32(b),
		up:    binary.LittleEndian.Uint32(b[4:]), down: binary.LittleEndian.Uint32(b[8:]),
		hi: binary.LittleEndian.Uint32(b[12:]),
	}
}

func (a acct) baseline() Baseline {
	return Baseline{
		Uploaded:   int64(a.up) | int64(a.hi&acctHiMask)<<32,
		Downloaded: int64(a.down) | int64(a.hi>>acctHiBits&acctHiMask)<<32,
		Seen:       a.seen,
		Seeder:     a.hi&acctSeeder != 0,
	}
}

// announce is the swarm's share of PeerStore.Announce: the baseline of
// the requester's peer_id (kept alike in its entries of both families),
// its entries put or removed, a snatch; then counts and peers. The
// requester's entries are looked up once: each family is a block of its
// own, so changing one leaves the other's positions as they were.
func (sw *swarmRef) announce(a *StoreAnnounce, dst []Peer, res *AnnounceResult) []Peer {
	id := &a.Self[0].ID
	var pos [2]int
	var found [2]bool
	for fam := range pos {
		_, pos[fam], found[fam] = sw.find(&PeerKey{ID: *id, V6: fam == fam6})
	}
	prev, known := sw.baseline(a.Owner, &pos, &found)
	res.Prev, res.Known = prev, known
	res.Early = a.early(prev, known)
	var next acct
	switch {
	case res.Early:
		next = packAcct(a.Owner, prev)
	case a.Owner != 0:
		next = packAcct(a.Owner, a.Base)
	}
	for i := range a.Self {
		p := &a.Self[i]
		fam := famOf(p)
		if !sameID(&p.ID, id) { // not the requester's own: not expected
			if a.Stopped {
				sw.remove(p.Key())
			} else {
				sw.putAcct(p, next)
			}
			_, pos[fam], found[fam] = sw.find(&PeerKey{ID: *id, V6: fam == fam6})
			continue
		}
		if a.Stopped {
			if found[fam] {
				sw.removeAt(fam, pos[fam])
				found[fam] = false
			}
			continue
		}
		pos[fam], found[fam] = sw.putAt(p, next, fam, pos[fam], found[fam]), true
	}
	// An entry of the other family, announced on its own, keeps the same
	// baseline.
	for fam := range pos {
		if found[fam] {
			setRecAcct(sw.b[fam].rec(fam, pos[fam]), fam, next)
		}
	}
	if a.Snatch {
		res.FirstSnatch = sw.sh.snatch(&sw.ih, *id)
	}
	res.Counts = sw.counts()
	return sw.appendFor(dst, &a.Requester, a.NumWant)
}

// baseline returns the newest baseline of owner among the requester's
// entries, found[fam] at pos[fam].
func (sw *swarmRef) baseline(owner uint64, pos *[2]int, found *[2]bool) (Baseline, bool) {
	if owner == 0 {
		return Baseline{}, false
	}
	var best acct
	ok := false
	for fam := range pos {
		if !found[fam] {
			continue
		}
		if a := recAcct(sw.b[fam].rec(fam, pos[fam]), fam); a.owner == acctOwner(owner) && (!ok || a.seen > best.seen) {
			best, ok = a, true
		}
	}
	if !ok {
		return Baseline{}, false
	}
	return best.baseline(), true
}
