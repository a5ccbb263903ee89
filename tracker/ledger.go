package tracker

import (
	"cmp"
	"context"
	"encoding/binary"
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
}

// Sink receives the accounting deltas, aggregated per (user, torrent), every
// few seconds. When Flush fails, the deltas are kept and handed over again,
// merged with newer ones, at the next flush. Flush must not keep deltas after
// it returns.
type Sink interface {
	Flush(ctx context.Context, deltas []StatDelta) error
}

const ledgerShards = 64

// ledger credits traffic per (user, infohash, peer_id): it keeps the counters
// of each peer's last announce as a baseline and credits only what grew since.
// Counters that go down mean the client restarted: a new baseline, no credit.
// Deltas are aggregated per (user, infohash) until drained.
type ledger struct {
	ttl    uint32 // seconds; caps SeedingSeconds of one announce gap
	shards [ledgerShards]ledgerShard
	batch  []StatDelta // reused by drain; only Serve's goroutine drains
}

type ledgerShard struct {
	mu      sync.Mutex
	base    map[baselineKey]baseline
	pending map[deltaKey]StatDelta
}

type baselineKey struct {
	user   uint64
	ih     [20]byte
	peerID [20]byte
}

type baseline struct {
	uploaded, downloaded int64
	seen                 uint32
	seeder               bool
}

type deltaKey struct {
	user uint64
	ih   [20]byte
}

func newLedger(ttl time.Duration) *ledger {
	l := &ledger{ttl: uint32(ttl / time.Second)}
	for i := range l.shards {
		l.shards[i].base = make(map[baselineKey]baseline)
		l.shards[i].pending = make(map[deltaKey]StatDelta)
	}
	return l
}

func (l *ledger) shard(ih *[20]byte) *ledgerShard {
	return &l.shards[binary.LittleEndian.Uint32(ih[4:8])%ledgerShards]
}

// record credits one announce. snatched marks the first completion of the
// peer. A seedbox's traffic and seeding time are never credited.
//
// Min interval enforcement (Options.EnforceMinInterval): a regular announce
// (no event) sooner than minInterval seconds (0: none) after the peer's last
// credited one is answered as usual but updates no stats: nothing is credited and the baseline stays,
// so its traffic is credited by the next announce on time and a client
// hammering the tracker earns nothing by it. record reports such an early
// announce.
func (l *ledger) record(u User, torrentID uint64, req *AnnounceRequest, snatched bool, now, minInterval uint32) (early bool) {
	sh := l.shard(&req.InfoHash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var d StatDelta
	if !u.Seedbox {
		d, early = sh.advance(u, req, now, l.ttl, minInterval)
	}
	d.Completed = snatched
	if d == (StatDelta{}) {
		return early
	}
	d.UserID, d.TorrentID, d.InfoHash = u.ID, torrentID, req.InfoHash
	sh.add(d)
	return early
}

// advance moves the peer's baseline to this announce and returns the traffic
// and seeding time credited by it, or reports an early announce (see record)
// and leaves the baseline. A peer's first announce only sets the baseline:
// what it reports may already have been credited before a tracker restart.
// A stopped peer's baseline is dropped.
func (sh *ledgerShard) advance(u User, req *AnnounceRequest, now, ttl, minInterval uint32) (StatDelta, bool) {
	k := baselineKey{user: u.ID, ih: req.InfoHash, peerID: req.PeerID}
	prev, known := sh.base[k]
	if known && req.Event == EventNone && now < prev.seen+minInterval {
		return StatDelta{}, true
	}
	if req.Event == EventStopped {
		delete(sh.base, k)
	} else {
		sh.base[k] = baseline{req.Uploaded, req.Downloaded, now, req.Left == 0}
	}
	if !known {
		return StatDelta{}, false
	}
	var d StatDelta
	if req.Uploaded >= prev.uploaded && req.Downloaded >= prev.downloaded {
		d.Uploaded = req.Uploaded - prev.uploaded
		d.Downloaded = req.Downloaded - prev.downloaded
	}
	if prev.seeder && now > prev.seen {
		d.SeedingSeconds = int64(min(now-prev.seen, ttl))
	}
	return d, false
}

// add merges d into the pending deltas.
func (sh *ledgerShard) add(d StatDelta) {
	k := deltaKey{user: d.UserID, ih: d.InfoHash}
	p, ok := sh.pending[k]
	if !ok {
		sh.pending[k] = d
		return
	}
	p.Uploaded += d.Uploaded
	p.Downloaded += d.Downloaded
	p.SeedingSeconds += d.SeedingSeconds
	p.Completed = p.Completed || d.Completed
	sh.pending[k] = p
}

// drain takes every pending delta, sorted by user and torrent (a stable
// order keeps concurrent batch upserts from deadlocking).
func (l *ledger) drain() []StatDelta {
	batch := l.batch[:0]
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for _, d := range sh.pending {
			batch = append(batch, d)
		}
		clear(sh.pending)
		sh.mu.Unlock()
	}
	slices.SortFunc(batch, func(a, b StatDelta) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.TorrentID, b.TorrentID))
	})
	l.batch = batch
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

// expire drops the baselines of peers not seen since cutoff.
func (l *ledger) expire(cutoff uint32) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, b := range sh.base {
			if b.seen < cutoff {
				delete(sh.base, k)
			}
		}
		sh.mu.Unlock()
	}
}

// pendingLen is the number of deltas waiting for the next flush.
func (l *ledger) pendingLen() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.pending)
		sh.mu.Unlock()
	}
	return n
}
