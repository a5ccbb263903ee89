package tracker

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzBencodeWriter: whatever the peers, counts and texts, the reply
// writers produce canonical bencode that decodes back to the same values
// (BEP 3, BEP 23, BEP 7, BEP 48).
func FuzzBencodeWriter(f *testing.F) {
	f.Add("unknown passkey", []byte{192, 0, 2, 1, 0x1a, 0xe1}, true, false, int64(1800), 3, 4, 5)
	f.Add("", []byte{}, false, true, int64(0), 0, 0, 0)
	f.Add("é\x00:e", make([]byte, 48), false, false, int64(-1), -1, 1<<30, 7)
	f.Fuzz(func(t *testing.T, reason string, raw []byte, compact, noPeerID bool, interval int64, seeders, leechers, completed int) {
		if m := decodeCanonical(t, appendFailure(nil, reason)); m["failure reason"] != reason {
			t.Fatalf("failure reason %q decoded as %q", reason, m["failure reason"])
		}
		var peers []Peer
		var v4, v6 int
		for i := 0; len(raw) > 0; i++ {
			var ap netip.AddrPort
			if raw[0]&1 == 0 && len(raw) >= 7 {
				ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[1:5])), uint16(raw[5])<<8|uint16(raw[6]))
				raw = raw[7:]
				v4++
			} else if len(raw) >= 19 {
				ap = netip.AddrPortFrom(netip.AddrFrom16([16]byte(raw[1:17])).Unmap(), uint16(raw[17])<<8|uint16(raw[18]))
				raw = raw[19:]
				if ap.Addr().Is4() {
					v4++
				} else {
					v6++
				}
			} else {
				break
			}
			peers = append(peers, NewPeer(testPeerID(i), ap, i%2 == 0, 0))
		}
		resp := AnnounceResponse{Interval: time.Duration(interval) * time.Second, MinInterval: time.Second,
			SwarmCounts: SwarmCounts{Seeders: seeders, Leechers: leechers, Completed: completed}, Peers: peers}
		m := decodeCanonical(t, appendAnnounce(nil, &AnnounceRequest{Compact: compact, NoPeerID: noPeerID}, &resp))
		if m["complete"] != int64(seeders) || m["incomplete"] != int64(leechers) || m["downloaded"] != int64(completed) ||
			m["interval"] != interval {
			t.Fatalf("counts decoded as %v", m)
		}
		if _, bad := m["failure reason"]; bad {
			t.Fatal("a success reply carries a failure reason")
		}
		if compact {
			if s, _ := m["peers"].(string); len(s) != 6*v4 {
				t.Fatalf("peers: %d bytes for %d IPv4 peers", len(s), v4)
			}
			if s, _ := m["peers6"].(string); len(s) != 18*v6 {
				t.Fatalf("peers6: %d bytes for %d IPv6 peers", len(s), v6)
			}
		} else if l, _ := m["peers"].([]any); len(l) != len(peers) {
			t.Fatalf("peers: %d dicts for %d peers", len(l), len(peers))
		}
		files := []ScrapeFile{{InfoHash: [20]byte{1}, Registered: true, SwarmCounts: resp.SwarmCounts}}
		decodeCanonical(t, appendScrape(nil, files))
	})
}
