package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedbed/seedbed/internal/testenv"
)

// TestRedisSharedSwarms runs two whole nodes on one PostgreSQL catalog and
// one Redis (tracker.redis_url): a peer announced to node 1 over HTTP is in
// node 2's announce reply within one second, a leecher announced to node 2
// is in node 1's reply to a seeder, and a stop sent to node 2 takes the
// peer out of node 1's replies within one second.
func TestRedisSharedSwarms(t *testing.T) {
	dsn, redisURL := testenv.Postgres(t), testenv.Redis(t)
	n1 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: []string{"SEEDBED_REDIS_URL=" + redisURL}})
	n2 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: []string{"SEEDBED_REDIS_URL=" + redisURL, "SEEDBED_NODE=node-2"}})
	defer func() {
		if t.Failed() {
			n1.dumpLog()
			n2.dumpLog()
		}
	}()
	token := n1.addUser("rita", false)
	obj, code := n1.upload(token, map[string][]byte{"shared.bin": randomBytes(1<<20, 61)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	passkey := n1.passkey("rita")
	waitFor(t, 5*time.Second, "both nodes know the torrent", func() bool {
		return announceOnce(t, n1.url, passkey, obj.InfoHash) == "" && announceOnce(t, n2.url, passkey, obj.InfoHash) == ""
	})
	ih, _ := hex.DecodeString(obj.InfoHash)
	seeder := sharedPeer{from: "127.0.61.1", port: 7001, id: "-qB5010-shared000001", left: 0}
	leecher := sharedPeer{from: "127.0.61.2", port: 7002, id: "-TR3000-shared000002", left: 1000}

	start := time.Now()
	seeder.announce(t, n1, passkey, ih, "started")
	within(t, start, time.Second, "node 2 hands out the seeder announced to node 1", func() bool {
		return slices.Contains(leecher.announce(t, n2, passkey, ih, "started"), seeder.addr())
	})
	if got := seeder.announce(t, n1, passkey, ih, ""); !slices.Contains(got, leecher.addr()) {
		t.Errorf("node 1 gave the seeder %v, want the leecher announced to node 2 (%s)", got, leecher.addr())
	}

	start = time.Now()
	seeder.announce(t, n2, passkey, ih, "stopped")
	within(t, start, time.Second, "node 1 forgets the seeder stopped on node 2", func() bool {
		return !slices.Contains(leecher.announce(t, n1, passkey, ih, ""), seeder.addr())
	})
}

// sharedPeer is a client announcing from its own loopback address.
type sharedPeer struct {
	from string
	port int
	id   string // 20 bytes
	left int
}

func (p sharedPeer) addr() string { return fmt.Sprintf("%s:%d", p.from, p.port) }

// announce sends one HTTP announce to n and returns the compact peers of
// the reply as "ip:port".
func (p sharedPeer) announce(t *testing.T, n *node, passkey string, ih []byte, event string) []string {
	t.Helper()
	q := url.Values{"info_hash": {string(ih)}, "peer_id": {p.id}, "port": {fmt.Sprint(p.port)},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {fmt.Sprint(p.left)}, "compact": {"1"}, "numwant": {"50"}}
	if event != "" {
		q.Set("event", event)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(p.from)}, Timeout: 5 * time.Second}
	client := http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(n.url + "/announce/" + passkey + "?" + q.Encode())
	if err != nil {
		t.Fatalf("announce from %s: %v", p.from, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r lanReply
	if err := bencode.Unmarshal(body, &r); err != nil || r.FailureReason != "" {
		t.Fatalf("announce from %s to %s: %q %v", p.from, n.url, body, err)
	}
	return compactPeers(t, r.Peers)
}

// within polls cond until it holds, failing the test if that takes longer
// than limit after start: a functional deadline the issue names.
func within(t *testing.T, start time.Time, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took > limit {
		t.Fatalf("%s: took %v, more than %v", what, took, limit)
	}
}
