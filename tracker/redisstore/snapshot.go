package redisstore

import (
	"slices"
	"sync"
	"time"

	"github.com/seedbed/seedbed/tracker"
)

// Defaults of Options.LargeSwarm and Options.SnapshotTTL.
const (
	DefaultLargeSwarm  = 1000
	DefaultSnapshotTTL = 500 * time.Millisecond
)

// maxSnapshots bounds how many large swarms a store keeps snapshots of.
const maxSnapshots = 256

// snapshots keep the fetched lists of large swarms for a short while: an
// announce to a swarm of thousands of peers is then ranked from memory
// instead of moving every record out of Redis again. A snapshot is at most
// ttl old, well within the second in which a peer announced to one node
// must show on all of them.
type snapshots struct {
	large int // peers from which a swarm is snapshotted; <= 0: never
	ttl   time.Duration
	mu    sync.RWMutex
	m     map[[20]byte]*snapshot
}

// snapshot is a read-only copy of a swarm's lists, shared by every
// AppendPeers that uses it.
type snapshot struct {
	seeders, leechers []tracker.Peer
	at                time.Time
}

// get returns the snapshot of ih if there is a fresh one.
func (ss *snapshots) get(ih *[20]byte) *snapshot {
	if ss.large <= 0 {
		return nil
	}
	ss.mu.RLock()
	sn := ss.m[*ih]
	ss.mu.RUnlock()
	if sn == nil || time.Since(sn.at) > ss.ttl {
		return nil
	}
	return sn
}

// offer keeps a copy of the swarm's lists when the swarm is large.
func (ss *snapshots) offer(ih *[20]byte, l *peerLists) {
	if ss.large <= 0 || len(l.seeders)+len(l.leechers) < ss.large {
		return
	}
	sn := &snapshot{seeders: slices.Clone(l.seeders), leechers: slices.Clone(l.leechers), at: time.Now()}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSnapshots {
		for k, old := range ss.m {
			if time.Since(old.at) > ss.ttl {
				delete(ss.m, k)
			}
		}
	}
	if ss.m == nil || len(ss.m) >= maxSnapshots {
		ss.m = make(map[[20]byte]*snapshot)
	}
	ss.m[*ih] = sn
}
