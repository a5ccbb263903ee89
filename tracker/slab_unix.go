//go:build unix

package tracker

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapChunk maps size bytes of zeroed memory outside the Go heap, aligned
// to size (a power of two). It panics when the system has no memory left,
// as the Go heap does.
func mapChunk(size int) []byte {
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(2*size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("tracker: map %d bytes for swarms: %v", size, err))
	}
	b := unsafe.Slice((*byte)(p), 2*size)
	head := int((uintptr(size) - uintptrOf(b)%uintptr(size)) % uintptr(size))
	if head > 0 {
		unmapChunk(b[:head])
	}
	if tail := b[head+size:]; len(tail) > 0 {
		unmapChunk(tail)
	}
	return b[head : head+size : head+size]
}

// unmapChunk gives b back to the system.
func unmapChunk(b []byte) {
	if err := unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))); err != nil {
		panic(fmt.Sprintf("tracker: unmap swarm memory: %v", err))
	}
}
