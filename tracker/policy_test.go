package tracker

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// withPeerID is the extra parameter that replaces an ann's peer_id.
func withPeerID(id string) string {
	var b [20]byte
	copy(b[:], id)
	return "peer_id=" + url.QueryEscape(string(b[:]))
}

func TestAllowedClients(t *testing.T) {
	h := newHarness(t, Options{AllowedClients: []string{"-qB", "-TR", "A2-"}})
	for _, id := range []string{"-qB4650-abcdefghijkl", "-TR3000-abcdefghijkl", "A2-1-35-0-abcdefghij"} {
		h.announce(t, ann{peer: 1, extra: withPeerID(id)})
	}
	tests := map[string]string{
		"-XL0012-abcdefghijkl":      "client not allowed on this tracker: Xunlei (-XL0012-)",
		"-qb4650-abcdefghijkl":      "client not allowed on this tracker: unknown client -qb4650-",
		"M7-2-0--abcdefghijkl":      "client not allowed on this tracker: unknown client M7-2-0--",
		"\x00\x01abcdefghijklmnopq": "client not allowed on this tracker: unknown client ??abcdef",
		"-SB0001-000000000001":      "client not allowed on this tracker: unknown client -SB0001-",
	}
	for id, want := range tests {
		if got := h.failure(t, ann{peer: 1, extra: withPeerID(id)}.path(), "10.0.0.1:1"); got != want {
			t.Errorf("%q: %q, want %q", id, got, want)
		}
	}
	open := newHarness(t, Options{})
	open.announce(t, ann{peer: 1, extra: withPeerID("-XL0012-abcdefghijkl")})
}

func TestAnnounceRateLimit(t *testing.T) {
	h := newHarness(t, Options{AnnounceRate: 1, AnnounceBurst: 3})
	for i := range 3 {
		h.announce(t, ann{peer: i})
	}
	if got := h.failure(t, ann{peer: 9}.path(), "10.0.0.9:1"); got != string(errRateLimited) {
		t.Fatalf("4th announce in a second: %q, want the rate limit", got)
	}
	h.announce(t, ann{passkey: "bob", peer: 10}) // another passkey has its own bucket
	for i := range 20 {
		h.announce(t, ann{passkey: "box", peer: 99, ih: [][20]byte{ihOne, ihTwo}[i%2]}) // seedboxes are never limited
	}
	h.advance(time.Second)
	h.announce(t, ann{peer: 1})
	if got := h.failure(t, ann{peer: 1}.path(), "10.0.0.1:1"); got != string(errRateLimited) {
		t.Errorf("second announce after a one-token refill: %q", got)
	}
	h.advance(time.Hour)
	h.tr.collectGarbage(t.Context())
	buckets := 0
	for i := range h.tr.limiter.shards {
		buckets += len(h.tr.limiter.shards[i].buckets)
	}
	if buckets != 0 {
		t.Errorf("%d full buckets kept after garbage collection", buckets)
	}
	for i := range 3 {
		h.announce(t, ann{peer: i}) // a forgotten bucket starts full
	}
}

func TestRateLimitOffByDefault(t *testing.T) {
	h := newHarness(t, Options{})
	if h.tr.limiter != nil {
		t.Fatal("a zero Options limits announces")
	}
	if newRateLimiter(0, 10) != nil || newRateLimiter(-1, 10) != nil {
		t.Error("a rate that is not positive must mean no limit")
	}
}

func TestMinIntervalEnforced(t *testing.T) {
	h := newHarness(t, Options{Interval: 30 * time.Minute, EnforceMinInterval: true})
	h.announce(t, ann{peer: 2, left: 0})
	h.announce(t, ann{peer: 1, up: 100, left: 10, event: "started"})
	r := h.announce(t, ann{peer: 1, up: 300, left: 10}) // too early: answered, not credited
	if !slices.Equal(r.addrs(), []string{"10.0.0.2:6881"}) || r.Complete != 1 {
		t.Errorf("an early announce got %q and %d seeders: it must be answered as usual", r.addrs(), r.Complete)
	}
	if d := h.flushed(t); len(d) != 0 {
		t.Fatalf("an early announce credited %+v", d)
	}
	h.advance(14 * time.Minute)
	h.announce(t, ann{peer: 1, up: 350, left: 10}) // still early (min interval 15m)
	h.advance(time.Minute)
	h.announce(t, ann{peer: 1, up: 400, left: 10})                              // on time: credits all since the baseline
	h.announce(t, ann{peer: 1, up: 450, down: 10, left: 0, event: "completed"}) // events always count
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 350, Downloaded: 10, Completed: true}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
	if got := h.tr.metrics.early.value(0); got != 2 {
		t.Errorf("early announces counted %d, want 2", got)
	}
}

func TestMinIntervalOffByDefault(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 10})
	h.announce(t, ann{peer: 1, up: 5, left: 10})
	if d := h.flushed(t); len(d) != 1 || d[0].Uploaded != 5 {
		t.Errorf("deltas %+v, want every announce credited", d)
	}
}

func TestDescribeClientIsPrintable(t *testing.T) {
	id := [20]byte{'-', 0xff, 'X', '1', '2', '3', '4', '-'}
	if got := describeClient(&id); got != "unknown client -?X1234-" || strings.ContainsRune(got, 0xff) {
		t.Errorf("describeClient = %q", got)
	}
}
