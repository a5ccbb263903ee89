package tracker

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
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

// ledger credits traffic per (user, infohash, peer_id): it keeps the counters
// of each peer's last announce as a baseline and credits only what grew since.
// Counters that go down mean the client restarted: a new baseline, no credit.
// Deltas are aggregated per (user, infohash) until drained.
//
// Baselines are the ledger's bulk: one per peer. They are keyed by a 64-bit
// keyed hash of (user, infohash, peer_id) rather than by the 48 bytes
// themselves, and kept in a compact table (see baselineTable): about 40
// bytes per peer where a map by the full key took 125. The key of the hash is random per ledger, so nobody can make two
// peers collide on purpose; by chance, among a million peers, two collide
// with a probability of about 3e-8, and then two peers merely share one
// baseline (a mis-credited announce or a "restart" without credit).
type ledger struct {
	ttl    uint32 // seconds; caps SeedingSeconds of one announce gap
	seed   maphash.Seed
	shards [ledgerShards]ledgerShard
	batch  []StatDelta // reused by drain; only Serve's goroutine drains
}

type ledgerShard struct {
	mu      sync.Mutex
	base    baselineTable // by baselineKey
	pending map[deltaKey]StatDelta
}

// baselineKey hashes (user, infohash, peer_id) with the ledger's seed.
func (l *ledger) baselineKey(user uint64, req *AnnounceRequest) uint64 {
	var b [48]byte
	binary.LittleEndian.PutUint64(b[:8], user)
	copy(b[8:28], req.InfoHash[:])
	copy(b[28:], req.PeerID[:])
	return maphash.Bytes(l.seed, b[:])
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
	l := &ledger{ttl: uint32(ttl / time.Second), seed: maphash.MakeSeed()}
	for i := range l.shards {
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
	var key uint64
	if !u.Seedbox {
		key = l.baselineKey(u.ID, req)
	}
	sh := l.shard(&req.InfoHash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var d StatDelta
	if !u.Seedbox {
		d, early = sh.advance(key, req, now, l.ttl, minInterval)
	}
	d.Completed = snatched
	d.Leeching = !u.Seedbox && req.Left > 0 && req.Event != EventStopped
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
func (sh *ledgerShard) advance(k uint64, req *AnnounceRequest, now, ttl, minInterval uint32) (StatDelta, bool) {
	prev, known := sh.base.get(k)
	if known && req.Event == EventNone && now < prev.seen+minInterval {
		return StatDelta{}, true
	}
	if req.Event == EventStopped {
		sh.base.delete(k)
	} else {
		sh.base.put(k, baseline{req.Uploaded, req.Downloaded, now, req.Left == 0})
	}
	if !known {
		return StatDelta{}, false
	}
	var d StatDelta
	up, down := min(req.Uploaded, baselineMaxUp), min(req.Downloaded, baselineMaxDown)
	if up >= prev.uploaded && down >= prev.downloaded {
		d.Uploaded = up - prev.uploaded
		d.Downloaded = down - prev.downloaded
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
	p.Leeching = p.Leeching || d.Leeching
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
		sh.base.removeIf(func(b baseline) bool { return b.seen < cutoff })
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
