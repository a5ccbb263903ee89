package redisstore

import (
	"context"
	"fmt"

	"github.com/seedbed/seedbed/tracker"
)

// maxSelf is how many entries one announce may carry: one per address
// family (BEP 7).
const maxSelf = 2

// Announce is a whole announce in one round trip: it puts the requester's
// entries self (one per address family) into the swarm of ih, or removes
// them when stopped, then appends up to n peers for r to dst exactly as
// AppendPeers does, and returns the swarm's counts after the change. The
// tracker otherwise makes three or four round trips for this: PutPeer (or
// RemovePeer) per entry, AppendPeers and Counts. Call Snatch before it, so
// that the counts include a first completion.
//
// The tracker does not call it yet: it is the method an optional
// interface on the announce path would use.
func (s *Store) Announce(ctx context.Context, ih [20]byte, self []tracker.Peer, stopped bool, r tracker.Requester, n int, dst []tracker.Peer) ([]tracker.Peer, tracker.SwarmCounts, error) {
	if len(self) > maxSelf {
		return dst, tracker.SwarmCounts{}, fmt.Errorf("redisstore: announce: %d entries, at most %d", len(self), maxSelf)
	}
	var snap *snapshot
	want := flag(r.Seeder)
	if n <= 0 {
		want = "-"
	} else if snap = s.snaps.get(&ih); snap != nil {
		want = "-"
	}
	op := "put"
	if stopped {
		op = "remove"
	}
	args := make([]any, 0, 3+5*maxSelf)
	args = append(args, op, len(self))
	for i := range self {
		p := &self[i]
		f := field(p)
		m := member(&ih, &f)
		rec := encodeRecord(p)
		args = append(args, string(f[:]), string(rec[:]), flag(p.Seeder), int64(p.LastSeen), string(m[:]))
	}
	args = append(args, want)
	k := s.keys(&ih)
	defer s.counts.invalidate(&ih)
	res, err := announceScript.Run(ctx, s.client,
		[]string{k.seeders, k.leechers, s.expiryKey, s.totalsKey, k.snatches}, args...).Slice()
	if err != nil {
		return dst, tracker.SwarmCounts{}, fmt.Errorf("redisstore: announce: %w", err)
	}
	if len(res) != 5 {
		return dst, tracker.SwarmCounts{}, fmt.Errorf("redisstore: announce: unexpected reply of %d elements", len(res))
	}
	seeders, _ := res[2].(int64)
	snatches, _ := res[3].(int64)
	leechers, _ := res[4].(int64)
	c := tracker.SwarmCounts{Seeders: int(seeders), Leechers: int(leechers), Completed: int(snatches)}
	switch {
	case snap != nil:
		return tracker.RankPeers(dst, &r, n, snap.seeders, snap.leechers), c, nil
	case want == "-":
		return dst, c, nil
	}
	l, _ := s.lists.Get().(*peerLists)
	if l == nil {
		l = new(peerLists)
	}
	defer s.putLists(l)
	seeding, _ := res[0].(string)
	leeching, _ := res[1].(string)
	if l.seeders, err = decodeRecords(l.seeders[:0], seeding, true); err == nil {
		l.leechers, err = decodeRecords(l.leechers[:0], leeching, false)
	}
	if err != nil {
		return dst, c, fmt.Errorf("redisstore: announce: %w", err)
	}
	if !r.Seeder {
		s.snaps.offer(&ih, l)
	}
	return tracker.RankPeers(dst, &r, n, l.seeders, l.leechers), c, nil
}
