package tracker

// acct is a peer's accounting baseline as the memory store keeps it, next
// to the peer (swarm.accts): 20 bytes, where the ledger's separate table
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
// its entries put or removed, a snatch; then counts and peers.
func (sw *swarm) announce(a *StoreAnnounce, dst []Peer, res *AnnounceResult) []Peer {
	id := &a.Self[0].ID
	prev, known := sw.baseline(id, a.Owner)
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
		if a.Stopped {
			sw.remove(a.Self[i].Key())
		} else {
			sw.putAcct(a.Self[i], next)
		}
	}
	// An entry of the other family, announced on its own, keeps the same
	// baseline.
	for _, v6 := range [2]bool{false, true} {
		if list, pos, ok := sw.find(&PeerKey{ID: *id, V6: v6}); ok {
			sw.accts[list][pos] = next
		}
	}
	if a.Snatch {
		res.FirstSnatch = sw.snatch(*id)
	}
	res.Counts = sw.counts()
	return sw.appendFor(dst, &a.Requester, a.NumWant)
}

// baseline returns the newest baseline of owner among the entries with id.
func (sw *swarm) baseline(id *[20]byte, owner uint64) (Baseline, bool) {
	if owner == 0 {
		return Baseline{}, false
	}
	var best acct
	found := false
	for _, v6 := range [2]bool{false, true} {
		list, pos, ok := sw.find(&PeerKey{ID: *id, V6: v6})
		if !ok {
			continue
		}
		if a := sw.accts[list][pos]; a.owner == acctOwner(owner) && (!found || a.seen > best.seen) {
			best, found = a, true
		}
	}
	if !found {
		return Baseline{}, false
	}
	return best.baseline(), true
}
