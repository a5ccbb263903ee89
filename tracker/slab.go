package tracker

import (
	"slices"
	"sync"
	"unsafe"
)

// slab hands out the memory store's swarm lists (peers and baselines:
// arrays without pointers) from chunks mapped outside the Go heap (see
// slab_unix.go). The garbage collector neither scans nor counts them, so
// they cost their size in RSS and no more, where the Go heap keeps about as
// much again in headroom (GOGC=100).
//
// Arrays come in size classes, each class carved from chunks of
// slabChunkSize bytes aligned to that size, so a freed array finds its
// chunk from its address. A chunk whose arrays are all free is kept for
// reuse by any class (up to slabEmptyMax of them) or goes back to the
// system, so swarms growing all together from one class to the next leave
// no trail of empty chunks. An array above the largest class is made on the Go heap as
// usual (large swarms are few).
type slab struct {
	mu      sync.Mutex
	classes [slabNumClasses]slabClass
	chunks  map[uintptr]*slabChunk // by address, empty ones too
	empty   []*slabChunk           // chunks of no class, for the next class that needs one
}

// slabEmptyMax is how many empty chunks a slab keeps mapped for reuse (4
// MiB): swarms growing together from one class to the next empty the
// chunks of one class while the next needs new ones, and mapping and
// unmapping them each time cost a third of a fill's time.
const slabEmptyMax = 64

type slabClass struct {
	partial []*slabChunk // the chunks with a free slot
}

// slabChunk is one chunk of a class: slots of the class's size, handed out
// in order (next) and then again from the free list.
type slabChunk struct {
	mem     []byte
	class   int
	live    int
	next    int      // slots handed out at least once
	free    []uint16 // slots freed since
	partial int      // index in its class's partial list; -1: full
}

// slabClasses are the sizes handed out, in bytes: multiples of 8 (so any
// array of them is aligned), each about 1/8 above the one before, so an
// array wastes about 6% on average.
var slabClasses = func() []int {
	var cs []int
	for c := 16; c <= 4096; c = max(c+8, (c+c/8+7)&^7) {
		cs = append(cs, c)
	}
	return cs
}()

// slabNumClasses is len(slabClasses); TestSlabClasses checks it.
const slabNumClasses = 39

// slabChunkSize is the size of a chunk (and its alignment).
const slabChunkSize = 64 << 10

// slabClassOf returns the smallest class of at least size bytes, or -1.
func slabClassOf(size int) int {
	c, _ := slices.BinarySearch(slabClasses, size)
	if c == len(slabClasses) {
		return -1
	}
	return c
}

func (s *slab) alloc(c int) unsafe.Pointer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := &s.classes[c]
	if len(cl.partial) == 0 {
		s.addPartial(s.newChunk(c))
	}
	ch := cl.partial[len(cl.partial)-1]
	size := slabClasses[c]
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
	return unsafe.Pointer(&ch.mem[slot*size])
}

func (s *slab) free(c int, p unsafe.Pointer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := uintptr(p) &^ (slabChunkSize - 1)
	ch := s.chunks[base]
	if ch == nil || ch.class != c {
		panic("tracker: slab: freeing an array it did not hand out")
	}
	ch.free = append(ch.free, uint16((uintptr(p)-base)/uintptr(slabClasses[c])))
	ch.live--
	if ch.partial < 0 {
		s.addPartial(ch)
	}
	if ch.live == 0 && len(s.classes[c].partial) > 1 {
		s.removePartial(ch)
		if len(s.empty) < slabEmptyMax {
			ch.next, ch.free, ch.class = 0, ch.free[:0], -1
			s.empty = append(s.empty, ch)
			return
		}
		delete(s.chunks, base)
		unmapChunk(ch.mem)
	}
}

// newChunk returns an empty chunk for class c: a kept one, or a new one.
func (s *slab) newChunk(c int) *slabChunk {
	if n := len(s.empty); n > 0 {
		ch := s.empty[n-1]
		s.empty[n-1] = nil
		s.empty = s.empty[:n-1]
		ch.class = c
		return ch
	}
	ch := &slabChunk{mem: mapChunk(slabChunkSize), class: c}
	if s.chunks == nil {
		s.chunks = make(map[uintptr]*slabChunk)
	}
	s.chunks[uintptrOf(ch.mem)] = ch
	return ch
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

// slabGrow returns l with room for at least one more element: l itself
// when it has room, otherwise a copy in the smallest class that holds one
// more, from s when it is small enough, or a quarter larger on the heap.
// Most swarms are small and stay the size they grew to: growing by a class
// (an eighth) leaves little room unused, where append's doubling left a
// third. The old array goes back to s. A nil s uses the Go heap.
func slabGrow[T any](s *slab, l []T) []T {
	if len(l) < cap(l) {
		return l
	}
	want := len(l) + 1
	if s == nil || slabClassOf(want*int(unsafe.Sizeof(*new(T)))) < 0 {
		want = len(l) + len(l)/4 + 2
	}
	var grown []T
	elem := int(unsafe.Sizeof(*new(T)))
	if c := slabClassOf(want * elem); s != nil && c >= 0 {
		grown = unsafe.Slice((*T)(s.alloc(c)), slabClasses[c]/elem)
	} else {
		grown = make([]T, want)
	}
	grown = grown[:len(l)]
	copy(grown, l)
	slabFree(s, l)
	return grown
}

// slabFree gives l's array back to s, if it came from there: an array of
// capacity n came from s when n elements fit a class (see slabGrow, which
// makes every small array from the smallest class that holds it, and
// rounds its capacity down to whole elements of that class, so the class
// is found again from the capacity).
func slabFree[T any](s *slab, l []T) {
	if s == nil || cap(l) == 0 {
		return
	}
	elem := int(unsafe.Sizeof(*new(T)))
	if c := slabClassOf(cap(l) * elem); c >= 0 {
		clear(l[:cap(l)])
		s.free(c, unsafe.Pointer(unsafe.SliceData(l)))
	}
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// release unmaps every chunk. Nothing may use the slab's arrays any more.
func (s *slab) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.chunks {
		unmapChunk(ch.mem)
	}
	s.chunks, s.empty = nil, nil
	s.classes = [slabNumClasses]slabClass{}
}

// mapped is how many bytes of chunks the slab holds.
func (s *slab) mapped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chunks) * slabChunkSize
}
