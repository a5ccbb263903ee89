package tracker

import (
	"math/rand/v2"
	"testing"
)

// TestBaselineTableMatchesMap runs random puts, deletes and expiries on a
// baselineTable and a map side by side; keys are drawn from a small range
// with their low bits forced alike, so probe chains collide and wrap.
func TestBaselineTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab baselineTable
	ref := map[uint64]baseline{}
	key := func() uint64 { return rng.Uint64N(3000)<<3 | 5 }
	check := func(step int) {
		t.Helper()
		if tab.len() != len(ref) {
			t.Fatalf("step %d: %d baselines, want %d", step, tab.len(), len(ref))
		}
		for k, want := range ref {
			if got, ok := tab.get(k); !ok || got != want {
				t.Fatalf("step %d: key %d = %+v, %v; want %+v", step, k, got, ok, want)
			}
		}
	}
	for step := range 20000 {
		switch k := key(); rng.IntN(10) {
		case 0, 1, 2:
			tab.delete(k)
			delete(ref, k)
		case 3:
			if step%500 == 0 {
				cutoff := uint32(rng.IntN(1 << 20))
				tab.removeIf(func(b baseline) bool { return b.seen < cutoff })
				for k, b := range ref {
					if b.seen < cutoff {
						delete(ref, k)
					}
				}
				check(step)
			}
		default:
			b := baseline{uploaded: rng.Int64N(1 << 50), downloaded: rng.Int64N(1 << 40), seen: rng.Uint32(), seeder: rng.IntN(2) == 0}
			b.uploaded = min(b.uploaded, baselineMaxUp)
			tab.put(k, b)
			ref[k] = b
		}
	}
	check(-1)
	tab.removeIf(func(baseline) bool { return true })
	if tab.len() != 0 || len(tab.slots) != baselineMinCap {
		t.Fatalf("after removing all: %d baselines in %d slots", tab.len(), len(tab.slots))
	}
	if _, ok := tab.get(0); ok {
		t.Fatal("key 0 found in an empty table")
	}
	tab.put(0, baseline{seen: 7}) // the empty-slot marker is remapped
	if b, ok := tab.get(0); !ok || b.seen != 7 {
		t.Fatalf("key 0: %+v %v", b, ok)
	}
}

func TestBaselineCountersSaturate(t *testing.T) {
	var tab baselineTable
	tab.put(9, baseline{uploaded: 1 << 62, downloaded: 1 << 62, seen: 0xfedcba98, seeder: true})
	b, _ := tab.get(9)
	if b.uploaded != baselineMaxUp || b.downloaded != baselineMaxDown || b.seen != 0xfedcba98 || !b.seeder {
		t.Fatalf("%+v", b)
	}
}
