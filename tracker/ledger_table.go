package tracker

import (
	"encoding/binary"
	"math/bits"
)

// deltaTable is one ledger shard's pending deltas by (user, infohash): an
// open-addressing hash table (linear probing, at most 3/4 full) of 64-byte
// entries in memory mapped outside the Go heap, like the memory store's
// swarm tables (see swarm_table.go). A Go map of StatDelta took about 130
// bytes per delta on the heap, doubled by the garbage collector's
// headroom. An entry:
//
//	offset  size  field
//	0       20    infohash
//	20      4     flags: deltaUsed, deltaCompleted, deltaLeeching
//	24      8     user ID
//	32      8     torrent ID
//	40      8     uploaded
//	48      8     downloaded
//	56      8     seeding seconds
//
// Entries are only added between drains, which empty the table, so there
// is no deletion. Multi-byte fields are little-endian.
type deltaTable struct {
	mem  []byte // nil: no entries yet
	mask int    // slots - 1
	n    int    // entries
	// want is the slots to map on the next add into an empty table: what
	// the last drain found needed.
	want int
}

const (
	deltaEntry    = 64
	deltaMinSlots = pageSize / deltaEntry

	deltaUsed      = 1
	deltaCompleted = 2
	deltaLeeching  = 4
)

func deltaHash(user uint64, ih *[20]byte) int { return int(hash20(ih, user) >> 32) }

func (t *deltaTable) entry(i int) []byte {
	return t.mem[i*deltaEntry : (i+1)*deltaEntry : (i+1)*deltaEntry]
}

// add merges d into the table.
func (t *deltaTable) add(d *StatDelta) {
	if t.mem == nil || (t.n+1)*4 > (t.mask+1)*3 {
		t.resize(max(deltaMinSlots, t.want, 2*(t.mask+1)))
	}
	e := t.slotOf(d.UserID, &d.InfoHash)
	le := binary.LittleEndian
	flags := le.Uint32(e[20:])
	if flags&deltaUsed == 0 {
		copy(e, d.InfoHash[:])
		le.PutUint64(e[24:], d.UserID)
		le.PutUint64(e[32:], d.TorrentID)
		t.n++
	}
	flags |= deltaUsed
	if d.Completed {
		flags |= deltaCompleted
	}
	if d.Leeching {
		flags |= deltaLeeching
	}
	le.PutUint32(e[20:], flags)
	le.PutUint64(e[40:], le.Uint64(e[40:])+uint64(d.Uploaded))
	le.PutUint64(e[48:], le.Uint64(e[48:])+uint64(d.Downloaded))
	le.PutUint64(e[56:], le.Uint64(e[56:])+uint64(d.SeedingSeconds))
}

// slotOf returns the entry of (user, ih), or the free one where it goes.
func (t *deltaTable) slotOf(user uint64, ih *[20]byte) []byte {
	for i := deltaHash(user, ih) & t.mask; ; i = (i + 1) & t.mask {
		e := t.entry(i)
		if binary.LittleEndian.Uint32(e[20:])&deltaUsed == 0 ||
			binary.LittleEndian.Uint64(e[24:]) == user && sameID((*[20]byte)(e), ih) {
			return e
		}
	}
}

func getDelta(e []byte) StatDelta {
	le := binary.LittleEndian
	flags := le.Uint32(e[20:])
	return StatDelta{
		UserID: le.Uint64(e[24:]), TorrentID: le.Uint64(e[32:]), InfoHash: [20]byte(e),
		Uploaded: int64(le.Uint64(e[40:])), Downloaded: int64(le.Uint64(e[48:])),
		SeedingSeconds: int64(le.Uint64(e[56:])),
		Completed:      flags&deltaCompleted != 0, Leeching: flags&deltaLeeching != 0,
	}
}

// resize moves the entries into a table of slots slots (a power of two).
func (t *deltaTable) resize(slots int) {
	slots = pow2(slots)
	old, oldSlots := t.mem, t.mask+1
	t.mem, t.mask = mapChunk(slots*deltaEntry), slots-1
	if old == nil {
		return
	}
	for i := range oldSlots {
		e := old[i*deltaEntry : (i+1)*deltaEntry]
		if binary.LittleEndian.Uint32(e[20:])&deltaUsed != 0 {
			copy(t.slotOf(binary.LittleEndian.Uint64(e[24:]), (*[20]byte)(e)), e)
		}
	}
	unmapChunk(old)
}

// drain appends every entry to batch and empties the table. The table is
// kept when it is the size the next flush interval needs, if as busy as
// this one; otherwise its memory goes back and the next add maps that size.
func (t *deltaTable) drain(batch []StatDelta) []StatDelta {
	if t.mem == nil {
		return batch
	}
	for i := range t.mask + 1 {
		if e := t.entry(i); binary.LittleEndian.Uint32(e[20:])&deltaUsed != 0 {
			batch = append(batch, getDelta(e))
		}
	}
	t.want = pow2(max(deltaMinSlots, t.n*4/3+1))
	if t.mask+1 == t.want {
		clear(t.mem)
		t.n = 0
		return batch
	}
	t.release()
	return batch
}

// pow2 rounds n up to a power of two.
func pow2(n int) int { return 1 << bits.Len(uint(n-1)) }

// release unmaps the table's memory.
func (t *deltaTable) release() {
	if t.mem != nil {
		unmapChunk(t.mem)
	}
	t.mem, t.mask, t.n = nil, 0, 0
}
