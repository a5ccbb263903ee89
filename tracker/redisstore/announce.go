package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
)

// maxSelf is how many entries one announce may carry: one per address
// family (BEP 7).
const maxSelf = 2

// decimalWidth is the width of the zero-padded decimal numbers an
// announce sends: fixed, so their buffers are boxed into interfaces once
// per announceArgs and reused without allocating.
const decimalWidth = 20

// The constant arguments, boxed once.
var (
	argEvalSha any = "evalsha"
	argNumKeys any = 6
	argPut     any = "put"
	argRemove  any = "remove"
	argOne     any = "1"
	argZero    any = "0"
	argNone    any = "-"
	argEntries     = [maxSelf + 1]any{0, 1, 2}
	argSHA     any = announceScript.Hash()
)

func argFlag(b bool) any {
	if b {
		return argOne
	}
	return argZero
}

// announceArgs are the buffers of one Announce call, pooled per Store. The
// boxed fields are interfaces over the byte arrays, made once: an announce
// rewrites the arrays and appends the boxes to cmd, so building the
// command allocates nothing.
type announceArgs struct {
	cmd    []any
	keyBuf []byte // the swarm's four keys, each keyLen bytes
	keyLen int
	fields [maxSelf][fieldSize]byte
	recs   [maxSelf][recordSize]byte
	mems   [maxSelf][memberSize]byte
	nums   [maxSelf + 5][decimalWidth]byte // LastSeen per entry; owner, up, down, now, min interval
	id     [20]byte
	boxed  struct {
		keys                         [4]any // seeders, leechers, baselines, snatches
		fields, recs, mems, lastSeen [maxSelf]any
		id, owner, up, down, now     any
		minInterval                  any
	}
}

func (s *Store) newAnnounceArgs() *announceArgs {
	aa := &announceArgs{keyLen: len(s.swarmPrefix) + 40 + 2}
	aa.keyBuf = make([]byte, 4*aa.keyLen)
	for i, suffix := range [...]string{":s", ":l", ":b", ":c"} {
		k := aa.keyBuf[i*aa.keyLen : (i+1)*aa.keyLen]
		copy(k, s.swarmPrefix)
		copy(k[aa.keyLen-2:], suffix)
		aa.boxed.keys[i] = k
	}
	b := &aa.boxed
	for i := range maxSelf {
		b.fields[i], b.recs[i], b.mems[i] = aa.fields[i][:], aa.recs[i][:], aa.mems[i][:]
		b.lastSeen[i] = aa.nums[i][:]
	}
	b.id = aa.id[:]
	b.owner, b.up, b.down = aa.nums[maxSelf][:], aa.nums[maxSelf+1][:], aa.nums[maxSelf+2][:]
	b.now, b.minInterval = aa.nums[maxSelf+3][:], aa.nums[maxSelf+4][:]
	return aa
}

// putDecimal writes v into d in decimal, zero-padded to its whole width.
func putDecimal(d *[decimalWidth]byte, v uint64) {
	for i := decimalWidth - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
}

// Announce implements tracker.PeerStore in one round trip (announceScript):
// the requester's entries put or removed, its baseline moved, a snatch
// counted, the swarm's lists and counts fetched. The peers are ranked in Go
// from the lists, or from a fresh snapshot of a large swarm (then the
// script fetches no list).
func (s *Store) Announce(ctx context.Context, ih [20]byte, a *tracker.StoreAnnounce, dst []tracker.Peer) ([]tracker.Peer, tracker.AnnounceResult, error) {
	var res tracker.AnnounceResult
	if len(a.Self) == 0 || len(a.Self) > maxSelf {
		return dst, res, fmt.Errorf("redisstore: announce: %d entries, want 1 to %d", len(a.Self), maxSelf)
	}
	var snap *snapshot
	want := flag(a.Requester.Seeder)
	if a.NumWant <= 0 {
		want = "-"
	} else if snap = s.snaps.get(&ih); snap != nil {
		want = "-"
	}
	aa, _ := s.args.Get().(*announceArgs)
	if aa == nil {
		aa = s.newAnnounceArgs()
	}
	defer s.args.Put(aa)
	defer s.counts.invalidate(&ih)
	cmd := s.client.Do(ctx, aa.build(s, &ih, a, want)...)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		// Redis restarted and lost its script cache: EVAL runs the script
		// and caches it again.
		args := aa.cmd[3:]
		keys := make([]string, 6)
		for i := range keys {
			switch k := args[i].(type) {
			case string:
				keys[i] = k
			case []byte:
				keys[i] = string(k)
			}
		}
		cmd = announceScript.Eval(ctx, s.client, keys, args[6:]...)
	}
	r, err := cmd.Slice()
	if err != nil {
		return dst, res, fmt.Errorf("redisstore: announce: %w", err)
	}
	if err := decodeAnnounce(r, &res); err != nil {
		return dst, res, fmt.Errorf("redisstore: announce: %w", err)
	}
	switch {
	case snap != nil:
		return tracker.RankPeers(dst, &a.Requester, a.NumWant, snap.seeders, snap.leechers), res, nil
	case want == "-":
		return dst, res, nil
	}
	l, _ := s.lists.Get().(*peerLists)
	if l == nil {
		l = new(peerLists)
	}
	defer s.putLists(l)
	seeding, _ := r[0].(string)
	leeching, _ := r[1].(string)
	if l.seeders, err = decodeRecords(l.seeders[:0], seeding, true); err == nil {
		l.leechers, err = decodeRecords(l.leechers[:0], leeching, false)
	}
	if err != nil {
		return dst, res, fmt.Errorf("redisstore: announce: %w", err)
	}
	if !a.Requester.Seeder {
		s.snaps.offer(&ih, l)
	}
	return tracker.RankPeers(dst, &a.Requester, a.NumWant, l.seeders, l.leechers), res, nil
}

// build fills the EVALSHA command of announceScript for a (see
// announceScript for its arguments).
func (aa *announceArgs) build(s *Store, ih *[20]byte, a *tracker.StoreAnnounce, want string) []any {
	for i := range 4 {
		hex.Encode(aa.keyBuf[i*aa.keyLen+len(s.swarmPrefix):], ih[:])
	}
	b := &aa.boxed
	op := argPut
	if a.Stopped {
		op = argRemove
	}
	cmd := append(aa.cmd[:0], argEvalSha, argSHA, argNumKeys,
		b.keys[0], b.keys[1], s.expiryArg, s.totalsArg, b.keys[2], b.keys[3],
		op, argEntries[len(a.Self)])
	for i := range a.Self {
		p := &a.Self[i]
		aa.fields[i] = field(p)
		aa.mems[i] = member(ih, &aa.fields[i])
		aa.recs[i] = encodeRecord(p)
		putDecimal(&aa.nums[i], uint64(p.LastSeen))
		cmd = append(cmd, b.fields[i], b.recs[i], argFlag(p.Seeder), b.lastSeen[i], b.mems[i])
	}
	base := &a.Base
	aa.id = a.Self[0].ID
	putDecimal(&aa.nums[maxSelf], a.Owner)
	putDecimal(&aa.nums[maxSelf+1], uint64(min(max(base.Uploaded, 0), tracker.MaxBaselineCounter)))
	putDecimal(&aa.nums[maxSelf+2], uint64(min(max(base.Downloaded, 0), tracker.MaxBaselineCounter)))
	putDecimal(&aa.nums[maxSelf+3], uint64(base.Seen))
	putDecimal(&aa.nums[maxSelf+4], uint64(a.MinInterval))
	wantArg := argNone
	switch want {
	case "0":
		wantArg = argZero
	case "1":
		wantArg = argOne
	}
	cmd = append(cmd, wantArg, b.id, b.owner, b.up, b.down, b.now,
		argFlag(base.Seeder), argFlag(a.Regular), b.minInterval, argFlag(a.Snatch))
	aa.cmd = cmd
	return cmd
}

// decodeAnnounce reads announceScript's reply but for the lists.
func decodeAnnounce(r []any, res *tracker.AnnounceResult) error {
	if len(r) != 12 {
		return fmt.Errorf("unexpected reply of %d elements", len(r))
	}
	var n [10]int64
	for i := range n {
		v, ok := r[2+i].(int64)
		if !ok || v < 0 {
			return errors.New("unexpected reply")
		}
		n[i] = v
	}
	res.Counts = tracker.SwarmCounts{Seeders: int(n[0]), Completed: int(n[1]), Leechers: int(n[2])}
	res.Known = n[3] == 1
	res.Prev = tracker.Baseline{Uploaded: n[4], Downloaded: n[5], Seen: uint32(n[6]), Seeder: n[7] == 1}
	res.Early = n[8] == 1
	res.FirstSnatch = n[9] == 1
	return nil
}
