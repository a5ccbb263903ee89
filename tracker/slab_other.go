//go:build !unix

package tracker

// mapChunk makes size bytes aligned to size on the Go heap where there is
// no mmap; the chunk stays alive through the arrays carved from it.
func mapChunk(size int) []byte {
	b := make([]byte, 2*size)
	head := int((uintptr(size) - uintptrOf(b)%uintptr(size)) % uintptr(size))
	return b[head : head+size : head+size]
}

// unmapChunk leaves b to the garbage collector.
func unmapChunk([]byte) {}
