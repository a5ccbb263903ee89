package ingest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"fmt"
	"runtime"
	"testing"
)

func checkSums(t testing.TB, got, want Sums) {
	t.Helper()
	if got.Length != want.Length || got.PieceLength != want.PieceLength {
		t.Fatalf("length %d, piece length %d; want %d, %d", got.Length, got.PieceLength, want.Length, want.PieceLength)
	}
	if got.MD510M != want.MD510M {
		t.Errorf("md5 %x, want %x", got.MD510M, want.MD510M)
	}
	if !bytes.Equal(got.Pieces, want.Pieces) {
		t.Errorf("%d bytes of pieces differ from the reference's %d", len(got.Pieces), len(want.Pieces))
	}
}

func TestHasher(t *testing.T) {
	const small, large = 16 << 10, 256 << 10
	tests := []struct {
		pieceLength int64
		length      int
		maxChunk    int
	}{
		{small, 0, 1},
		{small, 1, 1},
		{small, small - 1, 1000},
		{small, small, 3 * small},
		{small, small + 1, 7},
		{small, 5*small + 3, small / 3},
		{large, DedupePrefix - 1, 1 << 20},
		{large, DedupePrefix, large + 1},
		{large, DedupePrefix + 12345, 3 * large},
		{small, DedupePrefix + 1, 100 << 10},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("pl%d/len%d", tt.pieceLength, tt.length), func(t *testing.T) {
			data := randBytes(uint64(i), tt.length)
			h := NewHasher(tt.pieceLength)
			defer h.Close()
			writeRandomChunks(h, data, uint64(i), tt.maxChunk)
			if limit := 2 * runtime.GOMAXPROCS(0); h.allocated > limit {
				t.Errorf("%d piece buffers allocated, want at most %d", h.allocated, limit)
			}
			checkSums(t, h.Sum(), refSums(data, tt.pieceLength))
		})
	}
}

func TestHasherEmpty(t *testing.T) {
	h := NewHasher(16 << 10)
	s := h.Sum()
	if s.Pieces != nil || s.Length != 0 || s.MD510M != md5.Sum(nil) {
		t.Errorf("empty stream gave %+v", s)
	}
}

func TestHasherLifecycle(t *testing.T) {
	h := NewHasher(4)
	h.Write([]byte("hello world"))
	first := h.Sum()
	if again := h.Sum(); !bytes.Equal(first.Pieces, again.Pieces) {
		t.Error("second Sum differs from the first")
	}
	if _, err := h.Write([]byte("x")); err == nil {
		t.Error("Write after Sum succeeded")
	}
	h.Close()
	h.Close()

	abandoned := NewHasher(4)
	abandoned.Write([]byte("partial"))
	abandoned.Close()
	if _, err := abandoned.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestHasherWriteDoesNotRetain(t *testing.T) {
	data := randBytes(7, 100_000)
	h := NewHasher(1000)
	buf := make([]byte, 333)
	for off := 0; off < len(data); off += len(buf) {
		n := copy(buf, data[off:])
		h.Write(buf[:n])
		clear(buf) // a retained p would now hash zeros
	}
	checkSums(t, h.Sum(), refSums(data, 1000))
}

func TestHasherWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	chunk := randBytes(1, 1<<20)
	h := NewHasher(64 << 10)
	defer h.Close()
	if allocs := testing.AllocsPerRun(50, func() { h.Write(chunk) }); allocs != 0 {
		t.Errorf("%v allocations per 1 MiB Write, want 0", allocs)
	}
}

func TestPieceLength(t *testing.T) {
	tests := []struct{ total, want int64 }{
		{-1, 16 << 10},
		{0, 16 << 10},
		{1, 16 << 10},
		{32<<20 - 1, 16 << 10},
		{32 << 20, 32 << 10},
		{1 << 30, 1 << 20},
		{4 << 30, 4 << 20},
	}
	for _, tt := range tests {
		if got := PieceLength(tt.total); got != tt.want {
			t.Errorf("PieceLength(%d) = %d, want %d", tt.total, got, tt.want)
		}
	}
}

func FuzzHasher(f *testing.F) {
	f.Add([]byte(""), uint8(1), uint64(0))
	f.Add([]byte("a"), uint8(1), uint64(1))
	f.Add([]byte("hello, world"), uint8(5), uint64(2))
	f.Add(bytes.Repeat([]byte{0xff}, 1000), uint8(64), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, pieceLength uint8, seed uint64) {
		pl := int64(pieceLength)%128 + 1
		oneShot := NewHasher(pl)
		oneShot.Write(data)
		want := oneShot.Sum()
		chunked := NewHasher(pl)
		writeRandomChunks(chunked, data, seed, 2*int(pl)+1)
		checkSums(t, chunked.Sum(), want)
		checkSums(t, want, refSums(data, pl))
	})
}

const (
	benchStream = 256 << 20
	benchWrite  = 1 << 20
	benchPiece  = 4 << 20
)

func BenchmarkHasher(b *testing.B) {
	chunk := randBytes(1, benchWrite)
	b.ReportAllocs()
	b.SetBytes(benchStream)
	for b.Loop() {
		h := NewHasher(benchPiece)
		for range benchStream / benchWrite {
			h.Write(chunk)
		}
		h.Sum()
	}
}

// BenchmarkHasherReference is the single-threaded baseline: the same MD5
// prefix and one SHA-1 per piece, in the caller's goroutine.
func BenchmarkHasherReference(b *testing.B) {
	chunk := randBytes(1, benchWrite)
	b.ReportAllocs()
	b.SetBytes(benchStream)
	for b.Loop() {
		m, s := md5.New(), sha1.New()
		pieces := make([]byte, 0, benchStream/benchPiece*sha1.Size)
		for i := range benchStream / benchWrite {
			if i*benchWrite < DedupePrefix {
				m.Write(chunk)
			}
			s.Write(chunk)
			if (i+1)*benchWrite%benchPiece == 0 {
				pieces = s.Sum(pieces)
				s.Reset()
			}
		}
		m.Sum(nil)
	}
}
