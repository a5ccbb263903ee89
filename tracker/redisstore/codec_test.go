package redisstore

import (
	"net/netip"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// FuzzDecodeRecords: whatever a swarm hash holds, decoding never panics,
// and what decodes encodes back to the same bytes.
func FuzzDecodeRecords(f *testing.F) {
	p := tracker.NewPeer([20]byte{1, 2, 3}, netip.MustParseAddrPort("[2001:db8::1]:6881"), true, 1234567)
	p.Class = tracker.ClassCampus | 3
	rec := encodeRecord(&p)
	f.Add(string(rec[:]), true)
	f.Add(string(rec[:])+string(rec[:]), false)
	f.Add("short", false)
	f.Add("", true)
	f.Fuzz(func(t *testing.T, b string, seeder bool) {
		peers, err := decodeRecords(nil, b, seeder)
		if err != nil {
			return
		}
		var back []byte
		for i := range peers {
			if peers[i].Seeder != seeder {
				t.Fatalf("peer %d seeder %v, want %v", i, peers[i].Seeder, seeder)
			}
			r := encodeRecord(&peers[i])
			back = append(back, r[:]...)
		}
		if string(back) != b {
			t.Fatalf("records do not round-trip: %x became %x", b, back)
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	for _, ap := range []string{"10.1.2.3:1", "[2001:db8::9]:65535", "[::ffff:192.0.2.1]:80"} {
		p := tracker.NewPeer([20]byte{9, 8, 7}, netip.MustParseAddrPort(ap), false, 0xfffffffe)
		p.Class = tracker.ClassSeedbox | tracker.MaxNetworks
		rec := encodeRecord(&p)
		got, err := decodeRecords(nil, string(rec[:]), false)
		if err != nil || len(got) != 1 || got[0] != p {
			t.Errorf("%s: %+v %v, want %+v", ap, got, err, p)
		}
	}
}
