package tracker

import (
	"net/http/httptest"
	"net/url"
	"testing"

	httpTracker "github.com/anacrolix/torrent/tracker/http"
	"github.com/anacrolix/torrent/tracker/shared"
)

// TestAnacrolixClient talks to the tracker over real HTTP with anacrolix's
// tracker client, which sends its own query (key, supportcrypto, ...) and
// decodes the reply its own way. (Its Scrape derives the URL as
// "<announce>/../scrape", which a passkey in the path defeats.)
func TestAnacrolixClient(t *testing.T) {
	h := newHarness(t, Options{})
	srv := httptest.NewServer(h.tr)
	defer srv.Close()
	h.announce(t, ann{peer: 1, left: 0, remote: "10.0.0.1", port: 1001})

	u, err := url.Parse(srv.URL + "/announce/alice")
	if err != nil {
		t.Fatal(err)
	}
	cl := httpTracker.NewClient(u, httpTracker.NewClientOpts{})
	defer cl.Close()
	resp, err := cl.Announce(t.Context(), httpTracker.AnnounceRequest{
		InfoHash: ihOne, PeerId: testPeerID(2), Port: 2002, Left: 100, Event: shared.Started, NumWant: -1,
	}, httpTracker.AnnounceOpt{})
	if err != nil {
		t.Fatalf("announce: %v", err)
	}
	if resp.Seeders != 1 || resp.Leechers != 1 || len(resp.Peers) != 1 || resp.Peers[0].String() != "10.0.0.1:1001" {
		t.Errorf("announce reply %+v", resp)
	}
	if resp.Interval < 1620 {
		t.Errorf("interval %d", resp.Interval)
	}

}
