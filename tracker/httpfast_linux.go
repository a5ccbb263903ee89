package tracker

import (
	"net"
	"syscall"
)

// deferAccept asks Linux to complete a connection's accept only once its
// first bytes have arrived (TCP_DEFER_ACCEPT, tcp(7)), with a 1 s wait for
// them before it is accepted anyway: the first read of a request then
// finds it there instead of parking until it comes.
func deferAccept(ln net.Listener) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
	})
}
