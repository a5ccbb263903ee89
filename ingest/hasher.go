package ingest

import (
	"crypto/md5"
	"crypto/sha1"
	"errors"
	"hash"
	"runtime"
	"slices"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
)

// DedupePrefix is the number of leading bytes of a torrent's content covered
// by the MD5 duplicate key (Sums.MD510M).
const DedupePrefix = 10 << 20

// minPieceLength is the smallest piece length PieceLength returns.
const minPieceLength = 16 << 10

// PieceLength is the deterministic piece length for a torrent of total bytes.
//
// The rule is metainfo.ChoosePieceLength: the smallest power of two, at least
// 16 KiB, that gives fewer than 2048 full pieces. Torrents up to 32 MiB get
// 16 KiB pieces; above that there are between 1024 and 2047 pieces. A negative
// total (unknown size) counts as zero. Pieces are capped at MaxPieceLength
// (torrents above 32 GiB get more pieces instead) to bound the memory of a
// Hasher, which keeps a few pieces in flight.
func PieceLength(total int64) int64 {
	return min(max(metainfo.ChoosePieceLength(max(total, 0)), minPieceLength), MaxPieceLength)
}

// MaxPieceLength is the largest piece length Seedbed uses.
const MaxPieceLength = 16 << 20

// Sums is what a Hasher computed over one byte stream.
type Sums struct {
	Length      int64
	PieceLength int64
	MD510M      [16]byte // MD5 of the first DedupePrefix bytes, or of all of them when shorter
	Pieces      []byte   // SHA-1 of every piece, 20 bytes each, in order; none for an empty stream
}

// numPieces is the number of pieces of a stream of length bytes.
func numPieces(length, pieceLength int64) int64 {
	return (length + pieceLength - 1) / pieceLength
}

var errHasherDone = errors.New("ingest: write to a finished hasher")

// Hasher computes, in one pass over a torrent's byte stream, the MD5 duplicate
// key and the SHA-1 of every piece (BEP 3).
//
// Full pieces are hashed by runtime.GOMAXPROCS worker goroutines while the
// caller keeps writing. At most 2*workers piece buffers exist per Hasher
// (including the one being filled); Write blocks while all of them are in
// flight. Buffers are recycled through a package-wide pool, so a long stream
// does not allocate per piece.
//
// A Hasher is used by one goroutine. Every Hasher must end with Sum or Close,
// or its workers leak.
type Hasher struct {
	pieceLength int64
	length      int64
	md5         hash.Hash

	cur  *[]byte // piece being filled; nil between pieces
	fill int     // bytes in cur
	next int     // index of the next piece to dispatch

	jobs      chan pieceJob
	free      chan *[]byte // buffers handed back by workers
	allocated int
	pool      *sync.Pool
	wg        sync.WaitGroup

	mu     sync.Mutex
	pieces []byte // guarded by mu while workers run

	stopOnce sync.Once
	summed   bool
	closed   bool
	sums     Sums
}

type pieceJob struct {
	index int
	buf   *[]byte
	n     int
}

// NewHasher starts a Hasher for pieces of pieceLength bytes. It panics if
// pieceLength is not positive.
func NewHasher(pieceLength int64) *Hasher {
	if pieceLength <= 0 {
		panic("ingest: piece length must be positive")
	}
	workers := runtime.GOMAXPROCS(0)
	h := &Hasher{
		pieceLength: pieceLength,
		md5:         md5.New(),
		jobs:        make(chan pieceJob, 2*workers),
		free:        make(chan *[]byte, 2*workers),
		pool:        piecePool(pieceLength),
	}
	h.wg.Add(workers)
	for range workers {
		go h.work()
	}
	return h
}

// Write hashes p. It does not retain p and never fails before Sum or Close.
func (h *Hasher) Write(p []byte) (int, error) {
	if h.summed || h.closed {
		return 0, errHasherDone
	}
	n := len(p)
	h.hashPrefix(p)
	h.length += int64(n)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur, h.fill = h.getBuf(), 0
		}
		c := copy((*h.cur)[h.fill:], p)
		h.fill += c
		p = p[c:]
		if h.fill == len(*h.cur) {
			h.dispatch()
		}
	}
	return n, nil
}

// Sum flushes the last partial piece, waits for the workers and returns the
// sums. Later calls return the same Sums. Sum after Close panics.
func (h *Hasher) Sum() Sums {
	if h.summed {
		return h.sums
	}
	if h.closed {
		panic("ingest: Hasher.Sum after Close")
	}
	if h.cur != nil && h.fill > 0 {
		h.dispatch()
	}
	h.stop()
	h.summed = true
	h.sums = Sums{Length: h.length, PieceLength: h.pieceLength, Pieces: h.pieces}
	h.md5.Sum(h.sums.MD510M[:0])
	return h.sums
}

// Close stops the workers and releases the buffers of a Hasher abandoned
// without Sum. It is safe to call more than once and after Sum.
func (h *Hasher) Close() {
	if !h.summed {
		h.closed = true
	}
	h.stop()
}

func (h *Hasher) hashPrefix(p []byte) {
	if h.length >= DedupePrefix {
		return
	}
	h.md5.Write(p[:min(int64(len(p)), DedupePrefix-h.length)])
}

func (h *Hasher) dispatch() {
	h.jobs <- pieceJob{index: h.next, buf: h.cur, n: h.fill}
	h.next++
	h.cur, h.fill = nil, 0
}

// getBuf returns a free piece buffer, allocating one while fewer than
// cap(h.free) exist and blocking otherwise.
func (h *Hasher) getBuf() *[]byte {
	select {
	case b := <-h.free:
		return b
	default:
	}
	if h.allocated < cap(h.free) {
		h.allocated++
		return h.pool.Get().(*[]byte)
	}
	return <-h.free
}

func (h *Hasher) work() {
	defer h.wg.Done()
	for j := range h.jobs {
		sum := sha1.Sum((*j.buf)[:j.n])
		h.store(j.index, &sum)
		h.free <- j.buf
	}
}

func (h *Hasher) store(index int, sum *[sha1.Size]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := (index + 1) * sha1.Size
	if end > len(h.pieces) {
		h.pieces = slices.Grow(h.pieces, end-len(h.pieces))[:end]
	}
	copy(h.pieces[index*sha1.Size:], sum[:])
}

// stop ends the workers and hands every buffer back to the pool.
func (h *Hasher) stop() {
	h.stopOnce.Do(func() {
		close(h.jobs)
		h.wg.Wait()
		if h.cur != nil {
			h.pool.Put(h.cur)
			h.cur = nil
		}
		for range len(h.free) {
			h.pool.Put(<-h.free)
		}
	})
}

// piecePools holds one *sync.Pool of *[]byte per piece length.
var piecePools sync.Map

func piecePool(pieceLength int64) *sync.Pool {
	if p, ok := piecePools.Load(pieceLength); ok {
		return p.(*sync.Pool)
	}
	p, _ := piecePools.LoadOrStore(pieceLength, &sync.Pool{New: func() any {
		b := make([]byte, pieceLength)
		return &b
	}})
	return p.(*sync.Pool)
}
