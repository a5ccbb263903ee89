package tracker

import (
	"encoding/binary"
	"math/bits"
)

// swarmTable is one shard's swarms by infohash: an open-addressing hash
// table (linear probing, deletion by backward shift, so no tombstones) in
// memory mapped outside the Go heap. A slot is 28 bytes: the infohash and
// the handles of the swarm's IPv4 and IPv6 blocks (see swarm_block.go);
// both 0 is a free slot, as a swarm without peers is not kept. A Go map of
// pointers to per-swarm structs cost about 3 times as much, doubled by the
// garbage collector's headroom.
type swarmTable struct {
	mem  []byte // slots of tableSlot bytes; nil: no slots yet
	mask int    // slots - 1
	n    int    // swarms
}

const (
	tableSlot     = 28
	tableMinSlots = 128
)

// tableHash spreads an infohash over the slots. It mixes all of its
// bytes: infohashes made up in tests and benchmarks, unlike SHA-1 sums,
// differ in a few bytes only (ih[4:12] alone put all of a shard's
// benchmark swarms on one slot).
func tableHash(ih *[20]byte) int { return int(hash20(ih, 0) >> 32) }

// hash20 mixes ih and x into 64 bits (wyhash's mum step).
func hash20(ih *[20]byte, x uint64) uint64 {
	le := binary.LittleEndian
	a := mum(le.Uint64(ih[0:8])^0xa0761d6478bd642f, le.Uint64(ih[8:16])^0xe7037ed1a0b428db)
	b := mum(uint64(le.Uint32(ih[16:20]))^0x8ebc6af09c88c6e3, x^0x589965cc75374cc3)
	return mum(a^0x1d8e4e27c47d124f, b)
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *swarmTable) slot(i int) []byte {
	return t.mem[i*tableSlot : (i+1)*tableSlot : (i+1)*tableSlot]
}

func slotFree(sl []byte) bool { return binary.LittleEndian.Uint64(sl[20:]) == 0 }

// handles returns the block handles of slot i.
func (t *swarmTable) handles(i int) [2]uint32 {
	sl := t.slot(i)
	return [2]uint32{binary.LittleEndian.Uint32(sl[20:]), binary.LittleEndian.Uint32(sl[24:])}
}

// handle returns the handle of family fam's block of slot i.
func (t *swarmTable) handle(i, fam int) uint32 {
	return binary.LittleEndian.Uint32(t.mem[i*tableSlot+20+4*fam:])
}

func (t *swarmTable) setHandles(i int, h [2]uint32) {
	sl := t.slot(i)
	binary.LittleEndian.PutUint32(sl[20:], h[0])
	binary.LittleEndian.PutUint32(sl[24:], h[1])
}

// infohash returns the infohash of the swarm in slot i.
func (t *swarmTable) infohash(i int) (ih [20]byte) {
	copy(ih[:], t.slot(i))
	return ih
}

// find returns the slot of ih.
func (t *swarmTable) find(ih *[20]byte) (int, bool) {
	if t.n == 0 {
		return 0, false
	}
	for i := tableHash(ih) & t.mask; ; i = (i + 1) & t.mask {
		sl := t.slot(i)
		if slotFree(sl) {
			return 0, false
		}
		if sameID((*[20]byte)(sl), ih) {
			return i, true
		}
	}
}

// insert puts ih with handles h (not both 0), which must not be there,
// growing the table first when it is 80% full, and returns its slot.
func (t *swarmTable) insert(s *slab, ih *[20]byte, h [2]uint32) int {
	if (t.n+1)*5 > (t.mask+1)*4 || t.mem == nil {
		t.resize(s, max(tableMinSlots, 2*(t.mask+1)))
	}
	i := tableHash(ih) & t.mask
	for !slotFree(t.slot(i)) {
		i = (i + 1) & t.mask
	}
	copy(t.slot(i), ih[:])
	t.setHandles(i, h)
	t.n++
	return i
}

// remove frees slot i, moving back the entries after it that would no
// longer be found.
func (t *swarmTable) remove(i int) {
	for j := i; ; {
		j = (j + 1) & t.mask
		sl := t.slot(j)
		if slotFree(sl) {
			break
		}
		home := tableHash((*[20]byte)(sl[:20])) & t.mask
		if i <= j && i < home && home <= j || i > j && (i < home || home <= j) {
			continue // found from its home without passing i
		}
		copy(t.slot(i), sl)
		i = j
	}
	clear(t.slot(i))
	t.n--
}

// shrink makes the table smaller when it is less than an eighth full. It
// moves slots, so no slot number may be held across it.
func (t *swarmTable) shrink(s *slab) {
	slots := t.mask + 1
	if t.mem == nil || slots <= tableMinSlots || t.n*8 >= slots {
		return
	}
	want := tableMinSlots
	for want < 2*t.n {
		want *= 2
	}
	t.resize(s, want)
}

// resize moves the swarms into a table of slots slots (a power of two; 0:
// none).
func (t *swarmTable) resize(s *slab, slots int) {
	old, oldSlots := t.mem, t.mask+1
	t.mem, t.mask, t.n = nil, 0, 0
	if slots > 0 {
		t.mem = s.mapTable((slots*tableSlot + pageSize - 1) &^ (pageSize - 1))
		t.mask = slots - 1
	}
	if old == nil {
		return
	}
	for i := range oldSlots {
		sl := old[i*tableSlot : (i+1)*tableSlot]
		if !slotFree(sl) {
			ih := [20]byte(sl[:20])
			j := tableHash(&ih) & t.mask
			for !slotFree(t.slot(j)) {
				j = (j + 1) & t.mask
			}
			copy(t.slot(j), sl)
			t.n++
		}
	}
	s.unmapTable(old)
}

// release unmaps the table's memory.
func (t *swarmTable) release(s *slab) {
	if t.mem != nil {
		s.unmapTable(t.mem)
	}
	*t = swarmTable{}
}
