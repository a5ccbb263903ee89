package tracker

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"
)

func replyPeers() []Peer {
	id := testPeerID(7)
	return []Peer{
		NewPeer(id, netip.MustParseAddrPort("192.0.2.1:6881"), true, 0),
		NewPeer(id, netip.MustParseAddrPort("[2001:db8::1]:51413"), false, 0),
		NewPeer(id, netip.MustParseAddrPort("[::ffff:198.51.100.7]:1"), false, 0),
	}
}

func TestAppendAnnounceCompact(t *testing.T) {
	resp := AnnounceResponse{
		Interval: 1800 * time.Second, MinInterval: 900 * time.Second,
		SwarmCounts: SwarmCounts{Seeders: 3, Leechers: 4, Completed: 5},
		Peers:       replyPeers(),
	}
	body := appendAnnounce(nil, &AnnounceRequest{Compact: true}, &resp)
	decodeCanonical(t, body)
	var r compactReply
	if err := bencode.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Interval != 1800 || r.MinInterval != 900 || r.Complete != 3 || r.Incomplete != 4 || r.Downloaded != 5 {
		t.Errorf("decoded %+v", r)
	}
	want := []string{"192.0.2.1:6881", "198.51.100.7:1", "[2001:db8::1]:51413"}
	if a := r.addrs(); len(a) != 3 || a[0] != want[0] || a[1] != want[1] || a[2] != want[2] {
		t.Errorf("peers %q, want %q", a, want)
	}

	// What anacrolix's own HTTP tracker client makes of it.
	var client httpTracker.HttpResponse
	if err := bencode.Unmarshal(body, &client); err != nil {
		t.Fatal(err)
	}
	if client.FailureReason != "" || client.Interval != 1800 || len(client.Peers.List) != 2 || len(client.Peers6) != 1 {
		t.Errorf("anacrolix client sees %+v", client)
	}
}

func TestAppendAnnounceEmptyPeers(t *testing.T) {
	resp := AnnounceResponse{Interval: time.Second, MinInterval: time.Second}
	got := string(appendAnnounce(nil, &AnnounceRequest{Compact: true}, &resp))
	want := "d8:completei0e10:downloadedi0e10:incompletei0e8:intervali1e12:min intervali1e5:peers0:e"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = string(appendAnnounce(nil, &AnnounceRequest{}, &resp))
	if want := "d8:completei0e10:downloadedi0e10:incompletei0e8:intervali1e12:min intervali1e5:peerslee"; got != want {
		t.Errorf("non-compact got %q\nwant %q", got, want)
	}
}

func TestAppendAnnounceDict(t *testing.T) {
	resp := AnnounceResponse{Peers: replyPeers()[:2]}
	body := appendAnnounce(nil, &AnnounceRequest{}, &resp)
	decodeCanonical(t, body)
	var client httpTracker.HttpResponse
	if err := bencode.Unmarshal(body, &client); err != nil {
		t.Fatal(err)
	}
	id := testPeerID(7)
	l := client.Peers.List
	if len(l) != 2 || l[0].String() != "2d534230303031"+"2d303030303030303030303037 at 192.0.2.1:6881" ||
		l[1].IP.String() != "2001:db8::1" || string(l[1].ID) != string(id[:]) {
		t.Errorf("anacrolix client sees %v", l)
	}
}

func TestAppendFailure(t *testing.T) {
	body := appendFailure(nil, "unknown passkey")
	if string(body) != "d14:failure reason15:unknown passkeye" {
		t.Errorf("got %q", body)
	}
}

func TestAppendScrape(t *testing.T) {
	files := []ScrapeFile{
		{InfoHash: ihTwo, Registered: true, SwarmCounts: SwarmCounts{Seeders: 1}},
		{InfoHash: ihStray},
		{InfoHash: ihOne, Registered: true, SwarmCounts: SwarmCounts{Leechers: 2, Completed: 3}},
		{InfoHash: ihTwo, Registered: true, SwarmCounts: SwarmCounts{Seeders: 1}},
	}
	body := appendScrape(nil, files)
	decodeCanonical(t, body)
	var got struct {
		Files map[string]struct {
			Complete   int `bencode:"complete"`
			Downloaded int `bencode:"downloaded"`
			Incomplete int `bencode:"incomplete"`
		} `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 2 || got.Files[string(ihOne[:])].Downloaded != 3 || got.Files[string(ihTwo[:])].Complete != 1 {
		t.Errorf("decoded %+v", got.Files)
	}
}
