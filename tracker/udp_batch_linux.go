//go:build linux

package tracker

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpBatchSize is how many datagrams one recvmmsg(2) takes and one
// sendmmsg(2) answers. Under load this divides the syscalls per announce,
// the bulk of a UDP announce's cost, by up to this much.
const udpBatchSize = 32

// udpBatchBuffer holds any request ServeUDP answers (a BEP 15 announce and
// its BEP 41 options are bounded well below it); a longer datagram arrives
// truncated and is dropped.
const udpBatchBuffer = 4096

// udpBatch reads and writes datagrams in batches on a *net.UDPConn, through
// the Go netpoller, without allocating: the message headers, addresses and
// buffers are made once. A reply goes to the request's own source address,
// reused as it was received.
type udpBatch struct {
	raw  syscall.RawConn
	in   [udpBatchSize]unix.Mmsghdr
	out  [udpBatchSize]unix.Mmsghdr
	inV  [udpBatchSize]unix.Iovec
	outV [udpBatchSize]unix.Iovec
	addr [udpBatchSize]unix.RawSockaddrInet6 // room for either family
	bufs [udpBatchSize][]byte
	outs [udpBatchSize][]byte

	n, nOut, sent int
	errno         syscall.Errno
	recv, send    func(fd uintptr) bool // made once: no closure per call
}

// newUDPBatch returns a batch reader for conn, or nil when conn is not a
// *net.UDPConn.
func newUDPBatch(conn udpConn) *udpBatch {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	b := &udpBatch{raw: raw}
	for i := range b.in {
		b.bufs[i] = make([]byte, udpBatchBuffer)
		b.outs[i] = make([]byte, 0, udpMaxReply+64)
		b.inV[i].Base = &b.bufs[i][0]
		b.inV[i].SetLen(udpBatchBuffer)
		b.in[i].Hdr.Iov = &b.inV[i]
		b.in[i].Hdr.SetIovlen(1)
		b.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.addr[i]))
		b.out[i].Hdr.SetIovlen(1)
	}
	b.recv, b.send = b.recvmmsg, b.sendmmsg
	return b
}

// read waits for at least one datagram and takes as many as are waiting,
// up to udpBatchSize; it returns how many.
func (b *udpBatch) read() (int, error) {
	for i := range b.in {
		b.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.in[i].Hdr.Flags = 0
	}
	b.n, b.errno = 0, 0
	if err := b.raw.Read(b.recv); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	return b.n, nil
}

func (b *udpBatch) recvmmsg(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])),
		udpBatchSize, unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		b.n = int(n)
	case unix.EAGAIN:
		return false // wait until readable
	case unix.EINTR:
		return b.recvmmsg(fd)
	default:
		b.errno = errno
	}
	return true
}

// packet returns datagram i and its source; ok is false for a truncated
// datagram or an address of an unknown family.
func (b *udpBatch) packet(i int) (p []byte, from netip.AddrPort, ok bool) {
	m := &b.in[i]
	if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
		return nil, from, false
	}
	sa := &b.addr[i]
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		from = netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		from = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	default:
		return nil, from, false
	}
	return b.bufs[i][:m.Len], from, true
}

// replyBuffer returns the empty buffer for the reply to datagram i.
func (b *udpBatch) replyBuffer(i int) []byte { return b.outs[i][:0] }

// queue adds reply (built in replyBuffer(i)) to the batch to send, addressed
// to datagram i's source.
func (b *udpBatch) queue(i int, reply []byte) {
	if len(reply) == 0 {
		return
	}
	b.outs[i] = reply[:0]
	m := &b.out[b.nOut]
	v := &b.outV[b.nOut]
	v.Base = &reply[0]
	v.SetLen(len(reply))
	m.Hdr.Iov = v
	m.Hdr.Name = b.in[i].Hdr.Name
	m.Hdr.Namelen = b.in[i].Hdr.Namelen
	b.nOut++
}

// flush sends the queued replies. A reply the kernel refuses (an
// unreachable address, say) is skipped; the first such error is returned
// after the others are sent.
func (b *udpBatch) flush() error {
	var first error
	b.sent = 0
	for b.sent < b.nOut {
		b.errno = 0
		if err := b.raw.Write(b.send); err != nil {
			b.nOut = 0
			return err
		}
		if b.errno != 0 {
			if first == nil {
				first = b.errno
			}
			b.sent++ // skip the message that failed
		}
	}
	b.nOut = 0
	return first
}

func (b *udpBatch) sendmmsg(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])),
		uintptr(b.nOut-b.sent), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		b.sent += int(n)
	case unix.EAGAIN:
		return false // wait until writable
	case unix.EINTR:
	default:
		b.errno = errno
	}
	return true
}

// runBatch is run with recvmmsg/sendmmsg: the same answers, fewer syscalls.
func (w *udpWorker) runBatch(ctx context.Context, b *udpBatch) error {
	for {
		n, err := b.read()
		if err != nil {
			if stop, err := w.readFailed(ctx, err); stop {
				return err
			}
			continue
		}
		for i := range n {
			p, from, ok := b.packet(i)
			if !ok || !from.IsValid() {
				continue
			}
			w.out = b.replyBuffer(i)
			b.queue(i, w.reply(ctx, p, from))
		}
		if err := b.flush(); err != nil && !errors.Is(err, net.ErrClosed) {
			w.writeFailed(ctx, err)
		}
	}
}
