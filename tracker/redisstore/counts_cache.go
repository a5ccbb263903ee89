package redisstore

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/seedbed/seedbed/tracker"
)

// countsMaxAge bounds how old a remembered count may be when Counts uses
// it: far below the one second in which every node must see another's
// peers.
const countsMaxAge = 200 * time.Millisecond

// countsShardEntries bounds each shard's map: entries are normally taken
// by the Counts that follows an AppendPeers within microseconds.
const countsShardEntries = 1024

// countsCache remembers the counts an AppendPeers fetched with the swarm
// for the Counts the tracker asks for next in the same announce, saving
// that round trip. An entry is used once, only while it is younger than
// countsMaxAge, and only if no write of this store to its shard of swarms
// completed since the fetch began: every write bumps the shard's
// generation when it is done, so a fetch that may have missed it is never
// used after it. A node so always sees its own writes in its counts, and
// another node's within countsMaxAge.
type countsCache struct {
	shards [64]countsShard
}

type countsShard struct {
	mu  sync.Mutex
	gen uint64
	m   map[[20]byte]cachedCounts
	_   [24]byte // keep neighbouring locks off one cache line
}

type cachedCounts struct {
	c   tracker.SwarmCounts
	gen uint64
	at  time.Time
}

func (cc *countsCache) shard(ih *[20]byte) *countsShard {
	return &cc.shards[binary.LittleEndian.Uint32(ih[16:])%uint32(len(cc.shards))]
}

// generation returns the shard's generation before a fetch of ih.
func (cc *countsCache) generation(ih *[20]byte) uint64 {
	sh := cc.shard(ih)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.gen
}

// invalidate is called when a write of this store to the swarm ih is done
// (or failed: it may have been applied).
func (cc *countsCache) invalidate(ih *[20]byte) {
	sh := cc.shard(ih)
	sh.mu.Lock()
	sh.gen++
	delete(sh.m, *ih)
	sh.mu.Unlock()
}

// invalidateAll is invalidate for a write that may touch any swarm.
func (cc *countsCache) invalidateAll() {
	for i := range cc.shards {
		sh := &cc.shards[i]
		sh.mu.Lock()
		sh.gen++
		clear(sh.m)
		sh.mu.Unlock()
	}
}

// put remembers c, fetched for ih by a fetch that began at generation gen.
func (cc *countsCache) put(ih *[20]byte, c tracker.SwarmCounts, gen uint64) {
	sh := cc.shard(ih)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen != gen {
		return
	}
	if sh.m == nil || len(sh.m) >= countsShardEntries {
		sh.m = make(map[[20]byte]cachedCounts)
	}
	sh.m[*ih] = cachedCounts{c: c, gen: gen, at: time.Now()}
}

// take returns and forgets the remembered counts of ih, if still good.
func (cc *countsCache) take(ih *[20]byte) (tracker.SwarmCounts, bool) {
	sh := cc.shard(ih)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[*ih]
	if !ok {
		return tracker.SwarmCounts{}, false
	}
	delete(sh.m, *ih)
	if e.gen != sh.gen || time.Since(e.at) > countsMaxAge {
		return tracker.SwarmCounts{}, false
	}
	return e.c, true
}
