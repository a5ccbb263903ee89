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
// never a copy: its swarm lists are given back to the system when that
// pointer is unreachable. It never fails; its methods return a nil error but
// for an Announce with no entries or more than two.
type MemoryStore struct {
	shards []memoryShard
	mask   uint32
	slab   *slab // the swarms' lists
}

type memoryShard struct {
	mu     sync.RWMutex
	swarms map[[20]byte]*swarm
	_      [32]byte // keep neighbouring locks off one cache line
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
		s.shards[i].swarms = make(map[[20]byte]*swarm)
	}
	// The swarm lists live outside the Go heap: give them back with the
	// store (a test makes many).
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
	sw := sh.swarms[ih]
	if sw == nil {
		sw = newSwarm(s.slab)
		sh.swarms[ih] = sw
	}
	sw.put(p)
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
	sw := sh.swarms[ih]
	if sw == nil {
		sw = newSwarm(s.slab)
		sh.swarms[ih] = sw
	}
	dst = sw.announce(a, dst, &res)
	sh.dropIfUnused(ih, sw)
	sh.mu.Unlock()
	return dst, res, nil
}

// RemovePeer implements PeerStore.
func (s *MemoryStore) RemovePeer(_ context.Context, ih [20]byte, p Peer) error {
	sh := s.shard(&ih)
	sh.mu.Lock()
	if sw := sh.swarms[ih]; sw != nil {
		sw.remove(p.Key())
		sh.dropIfUnused(ih, sw)
	}
	sh.mu.Unlock()
	return nil
}

// AppendPeers implements PeerStore.
func (s *MemoryStore) AppendPeers(_ context.Context, ih [20]byte, r Requester, n int, dst []Peer) ([]Peer, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	if sw := sh.swarms[ih]; sw != nil {
		dst = sw.appendFor(dst, &r, n)
	}
	sh.mu.RUnlock()
	return dst, nil
}

// Counts implements PeerStore.
func (s *MemoryStore) Counts(_ context.Context, ih [20]byte) (SwarmCounts, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	var c SwarmCounts
	if sw := sh.swarms[ih]; sw != nil {
		c = sw.counts()
	}
	sh.mu.RUnlock()
	return c, nil
}

// CountNetworks implements PeerStore.
func (s *MemoryStore) CountNetworks(_ context.Context, ih [20]byte) (PeersByNetwork, error) {
	sh := s.shard(&ih)
	sh.mu.RLock()
	var c PeersByNetwork
	if sw := sh.swarms[ih]; sw != nil {
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
		for _, sw := range sh.swarms {
			if c := sw.counts(); c.Seeders+c.Leechers > 0 {
				t.Swarms++
				t.Seeders += c.Seeders
				t.Leechers += c.Leechers
			}
		}
		sh.mu.RUnlock()
	}
	return t, nil
}

// Snatch implements PeerStore.
func (s *MemoryStore) Snatch(_ context.Context, ih [20]byte, peerID [20]byte) (bool, error) {
	sh := s.shard(&ih)
	sh.mu.Lock()
	sw := sh.swarms[ih]
	if sw == nil {
		sw = newSwarm(s.slab)
		sh.swarms[ih] = sw
	}
	first := sw.snatch(peerID)
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

func (sh *memoryShard) removeExpired(cutoff uint32) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	removed := 0
	for ih, sw := range sh.swarms {
		removed += sw.expire(cutoff)
		sh.dropIfUnused(ih, sw)
	}
	return removed
}

// dropIfUnused forgets an empty swarm, unless it holds snatches, which are
// kept for the swarm's "downloaded" count.
func (sh *memoryShard) dropIfUnused(ih [20]byte, sw *swarm) {
	if sw.len() > 0 {
		return
	}
	sw.release()
	if len(sw.snatched) == 0 {
		delete(sh.swarms, ih)
	}
}
