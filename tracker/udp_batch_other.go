//go:build !linux

package tracker

import "context"

// udpBatch is Linux's recvmmsg/sendmmsg path; elsewhere ServeUDP reads and
// writes one datagram at a time.
type udpBatch struct{}

func newUDPBatch(udpConn) *udpBatch { return nil }

func (w *udpWorker) runBatch(context.Context, *udpBatch) error {
	panic("tracker: no batched UDP on this platform")
}
