package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const (
	benchTorrents = 10_000
	benchPeers    = 10 // per torrent
	benchUsers    = 100
)

type discardSink struct{}

func (discardSink) Flush(context.Context, []StatDelta) error { return nil }

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var benchInfoHashes = func() [][20]byte {
	ihs := make([][20]byte, benchTorrents)
	for i := range ihs {
		copy(ihs[i][:], fmt.Sprintf("%020d", i))
		ihs[i][0] = byte(i * 7) // spread over shards
	}
	return ihs
}()

func benchInfoHash(i int) [20]byte { return benchInfoHashes[i] }

var benchPeerIDs = func() [][20]byte {
	ids := make([][20]byte, benchPeers)
	for i := range ids {
		ids[i] = testPeerID(i)
	}
	return ids
}()

func benchPeerIP(torrent, peer int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(torrent >> 8), byte(torrent), byte(peer)})
}

// benchTracker returns a tracker with 10k torrents of 10 peers each (3
// seeders), every peer already announced once.
func benchTracker(b *testing.B) *Tracker { return benchTrackerWith(b, Options{}) }

func benchTrackerWith(b *testing.B, opts Options) *Tracker {
	access := NewAccess()
	for u := range benchUsers {
		access.PutUser(fmt.Sprintf("passkey%026d", u), User{ID: uint64(u + 1)})
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	tr := New(opts, access, NewMemoryStore(0), discardSink{})
	var resp AnnounceResponse
	for i := range benchTorrents {
		access.Allow(benchInfoHash(i), uint64(i+1))
		for p := range benchPeers {
			req := AnnounceRequest{
				Passkey: fmt.Sprintf("passkey%026d", p%benchUsers), InfoHash: benchInfoHash(i), PeerID: testPeerID(p),
				IP: benchPeerIP(i, p), Port: 51413, Left: int64(p % 3), NumWant: -1, Event: EventStarted,
			}
			if err := tr.Announce(context.Background(), &req, &resp); err != nil {
				b.Fatal(err)
			}
		}
	}
	return tr
}

// benchRequest is a regular re-announce of qBittorrent (libtorrent).
func benchRequest(torrent, peer int) *http.Request {
	ih, id := benchInfoHash(torrent), testPeerID(peer)
	q := "info_hash=" + url.QueryEscape(string(ih[:])) + "&peer_id=" + url.QueryEscape(string(id[:])) +
		"&port=51413&uploaded=" + strconv.Itoa(peer*1000) + "&downloaded=" + strconv.Itoa(peer*500) +
		"&left=" + strconv.Itoa(peer%3) + "&corrupt=0&key=7C2D3F1A&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0"
	r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/announce/passkey%026d?%s", peer%benchUsers, q), nil)
	r.RemoteAddr = netip.AddrPortFrom(benchPeerIP(torrent, peer), 40000).String()
	return r
}

func BenchmarkAnnounceHTTP(b *testing.B) {
	benchAnnounceHTTP(b, Options{})
}

// BenchmarkAnnounceHTTPCampus is BenchmarkAnnounceHTTP with every policy on:
// a campus of 63 named networks (the requesters are in them), a client
// allow-list, a (never reached) rate limit and min interval enforcement.
func BenchmarkAnnounceHTTPCampus(b *testing.B) {
	cfg := LANConfig{Campus: prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")}
	for i := range MaxNetworks {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i * 4), 0, 0}), 14)
		cfg.Networks = append(cfg.Networks, Network{Name: fmt.Sprint("net", i), Prefixes: []netip.Prefix{p}})
	}
	benchAnnounceHTTP(b, Options{
		LAN: mustLAN(cfg), AllowedClients: []string{"-qB", "-TR", "-lt", "A2-", "-DE", "-UT", "-SB"},
		AnnounceRate: 1e9, AnnounceBurst: 1e9, EnforceMinInterval: true,
	})
}

func benchAnnounceHTTP(b *testing.B, opts Options) {
	tr := benchTrackerWith(b, opts)
	reqs := make([]*http.Request, 8192)
	for i := range reqs {
		reqs[i] = benchRequest(rand.IntN(benchTorrents), rand.IntN(benchPeers))
	}
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, reqs[0])
	if strings.Contains(w.Body.String(), "failure") {
		b.Fatalf("reply %q", w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for i := rand.IntN(len(reqs)); pb.Next(); i++ {
			tr.ServeHTTP(w, reqs[i%len(reqs)])
		}
	})
}

func BenchmarkParseAnnounce(b *testing.B) {
	var req AnnounceRequest
	b.ReportAllocs()
	for b.Loop() {
		req.reset()
		if err := parseAnnounce(qbQuery, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStorePut(b *testing.B) {
	benchStorePut(b, func() PeerStore { return NewMemoryStore(0) })
}

func BenchmarkStoreCollect(b *testing.B) {
	benchStoreCollect(b, func() PeerStore { return NewMemoryStore(0) })
}

// filledStore returns a store holding benchPeers peers in each of
// benchTorrents swarms.
func filledStore(b *testing.B, newStore func() PeerStore) PeerStore {
	s := newStore()
	for i := range benchTorrents {
		for p := range benchPeers {
			peer := NewPeer(testPeerID(p), netip.AddrPortFrom(benchPeerIP(i, p), 51413), p%3 == 0, 1000)
			if err := s.PutPeer(context.Background(), benchInfoHash(i), peer); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// benchStorePut refreshes existing peers, in parallel: the steady state of
// a tracker.
func benchStorePut(b *testing.B, newStore func() PeerStore) {
	s := filledStore(b, newStore)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for i := rand.IntN(benchTorrents); pb.Next(); i++ {
			t, p := i%benchTorrents, i%benchPeers
			peer := NewPeer(benchPeerIDs[p], netip.AddrPortFrom(benchPeerIP(t, p), 51413), p%3 == 0, 2000)
			if err := s.PutPeer(ctx, benchInfoHash(t), peer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchStoreCollect hands out 50 peers to a leecher, in parallel.
func benchStoreCollect(b *testing.B, newStore func() PeerStore) {
	s := filledStore(b, newStore)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		dst := make([]Peer, 0, 50)
		me := defaultLAN().Requester([]Peer{NewPeer(testPeerID(999), netip.MustParseAddrPort("10.9.9.9:1"), false, 2000)})
		for i := rand.IntN(benchTorrents); pb.Next(); i++ {
			var err error
			if dst, err = s.AppendPeers(ctx, benchInfoHash(i%benchTorrents), me, 50, dst[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
