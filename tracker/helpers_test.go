package tracker

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

var (
	ihOne   = sha1.Sum([]byte("torrent one"))
	ihTwo   = sha1.Sum([]byte("torrent two"))
	ihStray = sha1.Sum([]byte("not registered"))
)

const (
	torrentOne = 101
	torrentTwo = 102
	userAlice  = 1
	userBob    = 2
	userBox    = 99
)

// testPeerID is a recognisable peer_id: -SB0001- and the number.
// testPeerID is "-SB0001-" and n in 12 decimal digits, without allocating:
// the memory benchmark's own garbage must not grow the heap it measures.
func testPeerID(n int) [20]byte {
	id := [20]byte{'-', 'S', 'B', '0', '0', '0', '1', '-'}
	for i := 19; i >= 8; i-- {
		id[i] = byte('0' + n%10)
		n /= 10
	}
	return id
}

// testSink records every flushed batch; it fails while failing is set.
type testSink struct {
	mu      sync.Mutex
	failing bool
	deltas  []StatDelta
}

func (s *testSink) Flush(_ context.Context, deltas []StatDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("sink down")
	}
	s.deltas = append(s.deltas, deltas...)
	return nil
}

func (s *testSink) take() []StatDelta {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deltas
	s.deltas = nil
	return d
}

type harness struct {
	tr     *Tracker
	access *Access
	store  *MemoryStore
	sink   *testSink
}

// newHarness returns a tracker with users alice, bob, mallory (disabled) and
// box (the seedbox), and torrents ihOne and ihTwo allowed.
func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	access := NewAccess()
	access.PutUser("alice", User{ID: userAlice})
	access.PutUser("bob", User{ID: userBob})
	access.PutUser("mallory", User{ID: 3, Disabled: true})
	access.PutUser("box", User{ID: userBox, Seedbox: true})
	access.Allow(ihOne, torrentOne)
	access.Allow(ihTwo, torrentTwo)
	opts.Logger = slog.New(slog.DiscardHandler)
	h := &harness{access: access, store: NewMemoryStore(4), sink: &testSink{}}
	h.tr = New(opts, access, h.store, h.sink)
	h.tr.clock.set(time.Unix(1_700_000_000, 0))
	return h
}

func (h *harness) advance(d time.Duration) {
	h.tr.clock.set(time.Unix(int64(h.tr.clock.now()), 0).Add(d))
}

// ann describes one announce; zero fields take test defaults.
type ann struct {
	passkey string   // default alice
	ih      [20]byte // default ihOne
	peer    int      // peer_id number
	remote  string   // client IP; default 10.0.0.<peer>
	port    int      // default 6881
	up      int64
	down    int64
	left    int64
	event   string
	extra   string // raw extra parameters, e.g. "compact=0"
}

func (a ann) query() string {
	if a.ih == ([20]byte{}) {
		a.ih = ihOne
	}
	if a.port == 0 {
		a.port = 6881
	}
	id := testPeerID(a.peer)
	v := url.Values{}
	v.Set("info_hash", string(a.ih[:]))
	v.Set("peer_id", string(id[:]))
	v.Set("port", strconv.Itoa(a.port))
	v.Set("uploaded", strconv.FormatInt(a.up, 10))
	v.Set("downloaded", strconv.FormatInt(a.down, 10))
	v.Set("left", strconv.FormatInt(a.left, 10))
	if a.event != "" {
		v.Set("event", a.event)
	}
	q := v.Encode()
	if a.extra != "" {
		q += "&" + a.extra
	}
	return q
}

func (a ann) path() string {
	if a.passkey == "" {
		a.passkey = "alice"
	}
	return "/announce/" + a.passkey + "?" + a.query()
}

func (a ann) remoteAddr() string {
	if a.remote == "" {
		a.remote = fmt.Sprintf("10.0.0.%d", a.peer)
	}
	return netip.AddrPortFrom(netip.MustParseAddr(a.remote), 40000).String()
}

// get serves one GET and returns the body, checking the status is 200.
func (h *harness) get(t testing.TB, target, remote string) []byte {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.tr.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", target, w.Code)
	}
	return w.Body.Bytes()
}

// compactReply is a successful reply with compact peers, as decoded by
// anacrolix's bencode and krpc packages.
type compactReply struct {
	FailureReason string                    `bencode:"failure reason"`
	Interval      int64                     `bencode:"interval"`
	MinInterval   int64                     `bencode:"min interval"`
	Complete      int                       `bencode:"complete"`
	Incomplete    int                       `bencode:"incomplete"`
	Downloaded    int                       `bencode:"downloaded"`
	Peers         krpc.CompactIPv4NodeAddrs `bencode:"peers"`
	Peers6        krpc.CompactIPv6NodeAddrs `bencode:"peers6"`
}

// announce serves a and decodes a successful compact reply.
func (h *harness) announce(t testing.TB, a ann) compactReply {
	t.Helper()
	body := h.get(t, a.path(), a.remoteAddr())
	var r compactReply
	if err := bencode.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	if r.FailureReason != "" {
		t.Fatalf("announce %+v: failure %q", a, r.FailureReason)
	}
	return r
}

// failure serves a path and returns its failure reason, checking that the
// reply is a dict with that one key.
func (h *harness) failure(t testing.TB, target, remote string) string {
	t.Helper()
	body := h.get(t, target, remote)
	m := decodeCanonical(t, body)
	reason, _ := m["failure reason"].(string)
	if len(m) != 1 || reason == "" {
		t.Fatalf("want only a failure reason, got %q", body)
	}
	return reason
}

// decodeCanonical decodes a bencoded dict and checks that it is canonical:
// re-encoding it (keys sorted) gives the same bytes.
func decodeCanonical(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := bencode.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	again, err := bencode.Marshal(m)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if !bytes.Equal(again, body) {
		t.Fatalf("not canonical bencode (unsorted keys?):\n got %q\nwant %q", body, again)
	}
	return m
}

// addrs returns the sorted "ip:port" of compact peers of both families.
func (r compactReply) addrs() []string {
	var out []string
	for _, na := range r.Peers {
		out = append(out, na.String())
	}
	for _, na := range r.Peers6 {
		out = append(out, na.String())
	}
	slices.Sort(out)
	return out
}
