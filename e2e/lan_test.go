package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// lanConfig puts two dorms on loopback ranges; 127.200.x.x is off campus.
const lanConfig = `[tracker]
campus = ["127.0.0.0/9"]
[[tracker.networks]]
name = "dorm-a"
cidrs = ["127.1.0.0/16"]
[[tracker.networks]]
name = "dorm-b"
cidrs = ["127.2.0.0/16"]
`

// lanSwarm drives raw HTTP announces, each from its own source address,
// and remembers every peer it announced.
type lanSwarm struct {
	t        *testing.T
	announce string // the announce URL with the passkey
	ih       [20]byte
	seeder   map[string]bool // "ip:port" of every peer in the swarm -> seeds
	seedbox  string
}

type lanReply struct {
	FailureReason string `bencode:"failure reason"`
	Peers         string `bencode:"peers"`
}

// send announces peer id from the source address from, listening on port.
func (s *lanSwarm) send(from string, id, port int, seeder bool, numwant int, extra string) []string {
	s.t.Helper()
	left := "1000"
	if seeder {
		left = "0"
	}
	var pid [20]byte
	copy(pid[:], fmt.Sprintf("-qB5010-%012d", id))
	q := url.Values{"info_hash": {string(s.ih[:])}, "peer_id": {string(pid[:])}, "port": {fmt.Sprint(port)},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {left}, "event": {"started"}, "compact": {"1"},
		"numwant": {fmt.Sprint(numwant)}}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	client := http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(s.announce + "?" + q.Encode() + extra)
	if err != nil {
		s.t.Fatalf("announce from %s: %v", from, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r lanReply
	if err := bencode.Unmarshal(body, &r); err != nil || r.FailureReason != "" {
		s.t.Fatalf("announce from %s: %q %v", from, body, err)
	}
	s.seeder[netip.AddrPortFrom(netip.MustParseAddr(from), uint16(port)).String()] = seeder
	return compactPeers(s.t, r.Peers)
}

func compactPeers(t *testing.T, b string) []string {
	if len(b)%6 != 0 {
		t.Fatalf("compact peers of %d bytes", len(b))
	}
	var out []string
	for i := 0; i < len(b); i += 6 {
		ip := netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]})
		out = append(out, netip.AddrPortFrom(ip, uint16(b[i+4])<<8|uint16(b[i+5])).String())
	}
	return out
}

// rank is where a peer belongs for a requester in dorm-a at 127.1.x.y:
// 0 its own /24, 1 dorm-a, 2 the rest of campus, 3 off campus.
func lanRank(requester, peer string) int {
	r, p := netip.MustParseAddrPort(requester).Addr().As4(), netip.MustParseAddrPort(peer).Addr().As4()
	switch {
	case p[1] == r[1] && p[2] == r[2]:
		return 0
	case p[1] == r[1]:
		return 1
	case p[1] < 128:
		return 2
	}
	return 3
}

// checkLANOrder checks a reply for a dorm-a leecher: best rank first, seeders
// first within a rank, each rank complete before the next starts, and the
// seedbox present (in the last slot when the ranking left it out).
func (s *lanSwarm) checkLANOrder(self string, got []string, numwant int) {
	s.t.Helper()
	if !strings.Contains(strings.Join(got, " "), s.seedbox) {
		s.t.Fatalf("reply %v lacks the seedbox %s", got, s.seedbox)
	}
	avail := map[int]int{}
	for p := range s.seeder {
		if p != self {
			avail[lanRank(self, p)]++
		}
	}
	ranked := got
	if got[len(got)-1] == s.seedbox {
		ranked = got[:len(got)-1]
	}
	seen := map[int]int{}
	for i, p := range ranked {
		rank := lanRank(self, p)
		seen[rank]++
		if i > 0 && (rank < lanRank(self, ranked[i-1]) || (rank == lanRank(self, ranked[i-1]) && s.seeder[p] && !s.seeder[ranked[i-1]])) {
			s.t.Fatalf("peer %d (%s, rank %d) out of order in %v", i, p, rank, got)
		}
	}
	for rank := 0; rank < 3 && len(got) == numwant; rank++ {
		if seen[rank+1] > 0 && seen[rank] < avail[rank] {
			s.t.Fatalf("rank %d has %d of %d peers but rank %d already started: %v", rank, seen[rank], avail[rank], rank+1, got)
		}
	}
}

// TestLANFirst: a real node with two dorms hands a leecher its own subnet,
// then its dorm, then the rest of campus, then the world, seeders first,
// always with the seedbox; ip= from off campus is ignored.
func TestLANFirst(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "seedbed.toml")
	if err := os.WriteFile(cfgPath, []byte(lanConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfgPath}})
	defer func() {
		if t.Failed() {
			n.dumpLog()
		}
	}()
	s := newLANSwarm(t, n)

	for i := 1; i <= 20; i++ {
		s.send(fmt.Sprintf("127.1.%d.10", i), 100+i, 20000+i, i%2 == 1, 0, "")
		s.send(fmt.Sprintf("127.2.%d.10", i), 200+i, 21000+i, i%2 == 1, 0, "")
	}
	for i := 1; i <= 6; i++ {
		s.send(fmt.Sprintf("127.200.0.%d", i), 300+i, 22000+i, i%2 == 1, 0, "")
	}

	// numwant=10 with 10 dorm-a seeders: 9 of them, then the seedbox.
	self := "127.1.100.10:23001"
	got := s.send("127.1.100.10", 401, 23001, false, 10, "")
	if len(got) != 10 || got[9] != s.seedbox {
		t.Fatalf("dorm-a leecher got %v, want 10 peers ending with the seedbox %s", got, s.seedbox)
	}
	for _, p := range got[:9] {
		if lanRank(self, p) != 1 || !s.seeder[p] {
			t.Fatalf("dorm-a leecher got %v: %s is not a dorm-a seeder", got, p)
		}
	}
	// The own subnet first, even a leecher.
	got = s.send("127.1.4.11", 402, 23002, false, 5, "")
	if len(got) != 5 || got[0] != "127.1.4.10:20004" || got[4] != s.seedbox {
		t.Fatalf("leecher at 127.1.4.11 got %v, want its subnet-mate 127.1.4.10 first and the seedbox last", got)
	}
	// Fewer dorm-a peers than numwant: then the rest of campus, then off campus.
	got = s.send("127.1.101.10", 403, 23003, false, 45, "")
	s.checkLANOrder("127.1.101.10:23003", got, 45)
	if lanRank("127.1.101.10:0", got[44]) != 3 || lanRank("127.1.101.10:0", got[40]) != 2 {
		t.Fatalf("numwant=45 got %v: want campus through slot 41, then off campus", got)
	}

	// ip= is believed from campus into campus only.
	s.send("127.200.0.50", 501, 24001, true, 0, "&ip=127.1.50.50")
	s.send("127.2.60.10", 502, 24002, true, 0, "&ip=127.1.60.60")
	all := strings.Join(s.send("127.1.102.10", 404, 23004, false, 200, ""), " ")
	if strings.Contains(all, "127.1.50.50") || !strings.Contains(all, "127.200.0.50:24001") {
		t.Errorf("spoofed ip= from off campus was believed: %s", all)
	}
	if !strings.Contains(all, "127.1.60.60:24002") {
		t.Errorf("ip= from a dorm was not believed: %s", all)
	}
	checkLANMetrics(t, n)
}

// newLANSwarm uploads a file and waits for the seedbox in its swarm.
func newLANSwarm(t *testing.T, n *node) *lanSwarm {
	token := n.addUser("lan", false)
	obj, code := n.upload(token, map[string][]byte{"notes.bin": randomBytes(256<<10, 42)}, nil)
	if code != 201 {
		t.Fatalf("upload: HTTP %d", code)
	}
	raw, code := n.get(token, n.url+"/torrents/"+obj.InfoHash+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: HTTP %d", code)
	}
	mi, err := metainfo.Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	s := &lanSwarm{t: t, announce: mi.Announce, ih: mi.HashInfoBytes(), seeder: map[string]bool{}}
	for _, kv := range n.env {
		if v, ok := strings.CutPrefix(kv, "SEEDBED_PEER_ADDR="); ok {
			s.seedbox = v
		}
	}
	waitFor(t, 30*time.Second, "the seedbox to announce", func() bool {
		body, _ := n.get(token, n.url+"/api/v1/torrents/"+obj.InfoHash)
		var o struct{ Seeders int }
		return json.Unmarshal(body, &o) == nil && o.Seeders >= 1
	})
	s.seeder[s.seedbox] = true
	// A new passkey reaches the tracker with the next access sync.
	scrape := strings.Replace(s.announce, "/announce/", "/scrape/", 1)
	waitFor(t, 10*time.Second, "the tracker to know the passkey", func() bool {
		resp, err := http.Get(scrape)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return !bytes.Contains(body, []byte("failure reason"))
	})
	return s
}

// checkLANMetrics reads /metrics: dorm-a peers were handed out by tier.
func checkLANMetrics(t *testing.T, n *node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`seedbed_tracker_announces_total{protocol="http",result="ok"} `, `seedbed_tracker_peers_returned_total{tier="network"} `} {
		i := strings.Index(string(body), want)
		if i < 0 || strings.HasPrefix(string(body[i+len(want):]), "0\n") {
			t.Errorf("/metrics lacks a non-zero %s:\n%s", want, body)
		}
	}
}
