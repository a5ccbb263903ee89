package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
	"github.com/seedbed/seedbed/tracker"
)

// The benchmarks mirror tracker/bench_test.go (BenchmarkStorePut,
// BenchmarkStoreCollect) and run each on the memory store and on Redis in
// the same process, so their ratio is measured on one machine at one time:
//
//	go test -tags nosqlite,sqlite_fts5 -run '^$' -bench . -count 5 ./tracker/redisstore/
const (
	benchTorrents = 10_000
	benchPeers    = 10 // per torrent
	benchUsers    = 100
)

var benchInfoHashes = func() [][20]byte {
	ihs := make([][20]byte, benchTorrents)
	for i := range ihs {
		copy(ihs[i][:], fmt.Sprintf("%020d", i))
		ihs[i][0] = byte(i * 7)
	}
	return ihs
}()

var benchPasskeys = func() []string {
	keys := make([]string, benchUsers)
	for u := range keys {
		keys[u] = fmt.Sprintf("passkey%026d", u)
	}
	return keys
}()

var benchPeerIDs = func() [][20]byte {
	ids := make([][20]byte, benchPeers)
	for i := range ids {
		copy(ids[i][:], fmt.Sprintf("-SB0001-%012d", i))
	}
	return ids
}()

func benchPeerIP(torrent, peer int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(torrent >> 8), byte(torrent), byte(peer)})
}

func benchPeer(t, p int, now uint32) tracker.Peer {
	return tracker.NewPeer(benchPeerIDs[p], netip.AddrPortFrom(benchPeerIP(t, p), 51413), p%3 == 0, now)
}

// benchStores are the stores compared, each filled once per process with
// benchPeers peers in each of benchTorrents swarms: the benchmarks only
// refresh and read them, so b.N rounds can share them.
var benchStores = struct {
	sync.Mutex
	m map[string]tracker.PeerStore
}{m: map[string]tracker.PeerStore{}}

func filledStore(b *testing.B, kind string) tracker.PeerStore {
	benchStores.Lock()
	defer benchStores.Unlock()
	if s := benchStores.m[kind]; s != nil {
		return s
	}
	var s tracker.PeerStore = tracker.NewMemoryStore(0)
	if kind == "redis" {
		testenv.Need(b, "redis-server", "redis-server")
		url, err := testenv.RedisDB()
		if err != nil {
			b.Fatal(err)
		}
		// Kept open for the whole run: every round of every benchmark uses it.
		if s, err = Open(context.Background(), url, Options{Prefix: "bench:"}); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < benchTorrents; i += 16 {
				for p := range benchPeers {
					if err := s.PutPeer(context.Background(), benchInfoHashes[i], benchPeer(i, p, 1000)); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	benchStores.m[kind] = s
	return s
}

// benchParallelism is how many goroutines per CPU the parallel benchmarks
// run: a node serves many announces at once, and a network store needs
// requests in flight to keep busy while a memory store is bound by CPU.
const benchParallelism = 16

// forEachStore runs bench as sub-benchmarks "memory" and "redis".
func forEachStore(b *testing.B, bench func(b *testing.B, s tracker.PeerStore)) {
	for _, kind := range []string{"memory", "redis"} {
		b.Run(kind, func(b *testing.B) {
			s := filledStore(b, kind)
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			bench(b, s)
		})
	}
}

// BenchmarkStorePut refreshes existing peers, in parallel: the steady state
// of a tracker.
func BenchmarkStorePut(b *testing.B) {
	forEachStore(b, func(b *testing.B, s tracker.PeerStore) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				t, p := i%benchTorrents, i%benchPeers
				if err := s.PutPeer(ctx, benchInfoHashes[t], benchPeer(t, p, 2000)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkStoreCollect hands out 50 peers to a leecher, in parallel.
func BenchmarkStoreCollect(b *testing.B) {
	lan, err := tracker.NewLAN(tracker.LANConfig{SubnetBitsV4: 24, SubnetBitsV6: 64})
	if err != nil {
		b.Fatal(err)
	}
	me := lan.Requester([]tracker.Peer{tracker.NewPeer([20]byte{1}, netip.MustParseAddrPort("10.9.9.9:1"), false, 2000)})
	forEachStore(b, func(b *testing.B, s tracker.PeerStore) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			dst := make([]tracker.Peer, 0, 50)
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				var err error
				if dst, err = s.AppendPeers(ctx, benchInfoHashes[i%benchTorrents], me, 50, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkStoreCounts reads a swarm's counts, as every announce and scrape
// does.
func BenchmarkStoreCounts(b *testing.B) {
	forEachStore(b, func(b *testing.B, s tracker.PeerStore) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				if _, err := s.Counts(ctx, benchInfoHashes[i%benchTorrents]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkAnnounce is a whole re-announce through tracker.Announce (every
// store call an announce makes: put, peers, counts), in parallel: what a
// node serves per second with each store. BenchmarkAnnounceAccounting is
// the same with accounting on (baselines moved on every announce).
func BenchmarkAnnounce(b *testing.B) { benchAnnounce(b, nil) }

func BenchmarkAnnounceAccounting(b *testing.B) { benchAnnounce(b, discardSink{}) }

type discardSink struct{}

func (discardSink) Flush(context.Context, []tracker.StatDelta) error { return nil }

func benchAnnounce(b *testing.B, sink tracker.Sink) {
	forEachStore(b, func(b *testing.B, s tracker.PeerStore) {
		access := tracker.NewAccess()
		for u := range benchUsers {
			access.PutUser(benchPasskeys[u], tracker.User{ID: uint64(u + 1)})
		}
		for i := range benchTorrents {
			access.Allow(benchInfoHashes[i], uint64(i+1))
		}
		tr := tracker.New(tracker.Options{Logger: slog.New(slog.DiscardHandler)}, access, s, sink)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			var req tracker.AnnounceRequest
			var resp tracker.AnnounceResponse
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				t, p := i%benchTorrents, i%benchPeers
				req = tracker.AnnounceRequest{
					Passkey: benchPasskeys[p%benchUsers], InfoHash: benchInfoHashes[t], PeerID: benchPeerIDs[p],
					IP: benchPeerIP(t, p), Port: 51413, Left: int64(p % 3), NumWant: 50, Uploaded: int64(i),
				}
				if err := tr.Announce(ctx, &req, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkStoreAnnounce is the store's share of one re-announce: PutPeer,
// AppendPeers (50 peers) and Counts on each store, and on Redis also the
// single round trip of Store.Announce ("redis-onetrip").
func BenchmarkStoreAnnounce(b *testing.B) {
	lan, err := tracker.NewLAN(tracker.LANConfig{SubnetBitsV4: 24, SubnetBitsV6: 64})
	if err != nil {
		b.Fatal(err)
	}
	sequence := func(b *testing.B, s tracker.PeerStore) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			dst := make([]tracker.Peer, 0, 50)
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				t, p := i%benchTorrents, i%benchPeers
				self := benchPeer(t, p, 2000)
				ih := benchInfoHashes[t]
				r := lan.Requester([]tracker.Peer{self})
				var err error
				if err = s.PutPeer(ctx, ih, self); err == nil {
					if dst, err = s.AppendPeers(ctx, ih, r, 50, dst[:0]); err == nil {
						_, err = s.Counts(ctx, ih)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	forEachStore(b, sequence)
	b.Run("redis-onetrip", func(b *testing.B) {
		s := filledStore(b, "redis").(*Store)
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			dst := make([]tracker.Peer, 0, 50)
			self := make([]tracker.Peer, 1)
			for i := rand.IntN(benchTorrents); pb.Next(); i++ {
				t, p := i%benchTorrents, i%benchPeers
				self[0] = benchPeer(t, p, 2000)
				var err error
				a := tracker.StoreAnnounce{Self: self, Owner: uint64(p%benchUsers + 1), Base: tracker.Baseline{Uploaded: int64(i), Seen: 2000},
					Requester: lan.Requester(self), NumWant: 50}
				if dst, _, err = s.Announce(ctx, benchInfoHashes[t], &a, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
