package tracker

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// qbQuery is what qBittorrent (libtorrent) sends, binary fields escaped.
const qbQuery = "info_hash=%12%34Vx%9a%bc%de%f0%12%34Vx%9a%bc%de%f0%12%34Vx" +
	"&peer_id=-qB4650-%21abcdefghijk&port=51413&uploaded=1024&downloaded=2048" +
	"&left=4096&corrupt=0&key=7C2D3F1A&event=started&numwant=200&compact=1" +
	"&no_peer_id=1&supportcrypto=1&redundant=0"

func TestParseAnnounce(t *testing.T) {
	ih := [20]byte{0x12, 0x34, 'V', 'x', 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 'V', 'x', 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 'V', 'x'}
	var pid [20]byte
	copy(pid[:], "-qB4650-!abcdefghijk")
	base := "info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb&port=1&uploaded=0&downloaded=0&left=0"
	tests := []struct {
		name  string
		query string
		check func(*AnnounceRequest) bool
		err   error
	}{
		{"qbittorrent", qbQuery, func(r *AnnounceRequest) bool {
			return r.InfoHash == ih && r.PeerID == pid && r.Port == 51413 && r.Uploaded == 1024 &&
				r.Downloaded == 2048 && r.Left == 4096 && r.Event == EventStarted && r.NumWant == 200 &&
				r.Compact && r.NoPeerID
		}, nil},
		{"defaults", base, func(r *AnnounceRequest) bool {
			return r.Compact && !r.NoPeerID && r.NumWant == -1 && r.Event == EventNone
		}, nil},
		{"compact=0", base + "&compact=0", func(r *AnnounceRequest) bool { return !r.Compact }, nil},
		{"plus is space", strings.Replace(base, "aaaa", "a+a+", 1), func(r *AnnounceRequest) bool {
			return string(r.InfoHash[:4]) == "a a "
		}, nil},
		{"escaped key", strings.Replace(base, "peer_id", "peer%5Fid", 1), nil, nil},
		{"last repeat wins", base + "&port=2", func(r *AnnounceRequest) bool { return r.Port == 2 }, nil},
		{"empty pairs", "&&" + base + "&&&", nil, nil},
		{"max left", base + "&left=9223372036854775807", func(r *AnnounceRequest) bool { return r.Left == 1<<63-1 }, nil},
		{"events", base + "&event=completed", func(r *AnnounceRequest) bool { return r.Event == EventCompleted }, nil},
		{"stopped", base + "&event=stopped", func(r *AnnounceRequest) bool { return r.Event == EventStopped }, nil},
		{"paused", base + "&event=paused", func(r *AnnounceRequest) bool { return r.Event == EventNone }, nil},
		{"negative numwant", base + "&numwant=-5", func(r *AnnounceRequest) bool { return r.NumWant == -1 }, nil},
		{"overflow left", base + "&left=9223372036854775808", nil, errInvalidLeft},
		{"empty port", base + "&port=", nil, errInvalidPort},
		{"port sign", base + "&port=-1", nil, errInvalidPort},
		{"19-byte hash", strings.Replace(base, "aaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaa", 1), nil, errInvalidInfoHash},
		{"truncated escape", base + "&info_hash=aaaaaaaaaaaaaaaaaaa%4", nil, errInvalidInfoHash},
		{"empty", "", nil, errMissingInfoHash},
		{"no port", strings.Replace(base, "port=1", "x=1", 1), nil, errMissingPort},
		{"no uploaded", strings.Replace(base, "uploaded=0", "x=1", 1), nil, errMissingUploaded},
		{"no downloaded", strings.Replace(base, "downloaded=0", "x=1", 1), nil, errMissingDownload},
		{"bad compact", base + "&compact=yes", nil, errInvalidCompact},
		{"bad no_peer_id", base + "&no_peer_id=yes", nil, errInvalidNoPeerID},
		{"claims (BEP 3, BEP 7)", base + "&ip=10.1.2.3&ipv4=10.1.2.4:7000&ipv6=%5Bfd00%3A%3A1%5D%3A7001", func(r *AnnounceRequest) bool {
			return r.ClaimedIP == netip.MustParseAddrPort("10.1.2.3:0") && r.ClaimedIPv4 == netip.MustParseAddrPort("10.1.2.4:7000") &&
				r.ClaimedIPv6 == netip.MustParseAddrPort("[fd00::1]:7001")
		}, nil},
		{"unusable claims are ignored", base + "&ip=laptop.example&ipv6=%zz&ipv4=", func(r *AnnounceRequest) bool {
			return !r.ClaimedIP.IsValid() && !r.ClaimedIPv4.IsValid() && !r.ClaimedIPv6.IsValid()
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req AnnounceRequest
			err := parseAnnounce(tt.query, &req)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if tt.check != nil && !tt.check(&req) {
				t.Errorf("parsed %+v", req)
			}
		})
	}
}

func TestParseAnnounceDoesNotAllocate(t *testing.T) {
	var req AnnounceRequest
	allocs := testing.AllocsPerRun(100, func() {
		req.reset()
		if err := parseAnnounce(qbQuery, &req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("parseAnnounce allocates %v times, want 0", allocs)
	}
}

func TestParseScrape(t *testing.T) {
	a, b := strings.Repeat("a", 20), "%00"+strings.Repeat("b", 19)
	var req ScrapeRequest
	if err := parseScrape("info_hash="+a+"&x=1&info_hash="+b+"&info_hash="+a, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.InfoHashes) != 3 || string(req.InfoHashes[0][:]) != a || req.InfoHashes[1][0] != 0 {
		t.Errorf("hashes %q", req.InfoHashes)
	}
	req = ScrapeRequest{}
	if err := parseScrape("", &req); err != nil || len(req.InfoHashes) != 0 {
		t.Errorf("empty scrape: %v %q", err, req.InfoHashes)
	}
}

func TestDecodeInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "42": 42, "-7": -7, "%34%32": 42, "9223372036854775807": 1<<63 - 1} {
		if got, ok := decodeInt(in); !ok || got != want {
			t.Errorf("decodeInt(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "+1", "1.5", "0x10", "12345678901234567890", "1 ", "%zz"} {
		if got, ok := decodeInt(in); ok {
			t.Errorf("decodeInt(%q) = %d, want failure", in, got)
		}
	}
}

// lastValue is what net/url makes of a parameter, the last one counting.
func lastValue(v url.Values, key string) (string, bool) {
	vs := v[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// FuzzParseAnnounce checks that the parser never panics, and that what it
// accepts agrees with net/url on the fields that matter.
func FuzzParseAnnounce(f *testing.F) {
	f.Add(qbQuery)
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb&port=1&uploaded=0&downloaded=0&left=0")
	f.Add("info%5Fhash=%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff&port=%36")
	f.Add("info_hash=++++++++++++++++++++&&=&peer_id=;&left=-0")
	f.Add("%")
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb&port=1&uploaded=0&downloaded=0&left=0&ip=10.0.0.1&ipv6=%5B%3A%3A1%5D%3A1")
	f.Fuzz(func(t *testing.T, raw string) {
		var req AnnounceRequest
		if parseAnnounce(raw, &req) != nil {
			return
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		ih, _ := lastValue(v, "info_hash")
		pid, _ := lastValue(v, "peer_id")
		if ih != string(req.InfoHash[:]) || pid != string(req.PeerID[:]) {
			t.Errorf("accepted %q: info_hash %q peer_id %q, net/url says %q and %q", raw, req.InfoHash, req.PeerID, ih, pid)
		}
		port, _ := lastValue(v, "port")
		if p, err := strconv.Atoi(port); err != nil || p != int(req.Port) {
			t.Errorf("accepted %q: port %d, net/url says %q", raw, req.Port, port)
		}
		left, _ := lastValue(v, "left")
		if l, err := strconv.ParseInt(left, 10, 64); err != nil || l != req.Left || l < 0 {
			t.Errorf("accepted %q: left %d, net/url says %q", raw, req.Left, left)
		}
	})
}

// FuzzParseScrape checks that the scrape parser never panics and accepts
// exactly the info_hash values net/url sees, in order.
func FuzzParseScrape(f *testing.F) {
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa&info_hash=%00bbbbbbbbbbbbbbbbbbb")
	f.Add("")
	f.Add("info_hash=%zz")
	f.Add("info%5fhash=cccccccccccccccccccc&passkey=x")
	f.Fuzz(func(t *testing.T, raw string) {
		var req ScrapeRequest
		if parseScrape(raw, &req) != nil {
			return
		}
		if len(req.InfoHashes) > maxScrapeHashes {
			t.Fatalf("accepted %d hashes", len(req.InfoHashes))
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		want := v["info_hash"]
		if len(want) != len(req.InfoHashes) {
			t.Fatalf("accepted %q: %d hashes, net/url says %d", raw, len(req.InfoHashes), len(want))
		}
		for i, ih := range req.InfoHashes {
			if string(ih[:]) != want[i] {
				t.Errorf("hash %d: %q, net/url says %q", i, ih, want[i])
			}
		}
	})
}
