package tracker

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
)

// MemoryStore is the PeerStore of a single node: swarms sharded by infohash,
// one lock per shard. Use it through the pointer NewMemoryStore returns,
// never a copy: its swarms' memory is given back to the system when that
// pointer is unreachable. It never fails; its methods return a nil error but
// for an Announce with no entries or more than two.
type MemoryStore struct {
	shards []memoryShard
	mask   uint32
	slab   *slab // the swarms' tables and blocks
}

type memoryShard struct {
	mu    sync.RWMutex
	table swarmTable // the swarms with peers, their blocks in slab
	slab  *slab      // the store's, shared by every shard
	// big holds the index of each large swarm (see indexAbove).
	big map[[20]byte]map[PeerKey]uint32
	// snatched holds the peer_ids that completed each torrent, kept when
	// its swarm empties, for the swarm's "downloaded" count.
	snatched map[[20]byte]map[[20]byte]struct{}
	// Keep neighbouring shards off one cache line: a shard is 128 bytes
	// (TestMemoryShardSize); at 112 a lock shared its line with the next
	// shard's table, and parallel announces slowed each other down.
	_ [40]byte
}

var _ PeerStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store with shards rounded up to a power of
// two (256 when shards < 1).
func NewMemoryStore(shards int) *MemoryStore {
	if shards < 1 {
		shards = 256
	}
	n := 1 << bits.Len(uint(shards-1))
	s := &MemoryStore{shards: make([]memoryShard, n), mask: uint32(n - 1), slab: new(slab)}
	for i := range s.shards {
		s.shards[i].slab = s.slab
	}
	// The swarm tables and blocks live outside the Go heap: give them back
	// with the store (a test makes many).
	runtime.AddCleanup(s, (*slab).release, s.slab)
	return s
}

func (s *MemoryStore) shard(ih *[20]byte) *memoryShard {
	return &s.shards[binary.LittleEndian.Uint32(ih[:4])&s.mask]
}

// PutPeer implements PeerStore.
func (s *MemoryStore) PutPeer(_ context.Context, ih [20]byte, p Peer) error {
	sh := s.shard(&ih)
	sh.mu.Lock()
	sw := sh.load(&ih)
	sw.put(&p)
	sw.save()
	sh.mu.Unlock()
	return nil
}

// Announce implements PeerStore under one lock of the swarm's shard.
func (s *MemoryStore) Announce(_ context.Context, ih [20]byte, a *StoreAnnounce, dst []Peer) ([]Peer, AnnounceResult, error) {
	var res AnnounceResult
	if len(a.Self) == 0 || len(a.Self) > 2 {
		return dst, res, fmt.Errorf("memory store: announce with %d entries, want 1 or 2", len(a.Self))
	}
	sh := s.shard(&ih)
	sh.mu.Lock()
	sw := sh.load(&ih)
	dst = sw.announce(a, dst, &res)
	sw.save()
	sh.mu.Unlock()
	return dst, res, nil
}

// RemovePeer implements PeerStore.
func (s *MemoryStore) RemovePeer(_ context.Context, ih [20]byte, p Peer) error {
	sh := s.shard(&ih)
	sh.mu.Lock()
	if sw := sh.load(&ih); sw.slot >= 0 {
		sw.remove(p.Key())
		sw.save()
	}
	sh.mu.Unlock()
	return nil
}

// AppendPeers implements PeerStore.
func (s *MemoryStore) AppendPeers(_ context.Context, ih [20]byte, r Requester, n int, dst []Peer) ([]Peer, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	if sw := sh.load(&ih); sw.slot >= 0 {
		dst = sw.appendFor(dst, &r, n)
	}
	sh.mu.RUnlock()
	return dst, nil
}

// Counts implements PeerStore.
func (s *MemoryStore) Counts(_ context.Context, ih [20]byte) (SwarmCounts, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	sw := sh.load(&ih)
	c := sw.counts()
	sh.mu.RUnlock()
	return c, nil
}

// CountNetworks implements PeerStore.
func (s *MemoryStore) CountNetworks(_ context.Context, ih [20]byte) (PeersByNetwork, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	var c PeersByNetwork
	if sw := sh.load(&ih); sw.slot >= 0 {
		sw.countNetworks(&c)
	}
	sh.mu.RUnlock()
	return c, nil
}

// Totals implements PeerStore. It holds one shard's lock at a time.
func (s *MemoryStore) Totals(context.Context) (StoreTotals, error) {
	var t StoreTotals
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for i := range sh.table.mask + 1 {
			if sh.table.mem == nil || sh.table.handles(i) == [2]uint32{} {
				continue
			}
			sw := sh.load(new(sh.table.infohash(i)))
			c := sw.counts()
			t.Swarms++
			t.Seeders += c.Seeders
			t.Leechers += c.Leechers
		}
		sh.mu.RUnlock()
	}
	return t, nil
}

// Snatch implements PeerStore.
func (s *MemoryStore) Snatch(_ context.Context, ih [20]byte, peerID [20]byte) (bool, error) {
	sh := s.shard(&ih)
	sh.mu.Lock()
	first := sh.snatch(&ih, peerID)
	sh.mu.Unlock()
	return first, nil
}

// RemoveExpired implements PeerStore. It holds one shard's lock at a time.
func (s *MemoryStore) RemoveExpired(_ context.Context, cutoff uint32) (int, error) {
	removed := 0
	for i := range s.shards {
		removed += s.shards[i].removeExpired(cutoff)
	}
	return removed, nil
}

// removeExpired expires the shard's peers. A swarm dropped from slot i
// leaves i to the next one (backward shift), so i is looked at again; a
// swarm moved from the table's start to its end may be looked at twice,
// which finds nothing more to remove.
func (sh *memoryShard) removeExpired(cutoff uint32) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	removed := 0
	for i := 0; sh.table.mem != nil && i <= sh.table.mask; {
		if sh.table.handles(i) == [2]uint32{} {
			i++
			continue
		}
		sw := sh.load(new(sh.table.infohash(i)))
		removed += sw.expire(cutoff)
		sw.save()
		if sw.slot >= 0 {
			i++
		}
	}
	sh.table.shrink(sh.slab)
	return removed
}
