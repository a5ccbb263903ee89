// Package redisstore is a tracker.PeerStore on Redis: several Seedbed nodes
// sharing one Redis answer announces for the same swarms, and a peer that
// announced to one node is in every node's replies at once.
//
// # Key layout
//
// Every key begins with a configurable prefix P (default "seedbed:"):
//
//	P sw:<infohash hex>:s  hash: the swarm's seeders, field -> record
//	P sw:<infohash hex>:l  hash: the swarm's leechers, field -> record
//	P sw:<infohash hex>:c  set: the peer_ids that completed it (snatches)
//	P sw:<infohash hex>:b  hash: accounting baselines, peer_id -> baseline
//	P expiry               sorted set: every peer; member infohash+field, score LastSeen
//	P totals               hash: swarms, seeders, leechers over the whole store
//
// A field is the peer's tracker.PeerKey: its 20-byte peer_id and '4' or '6'
// for its address family. A record is the 43 bytes the tracker hands out or
// ranks by: peer_id, address (16 bytes, IPv4 mapped), port, class and
// LastSeen (big-endian); the hash it is in tells whether the peer seeds.
// Redis drops a hash when its last field goes, so an empty swarm costs
// nothing but its snatch set, which is kept for the "downloaded" count.
//
// # Consistency
//
// Announce, PutPeer, RemovePeer and RemoveExpired are Lua scripts
// (EVALSHA): each moves a peer between the two hashes, updates the expiry
// index, the totals and the baseline in one atomic step, so the counts and
// the accounting are exact however many nodes write at once. An announce
// is one round trip (Store.Announce): the script puts the requester, moves
// its baseline, counts a snatch and returns each list as a single string of
// records plus the swarm's counts and the old baseline; the peers are
// ranked in Go with the memory store's own code (tracker.RankPeers), so
// every node ranks alike. AppendPeers fetches the swarm the same way, and a
// Counts right after it is answered from the counts fetched (see
// countsCache). A large swarm's lists, once fetched, serve a node's
// announces for half a second (see Options.LargeSwarm) instead of being
// moved out of Redis again.
//
// Every node may run RemoveExpired with its own clock's cutoff: each batch
// is atomic, so concurrent runs only share the work. LastSeen comes from
// the tracker as for every store; the Redis store reads the clock only to
// age its own caches (countsCache, snapshots).
//
// The accounting baselines (tracker.Baseline) live in the swarm's
// baselines hash, one per peer_id, "owner uploaded downloaded seen seeder"
// in decimal: every node moves the same baseline, so a client announcing to
// node 1 and then to node 2 is credited exactly once. A baseline goes when
// its peer_id has no entry left in the swarm (stopped, removed, expired).
//
// RemoveExpired derives swarm keys from the expiry index inside a script,
// which a Redis Cluster does not allow: use one Redis primary (with
// replicas or Sentinel for availability), not a cluster. Without Redis
// persistence a Redis restart forgets every swarm; peers come back with
// their next announce.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
)

// DefaultPrefix begins every key when Options.Prefix is empty.
const DefaultPrefix = "seedbed:"

// expireBatch is how many expired peers one script run removes: a bounded
// pause of Redis per run.
const expireBatch = 1000

// maxPooledPeers bounds the decoding buffers kept between calls.
const maxPooledPeers = 8192

// Options configure a Store.
type Options struct {
	// Prefix begins every key; default DefaultPrefix. Nodes that share
	// swarms use the same prefix; separate installations sharing one
	// Redis use different ones.
	Prefix string
	// LargeSwarm is the number of peers from which a swarm's lists, once
	// fetched, serve this node's AppendPeers for SnapshotTTL without
	// fetching them again; default DefaultLargeSwarm, negative: never.
	// SnapshotTTL defaults to DefaultSnapshotTTL; keep it well below a
	// second, the time in which every node must see a new peer.
	LargeSwarm  int
	SnapshotTTL time.Duration
}

// Store is a tracker.PeerStore on Redis. It is safe for concurrent use.
type Store struct {
	client      redis.UniversalClient
	own         bool // Close closes the client
	prefix      string
	swarmPrefix string
	expiryKey   string
	totalsKey   string
	expiryArg   any // expiryKey and totalsKey boxed once, for Announce
	totalsArg   any
	lists       sync.Pool // *peerLists
	args        sync.Pool // *announceArgs
	counts      countsCache
	snaps       snapshots
}

var _ tracker.PeerStore = (*Store)(nil)

// peerLists are the decoding buffers of one AppendPeers call.
type peerLists struct{ seeders, leechers []tracker.Peer }

// Open connects to the Redis at url ("redis://[user:password@]host:port/db",
// "rediss://…" for TLS, "unix:///path?db=N"; go-redis's query options such
// as dial_timeout, max_retries and pool_size apply), checks that it answers
// and returns a Store that owns the connection: Close closes it.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: redis url: %w", err)
	}
	// An announce fails fast while Redis is down (the client retries at
	// its next announce) rather than waiting through go-redis's five
	// dial attempts per command retry.
	o.DialerRetries = 1
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redisstore: connect to redis at %s: %w", o.Addr, err)
	}
	s := New(c, opts)
	s.own = true
	if err := s.loadScripts(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on client, which the caller keeps and closes.
func New(client redis.UniversalClient, opts Options) *Store {
	p := opts.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	large := opts.LargeSwarm
	if large == 0 {
		large = DefaultLargeSwarm
	}
	ttl := opts.SnapshotTTL
	if ttl <= 0 {
		ttl = DefaultSnapshotTTL
	}
	s := &Store{
		client: client, prefix: p, swarmPrefix: p + "sw:",
		expiryKey: p + "expiry", totalsKey: p + "totals",
		snaps: snapshots{large: large, ttl: ttl},
	}
	s.expiryArg, s.totalsArg = s.expiryKey, s.totalsKey
	return s
}

// loadScripts loads the Lua scripts into Redis's script cache, so the first
// announces need no fallback to EVAL and a Redis without scripting fails
// at start. After a Redis restart go-redis loads them again by itself.
func (s *Store) loadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{putScript, removeScript, expireScript, fetchScript, countsScript, announceScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			return fmt.Errorf("redisstore: load lua script: %w", err)
		}
	}
	return nil
}

// Close closes the connection if Open made it.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	return s.client.Close()
}

// Prefix is the prefix of every key of the store.
func (s *Store) Prefix() string { return s.prefix }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// PutPeer implements tracker.PeerStore.
func (s *Store) PutPeer(ctx context.Context, ih [20]byte, p tracker.Peer) error {
	k := s.keys(&ih)
	f := field(&p)
	m := member(&ih, &f)
	rec := encodeRecord(&p)
	defer s.counts.invalidate(&ih)
	err := putScript.Run(ctx, s.client, []string{k.seeders, k.leechers, s.expiryKey, s.totalsKey},
		string(f[:]), string(rec[:]), flag(p.Seeder), int64(p.LastSeen), string(m[:])).Err()
	if err != nil {
		return fmt.Errorf("redisstore: put peer: %w", err)
	}
	return nil
}

// RemovePeer implements tracker.PeerStore.
func (s *Store) RemovePeer(ctx context.Context, ih [20]byte, p tracker.Peer) error {
	k := s.keys(&ih)
	f := field(&p)
	m := member(&ih, &f)
	defer s.counts.invalidate(&ih)
	err := removeScript.Run(ctx, s.client, []string{k.seeders, k.leechers, s.expiryKey, s.totalsKey, k.baselines},
		string(f[:]), string(m[:])).Err()
	if err != nil {
		return fmt.Errorf("redisstore: remove peer: %w", err)
	}
	return nil
}

// AppendPeers implements tracker.PeerStore: it fetches the lists r may get
// in one round trip, or takes them from a fresh snapshot of a large swarm,
// and ranks them with tracker.RankPeers.
func (s *Store) AppendPeers(ctx context.Context, ih [20]byte, r tracker.Requester, n int, dst []tracker.Peer) ([]tracker.Peer, error) {
	if n <= 0 {
		return dst, nil
	}
	if sn := s.snaps.get(&ih); sn != nil {
		return tracker.RankPeers(dst, &r, n, sn.seeders, sn.leechers), nil
	}
	l, _ := s.lists.Get().(*peerLists)
	if l == nil {
		l = new(peerLists)
	}
	defer s.putLists(l)
	gen := s.counts.generation(&ih)
	c, err := s.fetch(ctx, &ih, r.Seeder, l)
	if err != nil {
		return dst, err
	}
	s.counts.put(&ih, c, gen)
	if !r.Seeder {
		s.snaps.offer(&ih, l)
	}
	return tracker.RankPeers(dst, &r, n, l.seeders, l.leechers), nil
}

func (s *Store) putLists(l *peerLists) {
	if cap(l.seeders) > maxPooledPeers || cap(l.leechers) > maxPooledPeers {
		return
	}
	l.seeders, l.leechers = l.seeders[:0], l.leechers[:0]
	s.lists.Put(l)
}

// fetch reads the swarm's lists into l, its leechers only when
// leechersOnly, and returns the swarm's counts.
func (s *Store) fetch(ctx context.Context, ih *[20]byte, leechersOnly bool, l *peerLists) (tracker.SwarmCounts, error) {
	k := s.keys(ih)
	res, err := fetchScript.Run(ctx, s.client, []string{k.seeders, k.leechers, k.snatches}, flag(leechersOnly)).Slice()
	if err != nil {
		return tracker.SwarmCounts{}, fmt.Errorf("redisstore: fetch swarm: %w", err)
	}
	if len(res) != 4 {
		return tracker.SwarmCounts{}, fmt.Errorf("redisstore: fetch swarm: unexpected reply of %d elements", len(res))
	}
	seeding, _ := res[0].(string)
	leeching, _ := res[1].(string)
	seeders, _ := res[2].(int64)
	snatches, _ := res[3].(int64)
	if l.seeders, err = decodeRecords(l.seeders[:0], seeding, true); err == nil {
		l.leechers, err = decodeRecords(l.leechers[:0], leeching, false)
	}
	if err != nil {
		return tracker.SwarmCounts{}, fmt.Errorf("redisstore: fetch swarm: %w", err)
	}
	return tracker.SwarmCounts{Seeders: int(seeders), Leechers: len(l.leechers), Completed: int(snatches)}, nil
}

// Counts implements tracker.PeerStore. Right after an AppendPeers of the
// same swarm it answers with the counts fetched with the peers (see
// countsCache), without a round trip.
func (s *Store) Counts(ctx context.Context, ih [20]byte) (tracker.SwarmCounts, error) {
	if c, ok := s.counts.take(&ih); ok {
		return c, nil
	}
	k := s.keys(&ih)
	n, err := countsScript.Run(ctx, s.client, []string{k.seeders, k.leechers, k.snatches}).Int64Slice()
	if err == nil && len(n) != 3 {
		err = errors.New("unexpected reply")
	}
	if err != nil {
		return tracker.SwarmCounts{}, fmt.Errorf("redisstore: swarm counts: %w", err)
	}
	return tracker.SwarmCounts{Seeders: int(n[0]), Leechers: int(n[1]), Completed: int(n[2])}, nil
}

// CountNetworks implements tracker.PeerStore.
func (s *Store) CountNetworks(ctx context.Context, ih [20]byte) (tracker.PeersByNetwork, error) {
	var c tracker.PeersByNetwork
	var l peerLists
	if _, err := s.fetch(ctx, &ih, false, &l); err != nil {
		return c, err
	}
	for _, list := range [][]tracker.Peer{l.seeders, l.leechers} {
		for i := range list {
			c[list[i].Class.Network()]++
		}
	}
	return c, nil
}

// Totals implements tracker.PeerStore from the counters the scripts keep.
func (s *Store) Totals(ctx context.Context) (tracker.StoreTotals, error) {
	vals, err := s.client.HMGet(ctx, s.totalsKey, "swarms", "seeders", "leechers").Result()
	if err != nil {
		return tracker.StoreTotals{}, fmt.Errorf("redisstore: totals: %w", err)
	}
	var n [3]int
	for i, v := range vals {
		str, _ := v.(string)
		if str == "" {
			continue
		}
		if n[i], err = strconv.Atoi(str); err != nil {
			return tracker.StoreTotals{}, fmt.Errorf("redisstore: totals: %w", err)
		}
	}
	return tracker.StoreTotals{Swarms: n[0], Seeders: n[1], Leechers: n[2]}, nil
}

// Snatch implements tracker.PeerStore.
func (s *Store) Snatch(ctx context.Context, ih [20]byte, peerID [20]byte) (bool, error) {
	defer s.counts.invalidate(&ih)
	added, err := s.client.SAdd(ctx, s.keys(&ih).snatches, peerID[:]).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: snatch: %w", err)
	}
	return added == 1, nil
}

// RemoveExpired implements tracker.PeerStore, in batches of expireBatch
// peers: Redis serves other clients between batches.
func (s *Store) RemoveExpired(ctx context.Context, cutoff uint32) (int, error) {
	defer s.counts.invalidateAll()
	removed := 0
	for {
		res, err := expireScript.Run(ctx, s.client, []string{s.expiryKey, s.totalsKey},
			int64(cutoff), expireBatch, s.swarmPrefix).Int64Slice()
		if err == nil && len(res) != 2 {
			err = errors.New("unexpected reply")
		}
		if err != nil {
			return removed, fmt.Errorf("redisstore: remove expired peers: %w", err)
		}
		removed += int(res[0])
		if res[1] < expireBatch {
			return removed, nil
		}
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
