package tracker

import (
	"slices"
	"sync"
	"sync/atomic"
)

// slab hands out the memory store's swarm blocks (byte arrays without
// pointers, see swarm_block.go) from chunks mapped outside the Go heap (see
// slab_unix.go). The garbage collector neither scans nor counts them, so
// they cost their size in RSS and no more, where the Go heap keeps about as
// much again in headroom (GOGC=100).
//
// A block is named by a 4-byte handle, not a pointer: the index of its
// chunk in the slab's directory and its offset in the chunk in units of 8
// bytes; 0 is no block. A per-swarm record then costs 4 bytes per block.
//
// Blocks come in size classes, each class carved from chunks of
// slabChunkSize bytes. A chunk whose blocks are all free is kept for reuse
// by any class (up to slabEmptyMax of them) or goes back to the system, so
// swarms growing all together from one class to the next leave no trail of
// empty chunks. A block above the largest class gets a chunk of its own
// (large swarms are few).
type slab struct {
	mu      sync.Mutex
	classes [slabNumClasses]slabClass
	// dir holds the chunks by index (0 unused) in pages made as needed
	// and never moved, so a new chunk leaves no garbage behind (a grown
	// copy of one flat directory per chunk did: megabytes of heap, in
	// RSS, at a million peers). Readers load it without the lock: a
	// handle they hold was made, under a shard's lock, after its chunk
	// was published.
	dir     [slabDirPages]atomic.Pointer[slabDirPage]
	dirLen  uint32           // indexes handed out so far, 0 included
	freeIdx []uint32         // unused directory indexes
	empty   []*slabChunk     // chunks of no class, for the next class that needs one
	mappedN int              // bytes mapped in chunks and tables
	tables  map[*byte][]byte // the swarm tables mapped, by their first byte
}

// slabEmptyMax is how many empty chunks a slab keeps mapped for reuse (4
// MiB): swarms growing together from one class to the next empty the
// chunks of one class while the next needs new ones, and mapping and
// unmapping them each time cost a third of a fill's time.
const slabEmptyMax = 64

// slabDirPage is one page of a slab's directory.
type slabDirPage [slabDirPageLen]atomic.Pointer[slabChunk]

const (
	slabDirPageLen = 1024
	// slabDirPages pages hold every index a handle can name.
	slabDirPages = 1 << (32 - slabOffBits) / slabDirPageLen
)

type slabClass struct {
	partial []*slabChunk // the chunks with a free slot
}

// slabChunk is one chunk: slots of its class's size handed out in order
// (next) and then again from the free list, or one large block (class
// slabLarge).
type slabChunk struct {
	mem     []byte
	idx     uint32 // in the directory
	class   int
	size    int // slabClasses[class], or len(mem) for class slabLarge
	live    int
	next    int      // slots handed out at least once
	free    []uint16 // slots freed since
	partial int      // index in its class's partial list; -1: none
}

// slabClasses are the sizes handed out, in bytes: multiples of 8, each
// about 1/8 above the one before, so a block wastes about 6% on average.
var slabClasses = func() []int {
	var cs []int
	for c := 16; c <= 4096; c = max(c+8, (c+c/8+7)&^7) {
		cs = append(cs, c)
	}
	return cs
}()

const (
	// slabNumClasses is len(slabClasses); TestSlabClasses checks it.
	slabNumClasses = 39
	// slabChunkSize is the size of a chunk of a class.
	slabChunkSize = 64 << 10
	// slabOffBits are the bits of a handle that give the offset in a
	// chunk, in units of 8 bytes; the rest is the directory index.
	slabOffBits = 13
	slabLarge   = -1 // the class of a chunk holding one large block
	pageSize    = 4096
)

// slabClassOf returns the smallest class of at least size bytes, or -1.
func slabClassOf(size int) int {
	c, _ := slices.BinarySearch(slabClasses, size)
	if c == len(slabClasses) {
		return -1
	}
	return c
}

// slabSizeFor is the size of the block slab hands out for size bytes: its
// class's size, or size rounded up to whole pages for a large block.
func slabSizeFor(size int) int {
	if c := slabClassOf(size); c >= 0 {
		return slabClasses[c]
	}
	return (size + pageSize - 1) &^ (pageSize - 1)
}

// alloc returns the handle of a zeroed block of slabSizeFor(size) bytes.
func (s *slab) alloc(size int) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := slabClassOf(size)
	if c < 0 {
		ch := s.newChunk(slabLarge, slabSizeFor(size))
		ch.live = 1
		return ch.idx << slabOffBits
	}
	cl := &s.classes[c]
	if len(cl.partial) == 0 {
		s.addPartial(s.newChunk(c, slabChunkSize))
	}
	ch := cl.partial[len(cl.partial)-1]
	size = slabClasses[c]
	var slot int
	if n := len(ch.free); n > 0 {
		slot = int(ch.free[n-1])
		ch.free = ch.free[:n-1]
	} else {
		slot = ch.next
		ch.next++
	}
	ch.live++
	if len(ch.free) == 0 && (ch.next+1)*size > slabChunkSize {
		s.removePartial(ch)
	}
	return ch.idx<<slabOffBits | uint32(slot*size/8)
}

// bytes returns the block of handle h (not 0).
func (s *slab) bytes(h uint32) []byte {
	ch := s.chunk(h >> slabOffBits)
	off := int(h&(1<<slabOffBits-1)) * 8
	return ch.mem[off : off+ch.size : off+ch.size]
}

// chunk returns the chunk of directory index idx.
func (s *slab) chunk(idx uint32) *slabChunk {
	return s.dir[idx/slabDirPageLen].Load()[idx%slabDirPageLen].Load()
}

// publish sets the chunk of directory index idx (nil: none), making its
// page when it is the first.
func (s *slab) publish(idx uint32, ch *slabChunk) {
	page := s.dir[idx/slabDirPageLen].Load()
	if page == nil {
		page = new(slabDirPage)
		s.dir[idx/slabDirPageLen].Store(page)
	}
	page[idx%slabDirPageLen].Store(ch)
}

// free gives the block of handle h back; it must not be used any more.
func (s *slab) free(h uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chunk(h >> slabOffBits)
	if ch.class == slabLarge {
		s.dropChunk(ch)
		return
	}
	size := slabClasses[ch.class]
	off := int(h&(1<<slabOffBits-1)) * 8
	clear(ch.mem[off : off+size])
	ch.free = append(ch.free, uint16(off/size))
	ch.live--
	if ch.partial < 0 {
		s.addPartial(ch)
	}
	if ch.live == 0 && len(s.classes[ch.class].partial) > 1 {
		s.removePartial(ch)
		if len(s.empty) < slabEmptyMax {
			ch.next, ch.free, ch.class, ch.size = 0, ch.free[:0], slabLarge, len(ch.mem)
			s.empty = append(s.empty, ch)
			return
		}
		s.dropChunk(ch)
	}
}

// newChunk returns an empty chunk of class c and size bytes: a kept one,
// or a new one in the directory.
func (s *slab) newChunk(c, size int) *slabChunk {
	if n := len(s.empty); n > 0 && c != slabLarge {
		ch := s.empty[n-1]
		s.empty[n-1] = nil
		s.empty = s.empty[:n-1]
		ch.class, ch.size = c, slabClasses[c]
		return ch
	}
	ch := &slabChunk{mem: mapChunk(size), class: c, size: size, partial: -1}
	if c != slabLarge {
		ch.size = slabClasses[c]
	}
	s.mappedN += size
	if n := len(s.freeIdx); n > 0 {
		ch.idx = s.freeIdx[n-1]
		s.freeIdx = s.freeIdx[:n-1]
	} else {
		s.dirLen = max(s.dirLen, 1) // index 0: no block
		if s.dirLen >= 1<<(32-slabOffBits) {
			panic("tracker: slab: too many chunks for swarms")
		}
		ch.idx = s.dirLen
		s.dirLen++
	}
	s.publish(ch.idx, ch)
	return ch
}

// dropChunk unmaps ch and frees its directory index.
func (s *slab) dropChunk(ch *slabChunk) {
	s.publish(ch.idx, nil)
	s.freeIdx = append(s.freeIdx, ch.idx)
	s.mappedN -= len(ch.mem)
	unmapChunk(ch.mem)
	ch.mem = nil
}

func (s *slab) addPartial(ch *slabChunk) {
	cl := &s.classes[ch.class]
	ch.partial = len(cl.partial)
	cl.partial = append(cl.partial, ch)
}

func (s *slab) removePartial(ch *slabChunk) {
	cl := &s.classes[ch.class]
	last := cl.partial[len(cl.partial)-1]
	cl.partial[ch.partial], last.partial = last, ch.partial
	cl.partial[len(cl.partial)-1] = nil
	cl.partial = cl.partial[:len(cl.partial)-1]
	ch.partial = -1
}

// mapTable maps size bytes (whole pages) for a swarm table, counted in
// mapped.
func (s *slab) mapTable(size int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mappedN += size
	b := mapChunk(size)
	if s.tables == nil {
		s.tables = make(map[*byte][]byte)
	}
	s.tables[&b[0]] = b
	return b
}

// unmapTable gives back a table mapTable made.
func (s *slab) unmapTable(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mappedN -= len(b)
	delete(s.tables, &b[0])
	unmapChunk(b)
}

// release unmaps every chunk and table. Nothing may use them any more.
func (s *slab) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for idx := uint32(1); idx < s.dirLen; idx++ {
		if ch := s.chunk(idx); ch != nil {
			s.mappedN -= len(ch.mem)
			unmapChunk(ch.mem)
		}
	}
	for _, b := range s.tables {
		s.mappedN -= len(b)
		unmapChunk(b)
	}
	for i := range s.dir {
		s.dir[i].Store(nil)
	}
	s.dirLen = 0
	s.empty, s.freeIdx, s.tables = nil, nil, nil
	s.classes = [slabNumClasses]slabClass{}
}

// mapped is how many bytes of chunks and tables the slab holds.
func (s *slab) mapped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mappedN
}
