package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/internal/testenv"
)

// scriptedAnnounce is one announce of a test script.
type scriptedAnnounce struct {
	node                 *node
	peerID               string // 20 bytes
	event                string
	uploaded, downloaded int64
	left                 int64
}

// send announces over HTTP and fails the test on a failure reason.
func (a scriptedAnnounce) send(t *testing.T, passkey string, ih []byte) {
	t.Helper()
	q := url.Values{"info_hash": {string(ih)}, "peer_id": {a.peerID}, "port": {"6881"},
		"uploaded": {fmt.Sprint(a.uploaded)}, "downloaded": {fmt.Sprint(a.downloaded)},
		"left": {fmt.Sprint(a.left)}, "compact": {"1"}}
	if a.event != "" {
		q.Set("event", a.event)
	}
	resp, err := http.Get(a.node.url + "/announce/" + passkey + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var reply struct {
		Failure string `bencode:"failure reason"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil || reply.Failure != "" {
		t.Fatalf("announce %+v: %q (%v)", a, body, err)
	}
}

// TestAccountingExactAcrossNodes runs a scripted sequence of announces
// against two nodes sharing one PostgreSQL catalog (a whole node and a
// tracker alone) and checks the catalog's totals to the byte: deltas only,
// no credit across a client restart, one snatch for event=completed, and
// nothing counted twice by the two nodes' flushes.
func TestAccountingExactAcrossNodes(t *testing.T) {
	dsn := testenv.Postgres(t)
	// min interval is 1 s: the script waits that long between announces of
	// one peer, so every announce is credited as it comes.
	env := []string{"SEEDBED_ANNOUNCE_INTERVAL=2s"}
	n1 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: env})
	n2 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: env, part: "tracker"})
	defer func() {
		if t.Failed() {
			n1.dumpLog()
			n2.dumpLog()
		}
	}()
	token := n1.addUser("ledger", false)
	const size = 1 << 20
	obj, code := n1.upload(token, map[string][]byte{"ledger.bin": randomBytes(size, 31)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ih, _ := hex.DecodeString(obj.InfoHash)

	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	u, err := cat.UserByName(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "both nodes know the torrent", func() bool {
		return announceOnce(t, n1.url, u.Passkey, obj.InfoHash) == "" &&
			announceOnce(t, n2.url, u.Passkey, obj.InfoHash) == ""
	})
	// announceOnce's peer left 100 bytes with zero counters: no credit.

	const a, b = "-TR3000-aaaaaaaaaaaa", "-qB4500-bbbbbbbbbbbb"
	leecherA := []scriptedAnnounce{
		{n1, a, "started", 0, 0, size},
		{n1, a, "", 100, 1000, size - 1000},   // +100 up, +1000 down
		{n1, a, "started", 10, 50, size - 50}, // client restart: counters reset, no credit
		{n1, a, "", 30, 250, size - 250},      // +20, +200
		{n1, a, "completed", 30, 300, 0},      // +0, +50, one snatch
		{n1, a, "", 35, 300, 0},               // +5
		{n1, a, "stopped", 40, 300, 0},        // +5
		{n1, a, "completed", 40, 300, 0},      // a second completed is no second snatch
	}
	seederB := []scriptedAnnounce{
		{n2, b, "started", 0, 0, 0},
		{n2, b, "", 500, 0, 0},        // +500
		{n2, b, "stopped", 600, 0, 0}, // +100
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range seederB {
			s.send(t, u.Passkey, ih)
			time.Sleep(1100 * time.Millisecond)
		}
	}()
	for _, s := range leecherA {
		s.send(t, u.Passkey, ih)
		time.Sleep(1100 * time.Millisecond)
	}
	<-done

	const wantUp, wantDown = 100 + 20 + 5 + 5 + 600, 1000 + 200 + 50
	exact := func() (string, bool) {
		got, err := cat.UserByID(ctx, u.ID)
		if err != nil {
			return err.Error(), false
		}
		tor, err := cat.TorrentByInfoHash(ctx, obj.InfoHash)
		if err != nil {
			return err.Error(), false
		}
		st, err := cat.UserTorrentStats(ctx, u.ID, tor.ID)
		if err != nil {
			return err.Error(), false
		}
		state := fmt.Sprintf("user up=%d down=%d; history up=%d down=%d completed=%v; snatches=%d",
			got.Uploaded, got.Downloaded, st.Uploaded, st.Downloaded, st.Completed, tor.Snatches)
		return state, got.Uploaded == wantUp && got.Downloaded == wantDown &&
			st.Uploaded == wantUp && st.Downloaded == wantDown && st.Completed && tor.Snatches == 1
	}
	var last string
	waitFor(t, 20*time.Second, "exact totals in the catalog", func() bool {
		s, ok := exact()
		last = s
		return ok
	})
	// Both nodes flush every few seconds: nothing may be counted twice
	// after more flushes.
	time.Sleep(6 * time.Second)
	if s, ok := exact(); !ok {
		t.Errorf("totals changed after more flushes: %s (was %s), want up=%d down=%d snatches=1",
			s, last, wantUp, wantDown)
	}
}

// scrapeIncomplete returns the swarm's leecher count from an HTTP scrape.
func scrapeIncomplete(t *testing.T, n *node, passkey string, ih []byte) int {
	t.Helper()
	resp, err := http.Get(n.url + "/scrape/" + passkey + "?info_hash=" + url.QueryEscape(string(ih)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var reply struct {
		Files map[string]struct {
			Incomplete int `bencode:"incomplete"`
		} `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatalf("scrape reply %q: %v", body, err)
	}
	f, ok := reply.Files[string(ih)]
	if !ok {
		t.Fatalf("scrape reply %q lacks the torrent", body)
	}
	return f.Incomplete
}

// TestStalePeersExpire: a leecher that stops announcing without saying
// "stopped" leaves the swarm once its time to live (two intervals and a
// bit) has passed.
func TestStalePeersExpire(t *testing.T) {
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_ANNOUNCE_INTERVAL=2s"}})
	token := n.addUser("stale", false)
	obj, code := n.upload(token, map[string][]byte{"stale.bin": randomBytes(1<<16, 32)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ih, _ := hex.DecodeString(obj.InfoHash)
	passkey := n.passkey("stale")
	waitFor(t, 3*time.Second, "torrent known to the tracker", func() bool {
		return announceOnce(t, n.url, passkey, obj.InfoHash) == ""
	})
	if got := scrapeIncomplete(t, n, passkey, ih); got != 1 {
		t.Fatalf("leechers after one announce: %d, want 1", got)
	}
	start := time.Now()
	// TTL 2*2s+2s, collected every 1.5s: gone well within 15 s.
	waitFor(t, 15*time.Second, "stale leecher expired", func() bool {
		return scrapeIncomplete(t, n, passkey, ih) == 0
	})
	if d := time.Since(start); d < 4*time.Second {
		t.Errorf("leecher dropped after %v, before its time to live", d)
	}
}

// openCatalog opens the node's catalog from this process, as another node
// or the CLI would.
func openCatalog(t *testing.T, n *node) *catalog.Catalog {
	t.Helper()
	opts := catalog.Options{DataDir: filepath.Join(n.dir, "data")}
	for _, kv := range n.env { // the last setting wins, as in exec
		if v, ok := strings.CutPrefix(kv, "SEEDBED_DATABASE_URL="); ok {
			opts.URL = v
		}
	}
	cat, err := catalog.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// passkey returns a user's current passkey from the catalog.
func (n *node) passkey(name string) string {
	n.t.Helper()
	u, err := openCatalog(n.t, n).UserByName(context.Background(), name)
	if err != nil {
		n.t.Fatal(err)
	}
	return u.Passkey
}
