package tracker

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkMemoryPerPeer fills 1,000,000 peers into 100,000 torrents, as
// bench/tracker.sh does over UDP, with passkeys and accounting on, and
// reports the live heap per peer (B/peer): the peer store with its
// accounting baselines; and the growth of the process's RSS per peer
// (RSS-B/peer), which adds the garbage collector's headroom, as
// bench/tracker.sh measures it on the running binary (there over UDP).
//
// The accounting deltas are flushed as a running tracker flushes them: a
// tracker holding N peers, each announcing once per Interval, flushes every
// FlushInterval, so N*FlushInterval/Interval announces apart (2,778 with the
// defaults). That is the steady state. SEEDBED_BENCH_NOFLUSH=1 never
// flushes, as if the whole fill came within one flush interval: the
// transient peak of every peer announcing at once.
func BenchmarkMemoryPerPeer(b *testing.B) {
	const torrents, peers, users = 100_000, 1_000_000, 1000
	for range b.N {
		b.StopTimer()
		access := NewAccess()
		for u := range users {
			access.PutUser(fmt.Sprintf("passkey%026d", u), User{ID: uint64(u + 1)})
		}
		ihs := make([][20]byte, torrents)
		for i := range ihs {
			binary.BigEndian.PutUint64(ihs[i][:], uint64(i)*0x9e3779b97f4a7c15)
			binary.BigEndian.PutUint64(ihs[i][8:], uint64(i))
			access.Allow(ihs[i], uint64(i+1))
		}
		passkeys := make([]string, users)
		for u := range passkeys {
			passkeys[u] = fmt.Sprintf("passkey%026d", u)
		}
		store := NewMemoryStore(64)
		tr := New(Options{Logger: slog.New(slog.DiscardHandler), AnnounceRate: 1e9, AnnounceBurst: 1e9,
			EnforceMinInterval: true}, access, store, benchSink())
		torrentOf := func(i int) int { return i % torrents } // 10 peers each
		if os.Getenv("SEEDBED_BENCH_SKEW") != "" {
			// Swarm sizes spread as on a real tracker: torrent t gets
			// peers in proportion to 1/sqrt(t+1), from about 3,000 in the
			// hottest to a few or none in the coldest.
			torrentOf = func(i int) int {
				u := float64(uint64(i)*0x9e3779b97f4a7c15>>11) / (1 << 53)
				return min(int(u*u*torrents), torrents-1)
			}
		}
		flushEvery := 0
		if tr.ledger != nil && os.Getenv("SEEDBED_BENCH_NOFLUSH") == "" {
			flushEvery = int(int64(peers) * int64(tr.opts.FlushInterval) / int64(tr.opts.Interval))
		}
		before, rssBefore := liveHeap(), rss(b)
		heapBefore := heapHeld()
		b.StartTimer()
		var resp AnnounceResponse
		for i := range peers {
			if flushEvery > 0 && i%flushEvery == flushEvery-1 {
				if err := tr.flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			req := AnnounceRequest{
				Passkey: passkeys[i%users], InfoHash: ihs[torrentOf(i)], PeerID: testPeerID(i),
				IP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: uint16(1024 + i/torrents), Left: int64(i % 4),
				NumWant: 0, Event: EventStarted,
			}
			if err := tr.Announce(context.Background(), &req, &resp); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		rssAfter := rss(b)
		heapAfter := heapHeld()
		after := liveHeap()
		b.ReportMetric(float64(int64(after)-int64(before))/peers, "B/peer")
		b.ReportMetric(float64(rssAfter-rssBefore)/peers, "RSS-B/peer")
		b.ReportMetric(float64(store.slab.mapped())/peers, "slab-B/peer")
		b.ReportMetric(float64(int64(heapAfter)-int64(heapBefore))/peers, "heapheld-B/peer")
		runtime.KeepAlive(tr)
		b.StartTimer()
	}
}

// rss is the process's resident set (VmRSS of /proc/self/status), or 0
// where there is none.
func rss(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	return 0
}

// heapHeld is the memory the Go heap holds from the system: its spans,
// in use or idle, less what it gave back (runtime/metrics' view of the
// heap's share of RSS, read without a collection).
func heapHeld() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapSys - m.HeapReleased
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchSink is discardSink, or none (no accounting) with SEEDBED_BENCH_NOACCT
// set, to tell the ledger's share from the store's.
func benchSink() Sink {
	if os.Getenv("SEEDBED_BENCH_NOACCT") != "" {
		return nil
	}
	return discardSink{}
}
