//go:build !unix

package tracker

// mapChunk makes size bytes on the Go heap where there is no mmap; the
// slab keeps it alive until unmapChunk.
func mapChunk(size int) []byte { return make([]byte, size) }

// unmapChunk leaves b to the garbage collector.
func unmapChunk([]byte) {}
