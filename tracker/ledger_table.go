package tracker

// baselineTable holds a ledger shard's baselines by baseline key: open
// addressing with linear probing and 24-byte slots, deletion by backward
// shift (no tombstones). A million baselines take about 40 MB in it, where
// a Go map of the same keys and values took 84 MB.
//
// A slot packs its baseline into two words: uploaded in 47 bits and
// downloaded in 48 (counters saturate there, at 128 and 256 TiB per client
// session, so a session reporting more is credited up to that), the seeder
// bit, and the 32-bit time of the last credited announce split over both
// words' top 16 bits.
type baselineTable struct {
	slots []baselineSlot
	n     int
}

type baselineSlot struct {
	key    uint64 // 0: empty
	w1, w2 uint64
}

const (
	baselineMaxUp   = 1<<47 - 1
	baselineMaxDown = 1<<48 - 1
	baselineSeeder  = 1 << 47
	baselineMinCap  = 8
)

func packBaseline(b baseline) (w1, w2 uint64) {
	w1 = uint64(min(max(b.uploaded, 0), baselineMaxUp)) | uint64(b.seen&0xffff)<<48
	if b.seeder {
		w1 |= baselineSeeder
	}
	w2 = uint64(min(max(b.downloaded, 0), baselineMaxDown)) | uint64(b.seen>>16)<<48
	return w1, w2
}

func (s *baselineSlot) baseline() baseline {
	return baseline{
		uploaded:   int64(s.w1 & baselineMaxUp),
		downloaded: int64(s.w2 & baselineMaxDown),
		seen:       uint32(s.w1>>48) | uint32(s.w2>>48)<<16,
		seeder:     s.w1&baselineSeeder != 0,
	}
}

// nonZero maps the one key that marks an empty slot to another.
func nonZero(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return k
}

func (t *baselineTable) len() int { return t.n }

// find returns the slot of k, or of the hole where k would go.
func (t *baselineTable) find(k uint64) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case k:
			return int(i), true
		case 0:
			return int(i), false
		}
	}
}

func (t *baselineTable) get(k uint64) (baseline, bool) {
	if t.n == 0 {
		return baseline{}, false
	}
	i, ok := t.find(nonZero(k))
	if !ok {
		return baseline{}, false
	}
	return t.slots[i].baseline(), true
}

func (t *baselineTable) put(k uint64, b baseline) {
	k = nonZero(k)
	if (t.n+1)*5 > len(t.slots)*4 { // keep the load at most 0.8
		t.resize(max(2*len(t.slots), baselineMinCap))
	}
	i, ok := t.find(k)
	if !ok {
		t.n++
	}
	w1, w2 := packBaseline(b)
	t.slots[i] = baselineSlot{key: k, w1: w1, w2: w2}
}

func (t *baselineTable) delete(k uint64) {
	if t.n == 0 {
		return
	}
	if i, ok := t.find(nonZero(k)); ok {
		t.deleteAt(i)
	}
}

// deleteAt empties slot i and shifts back the slots after it whose probe
// sequence passes through i, so that every key stays reachable.
func (t *baselineTable) deleteAt(i int) {
	mask := len(t.slots) - 1
	hole := i
	for j := (i + 1) & mask; t.slots[j].key != 0; j = (j + 1) & mask {
		home := int(t.slots[j].key) & mask
		// Move j into the hole unless its home lies cyclically in (hole, j].
		if (j-home)&mask >= (j-hole)&mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = baselineSlot{}
	t.n--
}

// removeIf deletes every baseline for which drop is true, and shrinks the
// table when it became mostly empty.
func (t *baselineTable) removeIf(drop func(baseline) bool) {
	for i := 0; i < len(t.slots); {
		if t.slots[i].key != 0 && drop(t.slots[i].baseline()) {
			t.deleteAt(i) // a later slot may have moved into i: look again
			continue
		}
		i++
	}
	if len(t.slots) > baselineMinCap && t.n*8 < len(t.slots) {
		c := baselineMinCap
		for c*2 < t.n*4 { // load about 0.5 after shrinking
			c *= 2
		}
		t.resize(c)
	}
}

func (t *baselineTable) resize(capacity int) {
	old := t.slots
	t.slots = make([]baselineSlot, capacity)
	for _, s := range old {
		if s.key != 0 {
			i, _ := t.find(s.key)
			t.slots[i] = s
		}
	}
}
