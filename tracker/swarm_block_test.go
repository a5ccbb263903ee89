package tracker

import (
	"net/netip"
	"testing"
)

// A record keeps its baseline's Seen exactly as a lag behind LastSeen:
// refreshing the peer (a newer LastSeen, the baseline left alone) and
// giving it a baseline newer than its own LastSeen (the other family's
// entry) both read back the Seen that was written.
func TestRecordKeepsBaselineSeen(t *testing.T) {
	const now = 1_800_000_000
	for _, fam := range []int{fam4, fam6} {
		addr := netip.AddrFrom4([4]byte{10, 1, 2, 3})
		if fam == fam6 {
			addr = netip.MustParseAddr("fd00::7")
		}
		p := Peer{ID: [20]byte{1, 2, 3}, Addr: addr.As16(), Port: 6881, Class: 5, LastSeen: now}
		a := acct{owner: 42, seen: now, up: 7, down: 9, hi: acctSeeder | 3}
		rec := make([]byte, recSize(fam))
		putRec(rec, fam, &p, a)
		if got := recAcct(rec, fam); got != a {
			t.Fatalf("fam %d: acct %+v, want %+v", fam, got, a)
		}
		for _, step := range []struct {
			name     string
			lastSeen uint32
			seen     uint32 // 0: keep the baseline
		}{
			{"refresh 30 min later", now + 1800, 0},
			{"refresh a day later", now + 86400, 0},
			{"baseline newer than LastSeen", now + 86400, now + 90000},
			{"baseline far older", now + 86400, now + 86400 - 90*86400},
		} {
			if step.seen == 0 {
				p.LastSeen = step.lastSeen
				putPeerRec(rec, fam, &p)
			} else {
				a.seen = step.seen
				setRecAcct(rec, fam, a)
			}
			if got := recAcct(rec, fam); got != a {
				t.Fatalf("fam %d, %s: acct %+v, want %+v", fam, step.name, got, a)
			}
			var q Peer
			getRec(rec, fam, false, &q)
			if q.LastSeen != p.LastSeen || q.Port != p.Port || q.Class != p.Class || q.Addr != p.Addr || q.ID != p.ID {
				t.Fatalf("fam %d, %s: peer %+v, want %+v", fam, step.name, q, p)
			}
		}
	}
}

func TestSeenLagClamps(t *testing.T) {
	var b [3]byte
	for _, c := range []struct{ last, seen, want uint32 }{
		{1000, 1000, 1000},
		{1000, 0, 0},
		{1 << 30, 0, 1<<30 - seenLagMax}, // clamped
		{0, 1 << 30, seenLagMax},         // clamped the other way
	} {
		putSeenLag(b[:], c.last, c.seen)
		if got := getSeenLag(b[:], c.last); got != c.want {
			t.Errorf("lastSeen %d, seen %d: read %d, want %d", c.last, c.seen, got, c.want)
		}
	}
}
