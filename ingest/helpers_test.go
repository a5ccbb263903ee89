package ingest

import (
	"crypto/md5"
	"crypto/sha1"
	"math/rand/v2"
)

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	r.Read(b)
	return b
}

// refSums hashes data the straightforward way.
func refSums(data []byte, pieceLength int64) Sums {
	s := Sums{Length: int64(len(data)), PieceLength: pieceLength}
	s.MD510M = md5.Sum(data[:min(len(data), DedupePrefix)])
	for off := 0; off < len(data); off += int(pieceLength) {
		sum := sha1.Sum(data[off:min(len(data), off+int(pieceLength))])
		s.Pieces = append(s.Pieces, sum[:]...)
	}
	return s
}

// writeRandomChunks writes data to h in chunks of random sizes up to maxChunk.
func writeRandomChunks(h *Hasher, data []byte, seed uint64, maxChunk int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for len(data) > 0 {
		n := min(len(data), 1+r.IntN(maxChunk))
		h.Write(data[:n])
		data = data[n:]
	}
}
