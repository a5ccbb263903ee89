package tracker

import (
	"net/url"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/tracker/udp"
)

func scrapePath(passkey string, hashes ...[20]byte) string {
	v := url.Values{}
	for _, ih := range hashes {
		v.Add("info_hash", string(ih[:]))
	}
	return "/scrape/" + passkey + "?" + v.Encode()
}

func TestScrape(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, event: "completed"})
	h.announce(t, ann{peer: 2, left: 5})
	h.announce(t, ann{ih: ihTwo, peer: 3, left: 5})

	body := h.get(t, scrapePath("bob", ihTwo, ihStray, ihOne, ihOne), "10.0.0.9:1")
	decodeCanonical(t, body)
	var reply struct {
		Files map[string]udp.ScrapeInfohashResult `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatal(err)
	}
	want := map[string]udp.ScrapeInfohashResult{
		string(ihOne[:]): {Seeders: 1, Leechers: 1, Completed: 1},
		string(ihTwo[:]): {Leechers: 1},
	}
	if len(reply.Files) != len(want) {
		t.Fatalf("files %v, want %v (unregistered omitted, duplicates once)", reply.Files, want)
	}
	for k, w := range want {
		if reply.Files[k] != w {
			t.Errorf("files[%x] = %+v, want %+v", k, reply.Files[k], w)
		}
	}
}

func TestScrapeWithoutInfoHashIsEmpty(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1})
	if body := h.get(t, "/scrape/alice", "10.0.0.9:1"); string(body) != "d5:filesdee" {
		t.Errorf("scrape without info_hash: %q, want an empty files dict", body)
	}
}

func TestScrapeFailures(t *testing.T) {
	h := newHarness(t, Options{})
	tooMany := make([][20]byte, maxScrapeHashes+1)
	tests := map[string]string{
		scrapePath("nobody", ihOne):              "unknown passkey",
		scrapePath("mallory", ihOne):             "account disabled",
		"/scrape/alice?info_hash=short":          "invalid info_hash",
		scrapePath("alice", tooMany...):          "too many info_hash parameters",
		"/scrape?info_hash=aaaaaaaaaaaaaaaaaaaa": "missing passkey",
	}
	for target, want := range tests {
		if got := h.failure(t, target, "10.0.0.9:1"); got != want {
			t.Errorf("%.40s: %q, want %q", target, got, want)
		}
	}
}
