package tracker

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDeltaTableMatchesMap merges random deltas into a deltaTable and into a
// Go map, across growth and drains, and compares what the drains hand out.
func TestDeltaTableMatchesMap(t *testing.T) {
	type key struct {
		user uint64
		ih   [20]byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var tb deltaTable
	defer tb.release()
	for round, n := range []int{10, 5000, 20, 0, 3000} {
		want := map[key]StatDelta{}
		for range n {
			// Few users and torrents: most deltas merge into an entry.
			d := StatDelta{UserID: uint64(rng.IntN(40)), Uploaded: rng.Int64N(1 << 40),
				Downloaded: rng.Int64N(1 << 40), SeedingSeconds: rng.Int64N(3600),
				Completed: rng.IntN(20) == 0, Leeching: rng.IntN(3) == 0}
			tor := rng.IntN(200)
			d.TorrentID = uint64(tor + 1)
			d.InfoHash[0], d.InfoHash[19] = byte(tor), byte(tor>>8) // [8:16] all 0: one hash per user
			if round == 3 {
				d.InfoHash, d.UserID = [20]byte{}, 0 // the zero key is an entry like any other
			}
			tb.add(&d)
			k := key{d.UserID, d.InfoHash}
			p, ok := want[k]
			if ok {
				d.Uploaded += p.Uploaded
				d.Downloaded += p.Downloaded
				d.SeedingSeconds += p.SeedingSeconds
				d.Completed = d.Completed || p.Completed
				d.Leeching = d.Leeching || p.Leeching
			}
			want[k] = d
		}
		if tb.n != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, tb.n, len(want))
		}
		got := tb.drain(nil)
		if tb.n != 0 || slices.ContainsFunc(tb.mem, func(b byte) bool { return b != 0 }) {
			t.Fatalf("round %d: drain left %d entries", round, tb.n)
		}
		wantList := make([]StatDelta, 0, len(want))
		for _, d := range want {
			wantList = append(wantList, d)
		}
		order := func(a, b StatDelta) int {
			return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.TorrentID, b.TorrentID))
		}
		slices.SortFunc(got, order)
		slices.SortFunc(wantList, order)
		if !slices.Equal(got, wantList) {
			t.Fatalf("round %d: drained %d deltas, want %d; first differences: %v", round, len(got), len(wantList),
				firstDiff(got, wantList))
		}
	}
}

func firstDiff(a, b []StatDelta) []StatDelta {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []StatDelta{a[i], b[i]}
		}
	}
	return nil
}

// TestDeltaTableSizesFromLastDrain: a table keeps or maps what the last
// drain found needed, so a busy flush interval does not grow it entry by
// entry again, and a quiet one gives the memory back.
func TestDeltaTableSizesFromLastDrain(t *testing.T) {
	var tb deltaTable
	defer tb.release()
	fill := func(n int) {
		for i := range n {
			d := StatDelta{UserID: uint64(i), TorrentID: 1, Leeching: true}
			tb.add(&d)
		}
	}
	fill(10_000)
	tb.drain(nil)
	fill(1)
	big := tb.mask + 1
	if big*3 < 10_000*4 {
		t.Fatalf("after a drain of 10,000: %d slots, want room for 10,000 at 3/4", big)
	}
	tb.drain(nil)
	if tb.mem != nil {
		t.Fatalf("after a drain of 1: %d bytes kept, want none", len(tb.mem))
	}
	fill(1)
	if tb.mask+1 != deltaMinSlots {
		t.Fatalf("after a drain of 1: %d slots, want %d", tb.mask+1, deltaMinSlots)
	}
}
