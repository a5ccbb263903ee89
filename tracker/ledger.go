package tracker

import (
	"cmp"
	"context"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"time"
)

// StatDelta is what one user did on one torrent since the last flush.
type StatDelta struct {
	UserID    uint64
	TorrentID uint64
	InfoHash  [20]byte
	// Uploaded and Downloaded are bytes newly reported by the user's
	// clients; never negative.
	Uploaded   int64
	Downloaded int64
	// SeedingSeconds is time spent as a seeder between two announces.
	SeedingSeconds int64
	// Completed is a snatch: a first event=completed of one of the user's
	// peers on this torrent.
	Completed bool
	// Leeching is true when one of the user's peers announced as a leecher
	// (left > 0, not stopped): the torrent is wanted, whatever the traffic
	// (retention counts it as activity).
	Leeching bool
}

// Sink receives the accounting deltas, aggregated per (user, torrent), every
// few seconds. When Flush fails, the deltas are kept and handed over again,
// merged with newer ones, at the next flush. Flush must not keep deltas after
// it returns.
type Sink interface {
	Flush(ctx context.Context, deltas []StatDelta) error
}

const ledgerShards = 64

// ledger aggregates the credits of announces per (user, infohash) until
// they are drained. The baselines credits are computed from live in the
// peer store, next to their peers (see Baseline and
// PeerStore.Announce): shared by every node of a shared store, and gone
// with the peer when it expires.
type ledger struct {
	ttl    uint32 // seconds; caps SeedingSeconds of one announce gap
	shards [ledgerShards]ledgerShard
	batch  []StatDelta // reused by drain; only Serve's goroutine drains
}

type ledgerShard struct {
	mu      sync.Mutex
	pending *deltaTable // in the ledger's tables
}

func newLedger(ttl time.Duration) *ledger {
	l := &ledger{ttl: uint32(ttl / time.Second)}
	tables := new([ledgerShards]deltaTable)
	for i := range l.shards {
		l.shards[i].pending = &tables[i]
	}
	// The pending deltas live outside the Go heap: give them back with the
	// ledger (a test makes many).
	runtime.AddCleanup(l, releaseDeltaTables, tables)
	return l
}

func releaseDeltaTables(tables *[ledgerShards]deltaTable) {
	for i := range tables {
		tables[i].release()
	}
}

func (l *ledger) shard(ih *[20]byte) *ledgerShard {
	return &l.shards[binary.LittleEndian.Uint32(ih[4:8])%ledgerShards]
}

// announceBaseline is the baseline an announce sets: its counters, clamped
// to what a store keeps, the time, and whether it seeds.
func announceBaseline(req *AnnounceRequest, now uint32) Baseline {
	return Baseline{
		Uploaded:   min(req.Uploaded, MaxBaselineCounter),
		Downloaded: min(req.Downloaded, MaxBaselineCounter),
		Seen:       now,
		Seeder:     req.Left == 0,
	}
}

// record credits one announce from what the store answered (res): the
// traffic since the baseline it replaced and the seeding time, and a
// snatch. A seedbox's traffic and seeding time are never credited.
//
// A peer's first announce only sets the baseline: what it reports may
// already have been credited before a tracker restart. Counters that went
// down mean the client restarted: a new baseline, no credit. An early
// announce (Options.EnforceMinInterval; see StoreAnnounce.MinInterval)
// credits nothing and leaves the baseline, so its traffic is credited by
// the next announce on time and a client hammering the tracker earns
// nothing by it.
func (l *ledger) record(u User, torrentID uint64, req *AnnounceRequest, res *AnnounceResult, now uint32) {
	var d StatDelta
	if !u.Seedbox && res.Known && !res.Early {
		d = credit(res.Prev, announceBaseline(req, now), l.ttl)
	}
	d.Completed = res.FirstSnatch
	d.Leeching = !u.Seedbox && req.Left > 0 && req.Event != EventStopped
	if d == (StatDelta{}) {
		return
	}
	d.UserID, d.TorrentID, d.InfoHash = u.ID, torrentID, req.InfoHash
	sh := l.shard(&req.InfoHash)
	sh.mu.Lock()
	sh.add(d)
	sh.mu.Unlock()
}

// credit is what moving a baseline from prev to next earns: the traffic,
// unless a counter went down (a client restart), and the time seeded since
// prev, at most ttl.
func credit(prev, next Baseline, ttl uint32) StatDelta {
	var d StatDelta
	if next.Uploaded >= prev.Uploaded && next.Downloaded >= prev.Downloaded {
		d.Uploaded = next.Uploaded - prev.Uploaded
		d.Downloaded = next.Downloaded - prev.Downloaded
	}
	if prev.Seeder && next.Seen > prev.Seen {
		d.SeedingSeconds = int64(min(next.Seen-prev.Seen, ttl))
	}
	return d
}

// add merges d into the pending deltas.
func (sh *ledgerShard) add(d StatDelta) { sh.pending.add(&d) }

// drain takes every pending delta, sorted by user and torrent (a stable
// order keeps concurrent batch upserts from deadlocking).
func (l *ledger) drain() []StatDelta {
	batch := l.batch[:0]
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		batch = sh.pending.drain(batch)
		sh.mu.Unlock()
	}
	slices.SortFunc(batch, func(a, b StatDelta) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.TorrentID, b.TorrentID))
	})
	// Keep the array for the next drain, unless it is left from a burst
	// much larger than this flush.
	l.batch = batch
	if cap(batch) > 4*max(len(batch), 1024) {
		l.batch = nil
	}
	return batch
}

// restore puts back a batch the Sink failed to take.
func (l *ledger) restore(batch []StatDelta) {
	for _, d := range batch {
		sh := l.shard(&d.InfoHash)
		sh.mu.Lock()
		sh.add(d)
		sh.mu.Unlock()
	}
}

// pendingLen is the number of deltas waiting for the next flush.
func (l *ledger) pendingLen() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += sh.pending.n
		sh.mu.Unlock()
	}
	return n
}
