package tracker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/tracker/udp"
)

// encodeUDPRequest is the client side of parseUDPRequest: header, the fixed
// body of r.action, then r.options verbatim.
func encodeUDPRequest(r *udpRequest) []byte {
	be := binary.BigEndian
	b := be.AppendUint64(nil, r.connID)
	b = be.AppendUint32(b, r.action)
	b = be.AppendUint32(b, r.txID)
	switch r.action {
	case udpActionAnnounce:
		b = append(b, r.infoHash[:]...)
		b = append(b, r.peerID[:]...)
		b = be.AppendUint64(b, uint64(r.downloaded))
		b = be.AppendUint64(b, uint64(r.left))
		b = be.AppendUint64(b, uint64(r.uploaded))
		b = be.AppendUint32(b, uint32(r.event))
		b = be.AppendUint32(b, r.ip)
		b = be.AppendUint32(b, r.key)
		b = be.AppendUint32(b, uint32(r.numWant))
		b = be.AppendUint16(b, r.port)
	case udpActionScrape:
		for _, ih := range r.infoHashes {
			b = append(b, ih[:]...)
		}
	}
	return append(b, r.options...)
}

// urlOptions encodes BEP 41 URLData the way anacrolix's client does (parts
// of at most 255 bytes).
func urlOptions(url string) []byte { return udp.Options{RequestUri: url}.Encode() }

func testAnnouncePacket(opts []byte) []byte {
	return encodeUDPRequest(&udpRequest{
		connID: 0x1122334455667788, action: udpActionAnnounce, txID: 7,
		infoHash: ihOne, peerID: testPeerID(1), downloaded: 1, left: 2, uploaded: 3,
		event: EventStarted, ip: 0x0a000001, key: 9, numWant: -1, port: 6881, options: opts,
	})
}

func testScrapePacket(ihs [][20]byte, opts []byte) []byte {
	return encodeUDPRequest(&udpRequest{connID: 1, action: udpActionScrape, txID: 8, infoHashes: ihs, options: opts})
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseUDPRequest(t *testing.T) {
	long := "/announce/" + strings.Repeat("k", 300) // two URLData parts
	connect := encodeUDPRequest(&udpRequest{connID: udpProtocolID, txID: 5})
	tests := []struct {
		name    string
		pkt     []byte
		err     error
		url     string
		hashes  int
		options int // len(options)
	}{
		{"connect", connect, nil, "", 0, 0},
		{"connect with trailing bytes", cat(connect, []byte{1, 2}), nil, "", 0, 2},
		{"connect without protocol id", encodeUDPRequest(&udpRequest{connID: 1}), errUDPNotBEP15, "", 0, 0},
		{"short header", connect[:15], errUDPNoHeader, "", 0, 0},
		{"unknown action", encodeUDPRequest(&udpRequest{connID: 1, action: 9}), errUDPUnknownAction, "", 0, 0},
		{"announce, no options", testAnnouncePacket(nil), nil, "", 0, 0},
		{"announce, short", testAnnouncePacket(nil)[:97], errUDPShortRequest, "", 0, 0},
		{"announce, URLData", testAnnouncePacket(urlOptions("/announce/alice")), nil, "/announce/alice", 0, 17},
		{"announce, URLData in two parts", testAnnouncePacket(urlOptions(long)), nil, long, 0, 314},
		{"announce, parts split by hand", testAnnouncePacket([]byte("\x02\x05/anno\x02\x0aunce/alice")), nil, "/announce/alice", 0, 19},
		{"announce, NOP and EndOfOptions", testAnnouncePacket([]byte("\x01\x01\x02\x03/an\x00\x02\x02xx")), nil, "/an", 0, 12},
		{"announce, unknown option skipped", testAnnouncePacket([]byte("\x07\x02ab\x02\x01/")), nil, "/", 0, 7},
		{"announce, old extensions field", testAnnouncePacket([]byte{0, 0}), nil, "", 0, 2},
		{"announce, option without length", testAnnouncePacket([]byte{2}), errUDPBadOptions, "", 0, 0},
		{"announce, length past the end", testAnnouncePacket([]byte("\x02\x0a/announce")), errUDPBadOptions, "", 0, 0},
		{"announce, truncated second part", testAnnouncePacket([]byte("\x02\x01/\x02")), errUDPBadOptions, "", 0, 0},
		{"announce, URL data too long", testAnnouncePacket(urlOptions(strings.Repeat("/", udpMaxURLData+1))), errUDPURLTooLong, "", 0, 0},
		{"announce, bad event", bytes.Replace(testAnnouncePacket(nil), []byte{0, 0, 0, 2, 0x0a}, []byte{0, 0, 0, 4, 0x0a}, 1), errInvalidEvent, "", 0, 0},
		{"announce, too large", testAnnouncePacket(make([]byte, udpMaxOptions+1)), errUDPTooLarge, "", 0, 0},
		{"announce, the most options", testAnnouncePacket(make([]byte, udpMaxOptions)), nil, "", 0, udpMaxOptions},
		{"scrape, too large", testScrapePacket([][20]byte{ihOne}, make([]byte, udpMaxScrape*20+udpMaxOptions-19)), errUDPTooLarge, "", 0, 0},
		{"scrape, one hash", testScrapePacket([][20]byte{ihOne}, nil), nil, "", 1, 0},
		{"scrape, three hashes", testScrapePacket([][20]byte{ihOne, ihTwo, ihStray}, nil), nil, "", 3, 0},
		{"scrape, none", testScrapePacket(nil, nil), errMissingInfoHash, "", 0, 0},
		{"scrape, partial hash ignored", testScrapePacket([][20]byte{ihOne}, []byte("abc")), nil, "", 1, 3},
		{"scrape, URLData", testScrapePacket([][20]byte{ihOne, ihTwo}, urlOptions("/scrape/alice")), nil, "/scrape/alice", 2, 15},
		// 20 bytes of options: a multiple of the hash size.
		{"scrape, URLData of 20 bytes", testScrapePacket([][20]byte{ihOne}, urlOptions("/announce/bob?x=12")), nil, "/announce/bob?x=12", 1, 20},
		{"scrape, URLData then EndOfOptions", testScrapePacket([][20]byte{ihOne}, cat(urlOptions("/x"), []byte{0, 9})), nil, "/x", 1, 6},
		{"scrape, too many", testScrapePacket(make([][20]byte, udpMaxScrape+1), urlOptions("/x")), errUDPTooManyHashes, "", 0, 0},
		{"scrape, the most", testScrapePacket(make([][20]byte, udpMaxScrape), urlOptions("/x")), nil, "/x", udpMaxScrape, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r udpRequest
			err := parseUDPRequest(tc.pkt, &r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if string(r.urlData) != tc.url || len(r.infoHashes) != tc.hashes || len(r.options) != tc.options {
				t.Errorf("url %q, %d hashes, %d option bytes; want %q, %d, %d",
					r.urlData, len(r.infoHashes), len(r.options), tc.url, tc.hashes, tc.options)
			}
			if got := encodeUDPRequest(&r); !bytes.Equal(got, tc.pkt) {
				t.Errorf("re-encoded\n%x\nwant\n%x", got, tc.pkt)
			}
		})
	}
}

func TestParseUDPAnnounceFields(t *testing.T) {
	var r udpRequest
	if err := parseUDPRequest(testAnnouncePacket(urlOptions("/announce/alice?x=1")), &r); err != nil {
		t.Fatal(err)
	}
	want := udpRequest{
		connID: 0x1122334455667788, action: udpActionAnnounce, txID: 7,
		infoHash: ihOne, peerID: testPeerID(1), downloaded: 1, left: 2, uploaded: 3,
		event: EventStarted, ip: 0x0a000001, key: 9, numWant: -1, port: 6881,
	}
	got := r
	got.options, got.urlData, got.infoHashes = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", got, want)
	}
	if string(udpPasskey(r.urlData, false)) != "alice" {
		t.Errorf("passkey of %q", r.urlData)
	}
}

func TestUDPPasskey(t *testing.T) {
	tests := []struct {
		url    string
		scrape bool
		want   string
	}{
		{"/announce/abc", false, "abc"},
		{"/announce/abc?info_hash=x&y=/z", false, "abc"},
		{"/announce/", false, ""},
		{"/announce", false, ""},
		{"/announce/abc/def", false, ""},
		{"/scrape/abc", false, ""},
		{"/scrape/abc", true, "abc"},
		{"/announce/abc", true, "abc"},
		{"announce/abc", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		if got := string(udpPasskey([]byte(tc.url), tc.scrape)); got != tc.want {
			t.Errorf("udpPasskey(%q, %v) = %q, want %q", tc.url, tc.scrape, got, tc.want)
		}
	}
}

// FuzzParseUDPPacket: parsing never panics, stays within its limits, and a
// request that parses re-encodes to the very same bytes.
func FuzzParseUDPPacket(f *testing.F) {
	f.Add(encodeUDPRequest(&udpRequest{connID: udpProtocolID}))
	f.Add(testAnnouncePacket(nil))
	f.Add(testAnnouncePacket(urlOptions("/announce/alice?a=b")))
	f.Add(testAnnouncePacket([]byte("\x01\x02\x03/an\x00xyz")))
	f.Add(testAnnouncePacket([]byte("\x02\x09/ann")))
	f.Add(testScrapePacket([][20]byte{ihOne, ihTwo}, urlOptions("/scrape/bob")))
	f.Add(testScrapePacket([][20]byte{ihOne}, []byte{2}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r udpRequest
		if err := parseUDPRequest(b, &r); err != nil {
			return
		}
		if len(r.urlData) > udpMaxURLData || len(r.infoHashes) > udpMaxScrape {
			t.Fatalf("limits exceeded: %d bytes of URL data, %d hashes", len(r.urlData), len(r.infoHashes))
		}
		if r.action == udpActionScrape && len(r.infoHashes) == 0 {
			t.Fatal("a scrape without info hashes parsed")
		}
		if got := encodeUDPRequest(&r); !bytes.Equal(got, b) {
			t.Fatalf("round trip\n got %x\nwant %x", got, b)
		}
		_ = udpPasskey(r.urlData, r.action == udpActionScrape)
	})
}
