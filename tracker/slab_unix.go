//go:build unix

package tracker

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapChunk maps size bytes of zeroed memory outside the Go heap. It panics
// when the system has no memory left, as the Go heap does.
func mapChunk(size int) []byte {
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("tracker: map %d bytes for swarms: %v", size, err))
	}
	return unsafe.Slice((*byte)(p), size)
}

// unmapChunk gives b back to the system.
func unmapChunk(b []byte) {
	if err := unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))); err != nil {
		panic(fmt.Sprintf("tracker: unmap swarm memory: %v", err))
	}
}
