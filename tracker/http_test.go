package tracker

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

func TestAnnounceFailureReasons(t *testing.T) {
	h := newHarness(t, Options{})
	ok := ann{peer: 1}.query()
	tests := []struct {
		name, target, want string
	}{
		{"unknown passkey", "/announce/nobody?" + ok, "unknown passkey"},
		{"disabled", "/announce/mallory?" + ok, "account disabled"},
		{"no passkey", "/announce?" + ok, "missing passkey"},
		{"no passkey slash", "/announce/?" + ok, "missing passkey"},
		{"unregistered", ann{ih: ihStray, peer: 1}.path(), "torrent not registered on this tracker"},
		{"short info_hash", "/announce/alice?info_hash=abc&" + ok[strings.Index(ok, "left="):], "invalid info_hash"},
		{"no info_hash", "/announce/alice?peer_id=-SB0001-000000000001&port=1&uploaded=0&downloaded=0&left=0", "missing info_hash"},
		{"no peer_id", "/announce/alice?info_hash=aaaaaaaaaaaaaaaaaaaa&port=1&uploaded=0&downloaded=0&left=0", "missing peer_id"},
		{"long peer_id", ann{peer: 1, extra: "peer_id=-SB0001-0000000000011"}.path(), "invalid peer_id"},
		{"port zero", ann{peer: 1, extra: "port=0"}.path(), "invalid port"},
		{"port too big", ann{peer: 1, extra: "port=65536"}.path(), "invalid port"},
		{"negative uploaded", ann{peer: 1, extra: "uploaded=-1"}.path(), "invalid uploaded"},
		{"text downloaded", ann{peer: 1, extra: "downloaded=lots"}.path(), "invalid downloaded"},
		{"no left", "/announce/alice?info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=-SB0001-000000000001&port=1&uploaded=0&downloaded=0", "missing left"},
		{"bad numwant", ann{peer: 1, extra: "numwant=many"}.path(), "invalid numwant"},
		{"bad event", ann{peer: 1, extra: "event=exploded"}.path(), "invalid event"},
		{"bad escape", ann{peer: 1, extra: "info_hash=%zz"}.path(), "invalid info_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.failure(t, tt.target, "10.0.0.1:40000"); got != tt.want {
				t.Errorf("failure reason %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnnouncePortZeroOnlyWhenStopped(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 10})
	h.announce(t, ann{peer: 1, left: 10, event: "stopped", extra: "port=0"})
	if c := h.tr.Counts(ihOne); c.Leechers != 0 {
		t.Errorf("after stopped with port 0: %+v, want no leecher", c)
	}
}

func TestAnnounceSuccessReplyKeys(t *testing.T) {
	h := newHarness(t, Options{})
	body := h.get(t, ann{peer: 1, left: 10}.path(), "10.0.0.1:40000")
	if bytes.Contains(body, []byte("failure reason")) {
		t.Fatalf("success reply carries a failure reason: %q", body)
	}
	m := decodeCanonical(t, body)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"complete", "downloaded", "incomplete", "interval", "min interval", "peers"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if m["peers"] != "" {
		t.Errorf("peers %q, want empty string", m["peers"])
	}
}

func TestAnnounceCompactPeersAndPeers6(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, remote: "10.0.0.1", port: 1001})
	h.announce(t, ann{peer: 2, left: 5, remote: "10.0.0.2", port: 1002})
	h.announce(t, ann{peer: 3, left: 0, remote: "2001:db8::3", port: 1003})
	h.announce(t, ann{peer: 4, left: 5, remote: "::ffff:10.0.0.4", port: 1004})
	r := h.announce(t, ann{peer: 5, left: 5, remote: "2001:db8::5", port: 1005})

	want := []string{"10.0.0.1:1001", "10.0.0.2:1002", "10.0.0.4:1004", "[2001:db8::3]:1003"}
	if got := r.addrs(); !slices.Equal(got, want) {
		t.Errorf("peers %q, want %q", got, want)
	}
	if len(r.Peers6) != 1 || len(r.Peers) != 3 {
		t.Errorf("got %d peers and %d peers6, want 3 and 1", len(r.Peers), len(r.Peers6))
	}
	if r.Complete != 2 || r.Incomplete != 3 {
		t.Errorf("complete %d incomplete %d, want 2 and 3", r.Complete, r.Incomplete)
	}
}

func TestAnnounceNonCompact(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, remote: "10.0.0.1", port: 1001})
	h.announce(t, ann{peer: 2, remote: "2001:db8::2", port: 1002})
	for _, withID := range []bool{true, false} {
		extra := "compact=0"
		if !withID {
			extra += "&no_peer_id=1"
		}
		body := h.get(t, ann{peer: 3, left: 1, extra: extra}.path(), "10.0.0.3:40000")
		m := decodeCanonical(t, body)
		var reply struct {
			Peers []map[string]any `bencode:"peers"`
		}
		if err := bencode.Unmarshal(body, &reply); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(reply.Peers, func(a, b map[string]any) int {
			return strings.Compare(a["ip"].(string), b["ip"].(string))
		})
		if len(reply.Peers) != 2 || m["peers6"] != nil {
			t.Fatalf("withID=%v: reply %q, want 2 dict peers and no peers6", withID, body)
		}
		checkDictPeer(t, reply.Peers[0], "10.0.0.1", 1001, 1, withID)
		checkDictPeer(t, reply.Peers[1], "2001:db8::2", 1002, 2, withID)
	}
}

func checkDictPeer(t *testing.T, p map[string]any, ip string, port int64, id int, withID bool) {
	t.Helper()
	if p["ip"] != ip || p["port"] != port {
		t.Errorf("peer %v, want ip %s port %d", p, ip, port)
	}
	wantID := testPeerID(id)
	gotID, has := p["peer id"]
	switch {
	case withID && gotID != string(wantID[:]):
		t.Errorf("peer id %q, want %q", gotID, wantID[:])
	case !withID && has:
		t.Errorf("peer id %q present with no_peer_id=1", gotID)
	}
}

func TestAnnounceSeedersFirst(t *testing.T) {
	h := newHarness(t, Options{})
	seeders := map[string]bool{}
	for i := 1; i <= 10; i++ {
		a := ann{peer: i, left: int64(i % 2)}
		h.announce(t, a)
		seeders[a.remoteAddr()[:len(a.remoteAddr())-len(":40000")]+":6881"] = i%2 == 0
	}
	for range 20 {
		r := h.announce(t, ann{peer: 50, left: 1, extra: "numwant=7"})
		got := r.addrs()
		if len(r.Peers) != 7 {
			t.Fatalf("got %d peers, want 7", len(r.Peers))
		}
		for i, na := range r.Peers {
			if seeders[na.String()] != (i < 5) {
				t.Fatalf("leecher got %q: want the 5 seeders first", got)
			}
		}
		r = h.announce(t, ann{peer: 2, left: 0})
		for _, na := range r.Peers {
			if seeders[na.String()] {
				t.Fatalf("seeder got seeder %s", na)
			}
		}
		if len(r.Peers) != 6 { // 5 leechers and peer 50
			t.Fatalf("seeder got %d peers, want 6", len(r.Peers))
		}
	}
}

func TestAnnounceExcludesSelf(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 1, remote: "10.0.0.1"})
	h.announce(t, ann{peer: 1, left: 1, remote: "2001:db8::1"})
	r := h.announce(t, ann{peer: 1, left: 1, remote: "10.0.0.1"})
	if len(r.addrs()) != 0 {
		t.Errorf("peer got itself: %q", r.addrs())
	}
	if r.Incomplete != 2 {
		t.Errorf("incomplete %d, want 2 (one peer per address family)", r.Incomplete)
	}
	r = h.announce(t, ann{peer: 2, left: 1})
	if len(r.addrs()) != 2 {
		t.Errorf("other peer got %q, want both entries of peer 1", r.addrs())
	}
}

func TestAnnounceStoppedRemoves(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0})
	h.announce(t, ann{peer: 2, left: 1})
	r := h.announce(t, ann{peer: 1, left: 0, event: "stopped"})
	if len(r.addrs()) != 0 || r.Complete != 0 || r.Incomplete != 1 {
		t.Errorf("stopped reply %+v, want no peers and counts 0/1", r)
	}
	r = h.announce(t, ann{peer: 2, left: 1})
	if len(r.addrs()) != 0 {
		t.Errorf("leecher still sees stopped peer: %q", r.addrs())
	}
}

func TestAnnouncePeersExpire(t *testing.T) {
	h := newHarness(t, Options{Interval: time.Minute, PeerTTL: 3 * time.Minute})
	h.announce(t, ann{peer: 1, left: 0})
	h.advance(2 * time.Minute)
	h.announce(t, ann{peer: 2, left: 1})
	h.advance(2 * time.Minute)
	h.tr.collectGarbage(t.Context())
	r := h.announce(t, ann{peer: 3, left: 1})
	if got := r.addrs(); !slices.Equal(got, []string{"10.0.0.2:6881"}) {
		t.Errorf("after expiry peers %q, want only peer 2", got)
	}
	if r.Complete != 0 {
		t.Errorf("complete %d after the seeder expired, want 0", r.Complete)
	}
}

func TestAnnounceNumWant(t *testing.T) {
	h := newHarness(t, Options{NumWantDefault: 2, NumWantMax: 4})
	for i := 1; i <= 6; i++ {
		h.announce(t, ann{peer: i, left: 1})
	}
	for extra, want := range map[string]int{"": 2, "numwant=3": 3, "numwant=100": 4, "numwant=0": 0, "numwant=-1": 2} {
		if got := len(h.announce(t, ann{peer: 9, left: 1, extra: extra}).Peers); got != want {
			t.Errorf("%q: %d peers, want %d", extra, got, want)
		}
	}
}

func TestAnnounceIntervals(t *testing.T) {
	h := newHarness(t, Options{Interval: 30 * time.Minute, SeedboxInterval: 5 * time.Second})
	for i := range 50 {
		r := h.announce(t, ann{peer: i, left: 1})
		if r.Interval < 1620 || r.Interval > 1980 || r.MinInterval != 900 {
			t.Fatalf("interval %d min %d, want 1800±10%% and 900", r.Interval, r.MinInterval)
		}
	}
	box := h.announce(t, ann{passkey: "box", ih: ihOne, peer: 99, left: 0})
	if box.Interval != 5 || box.MinInterval != 2 {
		t.Errorf("seedbox with leechers: interval %d min %d, want 5 and 2", box.Interval, box.MinInterval)
	}
	box = h.announce(t, ann{passkey: "box", ih: ihTwo, peer: 99, left: 0})
	if box.Interval != 60 {
		t.Errorf("seedbox without leechers: interval %d, want the idle 60", box.Interval)
	}
	h.announce(t, ann{ih: ihTwo, peer: 1, left: 0})
	box = h.announce(t, ann{passkey: "box", ih: ihTwo, peer: 99, left: 5})
	if box.Interval != 60 {
		t.Errorf("leeching seedbox alone with a seeder: interval %d, want the idle 60", box.Interval)
	}
}

func TestOnLeecherReportsStartedLeechers(t *testing.T) {
	var got []netip.AddrPort
	h := newHarness(t, Options{OnLeecher: func(ih [20]byte, ap netip.AddrPort) {
		if ih != ihOne {
			t.Errorf("infohash %x", ih)
		}
		got = append(got, ap)
	}})
	h.announce(t, ann{peer: 1, left: 0, event: "started"}) // a seeder
	h.announce(t, ann{peer: 2, left: 7})                   // no event
	h.announce(t, ann{peer: 3, left: 7, event: "started"})
	if len(got) != 1 || !got[0].IsValid() {
		t.Fatalf("OnLeecher calls %v, want exactly the started leecher", got)
	}
}

func TestAnnounceSnatchCountedOnce(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, event: "completed"})
	h.announce(t, ann{peer: 1, left: 0, event: "completed"})
	h.announce(t, ann{passkey: "box", peer: 99, left: 0, event: "completed"})
	r := h.announce(t, ann{peer: 2, left: 0, event: "completed"})
	if r.Downloaded != 2 {
		t.Errorf("downloaded %d, want 2 (once per peer, the seedbox not counted)", r.Downloaded)
	}
	if c := h.tr.Counts(ihOne); c != (SwarmCounts{Seeders: 3, Completed: 2}) {
		t.Errorf("Counts %+v", c)
	}
}

func TestAccessChangesApply(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1})
	h.access.RemovePasskey("alice")
	if got := h.failure(t, ann{peer: 1}.path(), "10.0.0.1:1"); got != "unknown passkey" {
		t.Errorf("removed passkey: %q", got)
	}
	h.access.Disallow(ihOne)
	if got := h.failure(t, ann{passkey: "bob", peer: 1}.path(), "10.0.0.1:1"); got != "torrent not registered on this tracker" {
		t.Errorf("disallowed torrent: %q", got)
	}
	if users, torrents := h.access.Counts(); users != 3 || torrents != 1 {
		t.Errorf("Counts %d users %d torrents, want 3 and 1", users, torrents)
	}
}

func TestServeHTTPNotFound(t *testing.T) {
	h := newHarness(t, Options{})
	for _, target := range []string{"/", "/announcer/alice", "/announce/alice/extra", "/scrape/alice/x", "/favicon.ico"} {
		w := httptest.NewRecorder()
		h.tr.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, w.Code)
		}
	}
	w := httptest.NewRecorder()
	h.tr.ServeHTTP(w, httptest.NewRequest(http.MethodPost, ann{peer: 1}.path(), nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("POST announce: %d, want 404", w.Code)
	}
}

func TestAnnounceHTTPDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	h := newHarness(t, Options{})
	for i := 1; i <= 20; i++ {
		h.announce(t, ann{peer: i, left: int64(i % 2)})
	}
	a := ann{peer: 1, left: 1, extra: "numwant=200"}
	r := httptest.NewRequest(http.MethodGet, a.path(), nil)
	r.RemoteAddr = a.remoteAddr()
	w := &discardWriter{h: http.Header{}}
	h.tr.ServeHTTP(w, r)
	if allocs := testing.AllocsPerRun(1000, func() { h.tr.ServeHTTP(w, r) }); allocs > 0 {
		t.Errorf("an announce allocates %v times, want 0", allocs)
	}
}
